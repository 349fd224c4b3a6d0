"""Ruby's quoting as Kamal's command builders use it; defined once in kamal_nb.ruby.strings."""

from __future__ import annotations

from kamal_nb.ruby.strings import (
    encode64,
    env_file_value,
    escape_shell_value,
    ruby_dump,
    ruby_file_join,
    shellescape,
    single_quote_body,
)

__all__ = [
    "encode64",
    "env_file_value",
    "escape_shell_value",
    "ruby_dump",
    "ruby_file_join",
    "shellescape",
    "single_quote_body",
]
