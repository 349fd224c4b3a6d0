"""The command value: Kamal's argv array, which renders to the exact string sent to a host.

Kamal builds commands as Ruby arrays and SSHKit sends ``argv.join(" ")``. A ``Command`` keeps that
argv (so later layers can run it, list it in a plan, or inspect it) and renders it two ways:

* ``cmd.wire()``: the text for the host, secrets revealed; only the transport should call it;
* ``str(cmd)``: the text for people, where every sensitive token shows its redaction
  (``[REDACTED]``, or ``K=[REDACTED]`` for build args), as SSHKit logs Kamal's ``sensitive`` values.

The combinators (``combine``, ``pipe``…) mirror Kamal::Commands::Base: they flatten commands into one
argv with the separator as a token, dropping missing (None) parts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from kamal_nb.commands.quoting import single_quote_body
from kamal_nb.redaction import REDACTED, Secret


@dataclass(frozen=True, slots=True)
class Sensitive:
    """One argv token whose text must only go on the wire (Kamal's ``Utils::Sensitive``)."""

    _wire: str = field(repr=False)
    redaction: str = REDACTED

    @classmethod
    def of(cls, value: str | Secret, redaction: str = REDACTED) -> Sensitive:
        return cls(value.reveal() if isinstance(value, Secret) else value, redaction)

    def wire(self) -> str:
        return self._wire

    def __str__(self) -> str:
        return self.redaction

    def __repr__(self) -> str:
        return f"Sensitive({self.redaction!r})"


Token = str | Sensitive


def wire_text(token: Token) -> str:
    return token.wire() if isinstance(token, Sensitive) else token


@dataclass(frozen=True, slots=True)
class Command:
    """An argv (tokens joined by single spaces when sent); immutable and hashable."""

    argv: tuple[Token, ...]

    def wire(self) -> str:
        """The exact string Kamal sends, secrets included."""
        return " ".join(wire_text(token) for token in self.argv)

    def __str__(self) -> str:
        return " ".join(str(token) for token in self.argv)

    def __repr__(self) -> str:
        return f"Command({str(self)!r})"

    def __iter__(self) -> Iterator[Token]:
        return iter(self.argv)

    def __len__(self) -> int:
        return len(self.argv)

    @property
    def sensitive(self) -> bool:
        return any(isinstance(token, Sensitive) for token in self.argv)

    @property
    def program(self) -> str:
        return str(self.argv[0]) if self.argv else ""


# What the builders and combinators accept as a command: a Command, one raw string (a whole
# shell snippet, as Kamal sometimes passes), a token list, or None (left out, Ruby's compact).
Part = Command | Token | Sequence[Token] | None


def tokens_of(part: Part) -> tuple[Token, ...]:
    if part is None:
        return ()
    if isinstance(part, Command):
        return part.argv
    if isinstance(part, str | Sensitive):
        return (part,)
    return tuple(part)


def cmd(*parts: Part | Iterable[Token]) -> Command:
    """A command from pieces, flattened, skipping None (Kamal's ``[ ... ].compact`` + splats)."""
    argv: list[Token] = []
    for part in parts:
        if part is None:
            continue
        if isinstance(part, Command | str | Sensitive):
            argv.extend(tokens_of(part))
        else:
            argv.extend(token for token in part if token is not None)
    return Command(tuple(argv))


def docker(*args: Part | Iterable[Token]) -> Command:
    return cmd("docker", *args)


def combine(*commands: Part, by: str = "&&") -> Command:
    argv: list[Token] = []
    for part in commands:
        if part is None:
            continue
        argv.extend(tokens_of(part))
        argv.append(by)
    return Command(tuple(argv[:-1]))


def chain(*commands: Part) -> Command:
    return combine(*commands, by=";")


def pipe(*commands: Part) -> Command:
    return combine(*commands, by="|")


def append(*commands: Part) -> Command:
    return combine(*commands, by=">>")


def write(*commands: Part) -> Command:
    return combine(*commands, by=">")


def any_of(*commands: Part) -> Command:
    """Kamal's ``any``: the commands joined with ``||``."""
    return combine(*commands, by="||")


def xargs(command: Part) -> Command:
    return cmd("xargs", command)


def joined(tokens: Iterable[Token], transform: Callable[[str], str] = lambda text: text) -> Token:
    """Tokens joined by spaces into one token, then transformed (e.g. quoted); the result stays
    sensitive if any token was, with the redacted text transformed the same way."""
    items = tuple(tokens)
    wire = transform(" ".join(wire_text(token) for token in items))
    if not any(isinstance(token, Sensitive) for token in items):
        return wire
    return Sensitive(wire, transform(" ".join(str(token) for token in items)))


def single_quoted(tokens: Iterable[Token]) -> Token:
    """``'<tokens joined>'`` with inner single quotes as ``'\\''``."""
    return joined(tokens, lambda text: f"'{single_quote_body(text)}'")


def shell(command: Part) -> Command:
    """Kamal's ``shell``: ``sh -c '<command>'``."""
    return Command(("sh", "-c", single_quoted(tokens_of(command))))


def substitute(command: Part) -> Token:
    """``$(<command>)``."""
    return joined(tokens_of(command), lambda text: f"$({text})")
