"""Errors on the command line framed as Kamal frames them, so scripts that read Kamal's output keep working.

Kamal's command line rescues every error and prints, on stdout, in red, `  ERROR (<Ruby class>):
<message>`, then exits 1. `report` prints the same first line, byte for byte, with the class Kamal
raises for that failure, and kamal_nb's own extra on the lines after it: where the problem is (file,
line, key) and any hints, so people still get the location.

The Ruby class comes from the exception: an exception (or one of its classes) that carries a
`kamal_class` attribute names it (ConfigError and the ERB errors do, per instance); otherwise the
table below maps kamal_nb's class names, so the modules that raise them need not import this one.
"""

from __future__ import annotations

from typing import TextIO

RED = "\x1b[31m"
RESET = "\x1b[0m"
EXIT_STATUS = 1  # Kamal exits 1 for every rescued error

# kamal_nb class name -> the Ruby class Kamal raises for the same failure.
_KAMAL_CLASSES = {
    "LockError": "Kamal::Cli::LockError",
    "HookError": "Kamal::Cli::HookError",
    "BuildError": "Kamal::Cli::Build::BuildError",
    "ProxyBootError": "Kamal::Cli::BootError",
    "HostFailures": "SSHKit::Runner::ExecuteError",
    "AdapterError": "RuntimeError",
    "MissingAccount": "Thor::RequiredArgumentMissingError",
    "SelectionError": "ArgumentError",
    "LocalCommandError": "RuntimeError",
    "OperationError": "RuntimeError",
}


def kamal_class(error: BaseException) -> str:
    """The Ruby class Kamal would name for this error."""
    for cls in type(error).__mro__:
        if cls.__name__ in _KAMAL_CLASSES:
            return _KAMAL_CLASSES[cls.__name__]
        if "kamal_class" in vars(cls) or cls is type(error):
            named = getattr(error, "kamal_class", None)
            if isinstance(named, str) and named:
                return named
    return "RuntimeError"


def kamal_message(error: BaseException) -> str:
    """Kamal's message: a validation error's own text (`message`), a located error's message without
    kamal_nb's location (`detail`) and without the " (RubyClass)" its one-line form appends."""
    message = getattr(error, "message", None)
    if not isinstance(message, str):
        message = getattr(error, "detail", None)
    if not isinstance(message, str):
        message = str(error)
    suffix = f" ({kamal_class(error)})"
    return message[: -len(suffix)] if message.endswith(suffix) else message


def location(error: BaseException) -> list[str]:
    """kamal_nb's extra lines: where (file:line, key path) and hints."""
    lines: list[str] = []
    path = getattr(error, "path", None)
    line = getattr(error, "line", None)
    where = f"{path}:{line}" if path and line else path
    key = getattr(error, "key_path", None) or getattr(error, "key", None)
    if where and key:
        lines.append(f"  in {where} (key {key})")
    elif where:
        lines.append(f"  in {where}")
    elif key:
        lines.append(f"  key {key}")
    lines.extend(f"  hint: {hint}" for hint in getattr(error, "hints", ()) or ())
    return lines


def report(error: BaseException, out: TextIO) -> int:
    """Print `error` as Kamal does (to `out`: Kamal's stdout), kamal_nb's location after it; the exit
    status Kamal would give. Secrets are masked in all of it."""
    from kamal_nb.redaction import redact

    first = f"  {RED}ERROR ({kamal_class(error)}): {kamal_message(error)}{RESET}\n"
    out.write(redact(first + "".join(f"{line}\n" for line in location(error))))
    return EXIT_STATUS
