"""Secret values that do not leak, and a process-wide mask for any text that might contain one.

Two layers, because neither alone is enough:

* `Secret` wraps a value from the moment it is read (secrets files, registry passwords...). `str()`,
  `repr()`, f-strings and `format()` all show `[REDACTED]`, the marker Kamal itself prints in
  `kamal config`; only `.reveal()` gives the value, and only the few places that must hand it on
  (env files, registry login) call it.
* Once revealed, a value can end up anywhere: a command's stderr, an exception, a DataFrame cell. A
  `Secret` in use therefore registers its value here, and `redact(text)` masks every registered value
  found in arbitrary text. Views call it on everything they show.

Only values the configuration uses as secrets are registered (env.secret, tagged and accessory
secrets, registry and builder secrets, ssh key data, certificates): a secrets file's other lines are
read as `Secret(value, used=False)` and stay out of free-text masking, so `APP=my-service` in
.kamal/secrets never blanks the service name. Each value is registered in every form it travels or
is stored in (`secret_forms`): as is, Kamal's env-file escaping, Ruby-dump and shell quoting, JSON
escaping, Python's repr (of str and bytes), base64 and URL encoding. The configuration's own public
names (service, image, hosts, roles, accessories) are registered with `register_public`: where one
of them appears in text it is left whole, even if a secret happens to equal (or be part of) it;
the Secret itself still prints `[REDACTED]` wherever it travels as one.

Values shorter than `MIN_MASKED_LENGTH` (4) characters are not masked in free text: masking "1",
"no" or "yes" would garble every table and log line while protecting nothing worth the name (a
3-character secret is guessable anyway). Such values are still redacted wherever they travel as a
`Secret`. Multi-line values (PEM keys, JSON credentials) are also registered line by line, because
output is streamed and logged line by line, so the whole value would never appear in one piece.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import threading
import traceback
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from kamal_nb.ruby.strings import env_file_value, escape_shell_value, shellescape, single_quote_body

REDACTED = "[REDACTED]"
MIN_MASKED_LENGTH = 4


class Secret:
    """A secret value: hides itself from every printing path, compares and hashes by value."""

    __slots__ = ("_used", "_value")

    def __init__(self, value: str, *, used: bool = True) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Secret holds a str, not {type(value).__name__}")
        self._value = value
        self._used = False
        if used:
            self.use()

    def use(self) -> Secret:
        """Mark the value as used as a secret: from now on `redact` masks it (in all its forms)."""
        if not self._used:
            self._used = True
            register(self._value)
        return self

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
    """Known secret values (and public names) and one compiled pattern that finds any of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._public: set[str] = set()
        # Rebuilt under the lock whenever a value is added; read without it (a single reference
        # swap is atomic), so `redact` stays cheap on the hot output path.
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str], *, public: bool = False) -> None:
        known = self._public if public else self._values
        fresh = {value for value in values if len(value) >= MIN_MASKED_LENGTH} - known
        if not fresh:
            return
        with self._lock:
            known |= fresh
            self._rebuild()

    def _rebuild(self) -> None:
        if not self._values:
            self._pattern = None
            return
        # Longest first: when one value contains another, the longer wins where both match (a
        # public name around a secret keeps the name; a secret around a public name is masked).
        public = {name for name in self._public if any(value in name for value in self._values)}
        ordered = sorted(self._values | public, key=lambda value: (-len(value), value))
        self._pattern = re.compile("|".join(re.escape(value) for value in ordered))

    def clear(self) -> None:
        with self._lock:
            self._values = set()
            self._public = set()
            self._pattern = None

    def redact(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None:
            return text
        public = self._public
        return pattern.sub(lambda found: found.group(0) if found.group(0) in public else REDACTED, text)


_registry = _Registry()


def register(value: str) -> None:
    """Remember a secret value, in each of its forms (and each line of a multi-line form), so that
    `redact` masks it everywhere. Values shorter than MIN_MASKED_LENGTH are left out (see above)."""
    if len(value) < MIN_MASKED_LENGTH:
        return
    pieces: list[str] = []
    for form in secret_forms(value):
        pieces.append(form)
        if "\n" in form or "\r" in form:
            pieces.extend(line.strip() for line in form.splitlines())
    _registry.add(pieces)


def register_public(names: Iterable[str]) -> None:
    """Names the configuration shows in the open (service, image, hosts...): never blanked by a
    secret that equals or is part of one of them."""
    _registry.add([name for name in names if name], public=True)


def secret_forms(value: str) -> list[str]:
    """Every form in which `value` can travel or be stored, most of them where Kamal puts it."""
    raw = value.encode("utf-8")
    shell = escape_shell_value(value)
    forms = [
        value,
        env_file_value(value),  # Kamal's env files (`\` doubled, newlines as \n)
        shell,  # `--env K="..."` on a docker command line
        shell[1:-1] if shell.startswith('"') and shell.endswith('"') else shell,
        shlex.quote(value),
        single_quote_body(value),  # inside Kamal's '...' nested commands
        shellescape(value),  # Shellwords.escape
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],  # a str in a traceback's or a debugger's locals, a container's repr
        ascii(value)[1:-1],
        repr(raw)[2:-1],  # in bytes (an env file being uploaded)
        base64.b64encode(raw).decode("ascii"),
        base64.b64encode(raw).decode("ascii").rstrip("="),
        base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="),
        quote(value, safe=""),
        quote_plus(value),
        quote(value),  # a path or userinfo in a URL keeps "/"
    ]
    return list(dict.fromkeys(forms))


def redact(text: str) -> str:
    """`text` with every registered secret value (of 4 characters or more) replaced by `[REDACTED]`."""
    return _registry.redact(text)


def forget_locals(error: BaseException) -> None:
    """Clear the local variables of the frames `error` went through, and those of the errors it was
    raised from or while handling: `%xmode Verbose`, `%debug` and other post-mortem debuggers print
    them, and a revealed secret may be one (a command's wire text, the env file being uploaded, a
    hook's environment). The traceback itself (files, lines, code) stays; frames still running are
    left alone."""
    pending: list[BaseException | None] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        pending += [current.__cause__, current.__context__]


def forget_all() -> None:
    """Drop every registered value (for tests and for a kernel that switches projects)."""
    _registry.clear()
