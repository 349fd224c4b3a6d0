"""Ruby's string quoting, ported byte for byte: ``String#dump``, ``String#inspect``,
``Shellwords.escape``, ``Base64.encode64``, ``File.join``, and the two quotings Kamal builds on them.

Kamal quotes values with Ruby ``String#dump`` (then escapes backticks and unbraced ``$``), wraps
nested commands in single quotes with ``'\\''``, writes env files with a relaxed dump, and encodes
lock details with ``Base64.encode64``. Python's ``repr``, ``shlex.quote`` and ``base64.encodebytes``
all differ in small ways, and the hosts see the difference (labels, env values, lock files).
"""

from __future__ import annotations

import base64
import re

# Ruby scans values into ASCII and non-ASCII runs; only ASCII runs are dumped (each run gets its own
# surrounding quotes: "h"é"llo"), non-ASCII text is kept verbatim.
_RUNS = re.compile(r"[\x00-\x7f]+|[^\x00-\x7f]+")
# Kamal leaves `${NAME}` alone so the shell on the host still expands it.
_DOLLAR_WITHOUT_BRACES = re.compile(r"\$(?!\{[^}]*\})")

# One table for both String#dump and String#inspect: the C-style escapes Ruby writes for these
# characters (everything else differs between the two only outside printable ASCII).
_C_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\f": "\\f",
    "\v": "\\v",
    "\b": "\\b",
    "\a": "\\a",
    "\x1b": "\\e",
}


def ruby_dump(text: str) -> str:
    """Ruby ``String#dump`` of an ASCII string: double-quoted, C-style escapes, ``#{`` guarded."""
    out = ['"']
    for index, char in enumerate(text):
        if char in _C_ESCAPES:
            out.append(_C_ESCAPES[char])
        elif char == "#" and text[index + 1 : index + 2] in ("{", "$", "@"):
            out.append("\\#")
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append(f"\\x{ord(char):02X}")
    out.append('"')
    return "".join(out)


def inspect(text: str) -> str:
    """Ruby ``String#inspect`` for UTF-8 text, as it appears in Ruby's error messages: like ``dump``
    for ASCII, but printable non-ASCII text stays as it is and other control characters are ``\\uXXXX``."""
    out = ['"']
    for index, char in enumerate(text):
        if char in _C_ESCAPES:
            out.append(_C_ESCAPES[char])
        elif char == "#" and text[index + 1 : index + 2] in ("{", "$", "@"):
            out.append("\\#")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def escape_shell_value(text: str) -> str:
    """``Kamal::Utils.escape_shell_value``: the quoted form of a value in ``--env K=<value>``."""
    return "".join(_escape_ascii(run) if run.isascii() else run for run in _RUNS.findall(text))


def _escape_ascii(run: str) -> str:
    dumped = ruby_dump(run).replace("`", "\\`")
    return _DOLLAR_WITHOUT_BRACES.sub(lambda _: "\\$", dumped)


def env_file_value(text: str) -> str:
    """A value as ``Kamal::EnvFile`` writes it: dumped without the outer quotes, and with ``\\"``
    and ``\\#`` undone, because docker env files take quotes and hashes literally."""
    parts = []
    for run in _RUNS.findall(text):
        if run.isascii():
            parts.append(ruby_dump(run)[1:-1].replace('\\"', '"').replace("\\#", "#"))
        else:
            parts.append(run)
    return "".join(parts)


def single_quote_body(text: str) -> str:
    """Text made safe inside ``'...'`` the way Kamal does it: every ``'`` becomes ``'\\''``."""
    return text.replace("'", "'\\''")


def encode64(data: bytes) -> str:
    """Ruby ``Base64.encode64`` (``pack("m")``): 60 characters per line, each line ending in a newline."""
    encoded = base64.b64encode(data).decode("ascii")
    return "".join(encoded[start : start + 60] + "\n" for start in range(0, len(encoded), 60))


_SHELLWORDS_UNSAFE = re.compile(r"[^A-Za-z0-9_\-.,:+/@\n]")


def shellescape(text: str) -> str:
    """Ruby ``Shellwords.escape`` (used for the build clone paths)."""
    if text == "":
        return "''"
    return _SHELLWORDS_UNSAFE.sub(lambda found: "\\" + found.group(0), text).replace("\n", "'\n'")


def ruby_file_join(*parts: str) -> str:
    """Ruby ``File.join``: one ``/`` between parts whatever their own slashes (an absolute later part
    does not restart the path, unlike ``os.path.join``)."""
    joined = ""
    for index, part in enumerate(parts):
        if index == 0:
            joined = part
            continue
        if joined.endswith("/") and part.startswith("/"):
            joined += part.lstrip("/") if joined.rstrip("/") else part
        elif joined.endswith("/") or part.startswith("/"):
            joined += part
        else:
            joined += "/" + part
    return joined
