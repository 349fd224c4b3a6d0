"""The part of Go's text/template that docker's ``--format`` strings use, evaluated over plain data.

    render("{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}", container)

Values are dicts, lists, strings, numbers, booleans and None. A ``Struct`` is a Go struct: asking for
a field it lacks is an error, as in Go; a ``GoMap`` is a Go map: a missing key gives ``<no value>``.
``None`` is a nil pointer: printing it gives ``<nil>`` and asking it for a field is an error.
Anything the subset does not know (``with``, variables, an unknown function) raises TemplateError,
so a format the emulator cannot honour fails loudly instead of printing something plausible.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class TemplateError(Exception):
    pass


class Struct(dict[str, Any]):
    """A Go struct: fields in declaration order; ``omit_empty`` fields vanish from JSON when empty."""

    def __init__(self, go_type: str, fields: Mapping[str, Any], omit_empty: Sequence[str] = ()) -> None:
        super().__init__(fields)
        self.go_type = go_type
        self.omit_empty = frozenset(omit_empty)


class GoMap(dict[str, Any]):
    """A Go map: JSON and printing sort its keys; a missing key is ``<no value>``."""


class _NoValue:
    def __str__(self) -> str:
        return "<no value>"


NO_VALUE = _NoValue()


# -- printing and JSON, as Go does them ---------------------------------------------------------------


def go_string(value: Any) -> str:
    """fmt's %v."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value).removesuffix(".0") if value == int(value) else repr(value)
    if isinstance(value, Struct):
        return "{" + " ".join(go_string(v) for v in value.values()) + "}"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{go_string(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_string(v) for v in value) + "]"
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, Struct):
        return {
            k: _json_value(v)
            for k, v in value.items()
            if not (k in value.omit_empty and (v is None or v == "" or v == [] or v == {} or v == 0))
        }
    if isinstance(value, Mapping):
        return {k: _json_value(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if value is NO_VALUE:
        return None
    return value


def go_json(value: Any) -> str:
    """encoding/json's Marshal: compact, map keys sorted, <, > and & escaped as Go does."""
    text = json.dumps(_json_value(value), ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def go_json_indent(value: Any, indent: str = "    ") -> str:
    text = json.dumps(_json_value(value), ensure_ascii=False, indent=len(indent))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def truthy(value: Any) -> bool:
    if value is None or value is NO_VALUE:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, Struct):
        return True
    if isinstance(value, str | list | tuple | Mapping):
        return len(value) > 0
    return True


# -- parsing -------------------------------------------------------------------------------------------


@dataclass
class _Text:
    text: str


@dataclass
class _Action:
    pipeline: list[list[str]]  # commands, each a list of raw terms
    source: str


@dataclass
class _If:
    pipeline: list[list[str]]
    then: list[_Node]
    otherwise: list[_Node]


@dataclass
class _Range:
    pipeline: list[list[str]]
    body: list[_Node]
    otherwise: list[_Node]


_Node = _Text | _Action | _If | _Range

_TERM = re.compile(r'\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\(|\)|\||[^\s|()"`]+)')


def _split_pipeline(source: str) -> list[list[str]]:
    terms: list[str] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        match = _TERM.match(source, pos)
        if match is None:
            raise TemplateError(f"template: :1: unexpected {source[pos:]!r} in command")
        terms.append(match.group(1))
        pos = match.end()
    if "(" in terms or ")" in terms:
        raise TemplateError("template: parenthesized pipelines are not supported by the sandbox emulator")
    commands: list[list[str]] = [[]]
    for term in terms:
        if term == "|":
            commands.append([])
        else:
            commands[-1].append(term)
    if any(not c for c in commands):
        raise TemplateError(f"template: :1: missing value for command in {source!r}")
    return commands


def _tokens(template: str) -> list[tuple[str, str]]:
    """("text", s) and ("action", s) pieces, with {{- and -}} trimming applied."""
    pieces: list[tuple[str, str]] = []
    pos = 0
    while True:
        start = template.find("{{", pos)
        if start < 0:
            pieces.append(("text", template[pos:]))
            return pieces
        text = template[pos:start]
        end = template.find("}}", start)
        if end < 0:
            raise TemplateError("template: :1: unclosed action")
        inner = template[start + 2 : end]
        if inner.startswith("- "):
            text = text.rstrip()
            inner = inner[2:]
        pos = end + 2
        if inner.endswith(" -"):
            inner = inner[:-2]
            rest = template[pos:]
            pos += len(rest) - len(rest.lstrip())
        pieces.append(("text", text))
        pieces.append(("action", inner.strip()))


def parse(template: str) -> list[_Node]:
    pieces = _tokens(template)
    index = 0

    def block(terminators: tuple[str, ...]) -> tuple[list[_Node], str]:
        nonlocal index
        nodes: list[_Node] = []
        while index < len(pieces):
            kind, value = pieces[index]
            index += 1
            if kind == "text":
                if value:
                    nodes.append(_Text(value))
                continue
            word = value.split(None, 1)[0] if value else ""
            if value.startswith("/*"):
                continue
            if word in terminators:
                return nodes, value
            if word in ("if", "range"):
                pipeline = _split_pipeline(value[len(word) :])
                body, ended = block(("else", "end"))
                otherwise: list[_Node] = []
                if ended.startswith("else"):
                    if ended.strip() != "else":
                        raise TemplateError(f"template: {{{{{ended}}}}} is not supported by the sandbox emulator")
                    otherwise, _ = block(("end",))
                nodes.append(_If(pipeline, body, otherwise) if word == "if" else _Range(pipeline, body, otherwise))
                continue
            if word in ("else", "end"):
                raise TemplateError(f"template: :1: unexpected {{{{{word}}}}}")
            if word in ("with", "define", "template", "block", "break", "continue") or word.startswith("$"):
                raise TemplateError(f"template: {{{{{value}}}}} is not supported by the sandbox emulator")
            nodes.append(_Action(_split_pipeline(value), value))
        if terminators:
            raise TemplateError("template: :1: unexpected EOF")
        return nodes, ""

    nodes, _ = block(())
    return nodes


# -- evaluation ---------------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    if isinstance(value, Struct):
        return value.go_type
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _field(value: Any, path: str, source: str) -> Any:
    for name in [p for p in path.split(".") if p]:
        if value is None:
            raise TemplateError(f'template: :1: executing "" at <{source}>: nil pointer evaluating {name}')
        if isinstance(value, Struct):
            if name not in value:
                raise TemplateError(
                    f'template: :1: executing "" at <{source}>: can\'t evaluate field {name} in type {value.go_type}'
                )
            value = value[name]
        elif isinstance(value, Mapping):
            value = value.get(name, NO_VALUE)
        elif value is NO_VALUE:
            return NO_VALUE
        else:
            raise TemplateError(
                f'template: :1: executing "" at <{source}>: can\'t evaluate field {name} in type {_type_name(value)}'
            )
    return value


def _index(source: str, item: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(item, Mapping):
            item = item.get(str(key), NO_VALUE)
        elif isinstance(item, list | tuple | str):
            if not isinstance(key, int) or not 0 <= key <= len(item):
                raise TemplateError(
                    f'template: :1: executing "" at <{source}>: error calling index: index out of range: {key}'
                )
            if key == len(item):  # Go checks `> len`, then reflect panics on `== len`
                kind = "string" if isinstance(item, str) else "slice"
                raise TemplateError(
                    f'template: :1: executing "" at <{source}>: error calling index: reflect: {kind} index out of range'
                )
            item = item[key]
        else:
            raise TemplateError(
                f'template: :1: executing "" at <{source}>: error calling index: can\'t index item of type {_type_name(item)}'
            )
    return item


def _printf(fmt: str, *args: Any) -> str:
    values = iter(args)

    def substitute(match: re.Match[str]) -> str:
        verb = match.group(1)
        if verb == "%":
            return "%"
        value = next(values, NO_VALUE)
        if verb == "q":
            return json.dumps(go_string(value))
        return go_string(value)

    return re.sub(r"%([svdq%])", substitute, fmt)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "json": go_json,
    "join": lambda items, sep: sep.join(go_string(i) for i in items),
    "lower": lambda s: go_string(s).lower(),
    "upper": lambda s: go_string(s).upper(),
    "title": lambda s: go_string(s).title(),
    "split": lambda s, sep: go_string(s).split(sep),
    "len": lambda v: len(v),
    "print": lambda *a: "".join(go_string(v) for v in a),
    "println": lambda *a: " ".join(go_string(v) for v in a) + "\n",
    "printf": _printf,
    "not": lambda v: not truthy(v),
    "and": lambda *a: next((v for v in a if not truthy(v)), a[-1]),
    "or": lambda *a: next((v for v in a if truthy(v)), a[-1]),
    "eq": lambda a, *b: any(a == x for x in b),
    "ne": lambda a, b: a != b,
}


def _literal(term: str) -> Any:
    if term.startswith('"'):
        return json.loads(term)
    if term.startswith("`"):
        return term[1:-1]
    if term in ("true", "false"):
        return term == "true"
    if term == "nil":
        return None
    if re.fullmatch(r"-?\d+", term):
        return int(term)
    raise TemplateError(f'template: :1: function "{term}" not defined')


def _term(term: str, dot: Any, source: str) -> Any:
    if term == ".":
        return dot
    if term.startswith("."):
        return _field(dot, term, source)
    return _literal(term)


def _pipeline(pipeline: list[list[str]], dot: Any, source: str) -> Any:
    result: Any = NO_VALUE
    for position, command in enumerate(pipeline):
        head, *rest = command
        piped = [result] if position > 0 else []
        if head in FUNCTIONS:
            args = [_term(t, dot, source) for t in rest] + piped
            if head == "index":
                result = _index(source, *args)
            else:
                try:
                    result = FUNCTIONS[head](*args)
                except TypeError as error:
                    raise TemplateError(
                        f'template: :1: executing "" at <{source}>: wrong arguments for {head}'
                    ) from error
        elif head == "index":
            args = [_term(t, dot, source) for t in rest] + piped
            result = _index(source, *args)
        elif head.startswith(".") or head[0] in '"`-0123456789' or head in ("true", "false", "nil"):
            if rest or piped:
                raise TemplateError(f"template: :1: can't give argument to non-function {head}")
            result = _term(head, dot, source)
        else:
            raise TemplateError(f'template: :1: function "{head}" not defined')
    return result


def _execute(nodes: list[_Node], dot: Any, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Action):
            value = _pipeline(node.pipeline, dot, node.source)
            out.append(go_string(value))
        elif isinstance(node, _If):
            _execute(node.then if truthy(_pipeline(node.pipeline, dot, "if")) else node.otherwise, dot, out)
        else:
            items = _pipeline(node.pipeline, dot, "range")
            values = [items[k] for k in sorted(items)] if isinstance(items, Mapping) else list(items or [])
            if not values:
                _execute(node.otherwise, dot, out)
            for item in values:
                _execute(node.body, item, out)


def render(template: str, dot: Any) -> str:
    out: list[str] = []
    _execute(parse(template), dot, out)
    return "".join(out)
