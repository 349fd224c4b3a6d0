"""Secret values that do not leak, and a process-wide mask for any text that might contain one.

Two layers, because neither alone is enough:

* `Secret` wraps a value from the moment it is read (secrets files, registry passwords...). `str()`,
  `repr()`, f-strings and `format()` all show `[REDACTED]`, the marker Kamal itself prints in
  `kamal config`; only `.reveal()` gives the value, and only the few places that must hand it on
  (env files, registry login) call it.
* Once revealed, a value can end up anywhere: a command's stderr, an exception, a DataFrame cell. Every
  `Secret` therefore registers its value here, and `redact(text)` masks every registered value found
  in arbitrary text. Views call it on everything they show.

Values shorter than `MIN_MASKED_LENGTH` (4) characters are not masked in free text: masking "1",
"no" or "yes" would garble every table and log line while protecting nothing worth the name (a
3-character secret is guessable anyway). Such values are still redacted wherever they travel as a
`Secret`. Multi-line values (PEM keys, JSON credentials) are also registered line by line, because
output is streamed and logged line by line, so the whole value would never appear in one piece.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

REDACTED = "[REDACTED]"
MIN_MASKED_LENGTH = 4


class Secret:
    """A secret value: hides itself from every printing path, compares and hashes by value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Secret holds a str, not {type(value).__name__}")
        self._value = value
        register(value)

    def reveal(self) -> str:
        """The value itself, for the places that must pass it on (env files, registry login)."""
        return self._value

    def __str__(self) -> str:
        return REDACTED

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __format__(self, format_spec: str) -> str:
        return format(REDACTED, format_spec)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("kamal_nb.Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the value into whatever file or cache receives the pickle
        # (notebook state, multiprocessing queues): refuse rather than leak.
        raise TypeError("a Secret cannot be pickled; pass secrets_path and reload it instead")


class _Registry:
    """Known secret values and one compiled pattern that finds any of them, longest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        # Rebuilt under the lock whenever a value is added; read without it (a single reference
        # swap is atomic), so `redact` stays cheap on the hot output path.
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> None:
        fresh = {value for value in values if len(value) >= MIN_MASKED_LENGTH} - self._values
        if not fresh:
            return
        with self._lock:
            self._values |= fresh
            # Longest first: when one secret contains another, the whole of the longer is masked.
            ordered = sorted(self._values, key=lambda value: (-len(value), value))
            self._pattern = re.compile("|".join(re.escape(value) for value in ordered))

    def clear(self) -> None:
        with self._lock:
            self._values = set()
            self._pattern = None

    def redact(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None:
            return text
        return pattern.sub(REDACTED, text)


_registry = _Registry()


def register(value: str) -> None:
    """Remember a secret value (and each line of a multi-line one) so `redact` masks it everywhere."""
    lines = value.splitlines() if "\n" in value or "\r" in value else []
    _registry.add([value, *(line.strip() for line in lines)])


def redact(text: str) -> str:
    """`text` with every registered secret value (of 4 characters or more) replaced by `[REDACTED]`."""
    return _registry.redact(text)


def forget_all() -> None:
    """Drop every registered value (for tests and for a kernel that switches projects)."""
    _registry.clear()
