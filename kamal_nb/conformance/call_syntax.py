"""Parse a case's ``call``: ``Class(ctor args)#method(args).method(args)…`` with Ruby literal args.

Only the literals Kamal's tests use: strings, integers, floats, symbols, true/false/nil, arrays,
hashes (``{"k": v}``, ``{k: v}``, ``{"k" => v}``) and keyword arguments (``version: "123"``), plus
method chains on the test's own objects as arguments (``registry_config:
config.accessory("db").registry``, an ``Expression``). The receiver may be a class method
(``Configuration.create_from(config_file: "config/deploy.yml")#all_hosts``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<label>[A-Za-z_][A-Za-z0-9_]*[?!]?):(?!:)
      | (?P<symbol>:[A-Za-z_][A-Za-z0-9_]*[?!]?)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*[?!]?)
      | (?P<arrow>=>)
      | (?P<punct>[\[\]{},()])
    )""",
    re.VERBOSE,
)


class CallSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Invocation:
    name: str
    args: tuple[object, ...] = ()
    kwargs: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Expression:
    """A method chain written as an argument: ``config.accessory("db").registry``."""

    chain: tuple[Invocation, ...]


@dataclass(frozen=True)
class Call:
    receiver: Invocation  # the command class and its constructor arguments
    methods: tuple[Invocation, ...]

    @property
    def kamal_name(self) -> str:
        return f"{self.receiver.name}#{self.methods[0].name}" if self.methods else self.receiver.name


def parse_call(text: str) -> Call:
    head, sep, rest = text.partition("#")
    if not sep:
        raise CallSyntaxError(f"no '#' in call {text!r}")
    receiver = _parse_invocations(head.strip())
    methods = _parse_invocations(rest.strip())
    if not receiver or not methods:
        raise CallSyntaxError(f"cannot read call {text!r}")
    if len(receiver) > 1:  # a class method: `Configuration.create_from(...)`, named in full
        names = ".".join(invocation.name for invocation in receiver)
        return Call(Invocation(names, receiver[-1].args, receiver[-1].kwargs), tuple(methods))
    return Call(receiver[0], tuple(methods))


def _parse_invocations(text: str) -> list[Invocation]:
    invocations = []
    position = 0
    while position < len(text):
        found = re.match(r"\s*\.?\s*([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*[?!]?)", text[position:])
        if not found:
            raise CallSyntaxError(f"cannot read {text[position:]!r}")
        name = found.group(1)
        position += found.end()
        args: tuple[object, ...] = ()
        kwargs: dict[str, object] = {}
        if text[position : position + 1] == "(":
            parser = _ArgParser(text, position + 1)
            args, kwargs = parser.arguments(")")
            position = parser.position
        invocations.append(Invocation(name, args, kwargs))
    return invocations


class _ArgParser:
    def __init__(self, text: str, position: int) -> None:
        self.text = text
        self.position = position

    def _next(self) -> tuple[str, str]:
        found = _TOKEN.match(self.text, self.position)
        if not found or found.end() == self.position:
            raise CallSyntaxError(f"unexpected text at {self.text[self.position :]!r}")
        self.position = found.end()
        kind = found.lastgroup or ""
        return kind, found.group(kind)

    def _peek(self) -> tuple[str, str]:
        saved = self.position
        try:
            return self._next()
        finally:
            self.position = saved

    def arguments(self, closer: str) -> tuple[tuple[object, ...], dict[str, object]]:
        args: list[object] = []
        kwargs: dict[str, object] = {}
        while True:
            kind, value = self._peek()
            if kind == "punct" and value == closer:
                self._next()
                return tuple(args), kwargs
            if kind == "label":
                self._next()
                kwargs[value] = self.value()
            else:
                args.append(self.value())
            kind, value = self._next()
            if kind == "punct" and value == closer:
                return tuple(args), kwargs
            if not (kind == "punct" and value == ","):
                raise CallSyntaxError(f"expected ',' or {closer!r}, got {value!r}")

    def value(self) -> object:
        kind, value = self._next()
        if kind == "string":
            return _unquote(value)
        if kind == "symbol":
            return value[1:]
        if kind == "number":
            return float(value) if "." in value else int(value)
        if kind == "word":
            if self.text[self.position : self.position + 1] in (".", "("):
                return self._expression(value)
            return {"true": True, "false": False, "nil": None}.get(value, value)
        if kind == "punct" and value == "[":
            items, _ = self.arguments("]")
            return list(items)
        if kind == "punct" and value == "{":
            return self._hash()
        raise CallSyntaxError(f"unexpected {value!r}")

    def _expression(self, first: str) -> Expression:
        args: tuple[object, ...] = ()
        kwargs: dict[str, object] = {}
        if self.text[self.position : self.position + 1] == "(":
            self.position += 1
            args, kwargs = self.arguments(")")
        chain = [Invocation(first, args, kwargs)]
        while self.text[self.position : self.position + 1] == ".":
            found = re.match(r"\.([A-Za-z_][A-Za-z0-9_]*[?!]?)", self.text[self.position :])
            if not found:
                raise CallSyntaxError(f"cannot read {self.text[self.position :]!r}")
            self.position += found.end()
            args, kwargs = (), {}
            if self.text[self.position : self.position + 1] == "(":
                self.position += 1
                args, kwargs = self.arguments(")")
            chain.append(Invocation(found.group(1), args, kwargs))
        return Expression(tuple(chain))

    def _hash(self) -> dict[object, object]:
        result: dict[object, object] = {}
        while True:
            kind, value = self._next()
            if kind == "punct" and value == "}":
                return result
            if kind == "label":
                key: object = value
            elif kind == "string" and self.text[self.position : self.position + 1] == ":":
                self.position += 1  # "key": value, a symbol key written as a string
                key = _unquote(value)
            else:
                self.position -= len(value)
                key = self.value()
                arrow_kind, _ = self._next()
                if arrow_kind != "arrow":
                    raise CallSyntaxError("expected => in hash")
            result[key] = self.value()
            kind, value = self._next()
            if kind == "punct" and value == "}":
                return result
            if not (kind == "punct" and value == ","):
                raise CallSyntaxError(f"expected ',' or '}}' in hash, got {value!r}")


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    if literal.startswith("'"):
        return body.replace("\\'", "'").replace("\\\\", "\\")
    escapes = {"n": "\n", "t": "\t", "r": "\r", "e": "\x1b", "0": "\0", "s": " "}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), body)
