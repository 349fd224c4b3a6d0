"""Errors raised while loading or validating a Kamal configuration.

The class itself is defined with the Ruby-compatible readers (kamal_nb.ruby.errors), which raise it
before a configuration exists; this layer and everything above import it from here.
"""

from __future__ import annotations

from kamal_nb.ruby.errors import ConfigError

__all__ = ["ConfigError"]
