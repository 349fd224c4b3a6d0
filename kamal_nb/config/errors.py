"""Errors raised while loading or validating a Kamal configuration."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration that Kamal would refuse, or that kamal_nb cannot read exactly as Kamal does.

    The message is the one a user sees; it names the file (and line) or the key path.
    """
