"""Write YAML the way Ruby's ``to_yaml`` (Psych) writes it, so ``kamal-nb config`` prints what
``kamal config`` prints.

Layout comes from PyYAML's emitter, a port of the same libyaml emitter Psych drives. What differs
is the choice of scalar style, which Psych makes in ``YAMLTree#visit_String``; that choice is ported
here, along with Symbols (``:roles``), ``nil`` (an empty value) and the one Ruby object
``kamal config`` shows (the SSH proxy).
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)

from kamal_nb.ruby.psych_yaml import tokenize
from kamal_nb.ruby.values import RubySymbol, ruby_float_to_s


@dataclass(frozen=True)
class RubyObject:
    """A Ruby object dumped as ``!ruby/object:<class>`` with its instance variables."""

    class_name: str
    ivars: Mapping[str, object]


class _PsychEmitter(yaml.Dumper):
    def write_plain(self, text: str, split: bool = True) -> None:
        # libyaml as Psych ships it writes the separating space even before an empty (nil) value:
        # `key: ` and `- `, with a trailing space. PyYAML's port skips it.
        if not text and not self.whitespace:
            self.stream.write(" ")
            self.column += 1
            self.whitespace = True
        super().write_plain(text, split)


def dump(value: object) -> str:
    """``value.to_yaml``: a document starting with ``---``."""
    return str(yaml.emit(_document(value), Dumper=_PsychEmitter, width=80, allow_unicode=True))


def _document(value: object) -> Iterator[Event]:
    yield StreamStartEvent()
    yield DocumentStartEvent(explicit=True)
    yield from _node(value)
    yield DocumentEndEvent(explicit=False)
    yield StreamEndEvent()


def _scalar(text: str, style: str | None = None, *, tag: str | None = None) -> ScalarEvent:
    return ScalarEvent(None, tag, (tag is None, tag is None), text, style=style)


def _node(value: object) -> Iterator[Event]:
    if isinstance(value, RubyObject):
        yield MappingStartEvent(None, f"!ruby/object:{value.class_name}", False, flow_style=False)
        for key, item in value.ivars.items():
            yield _scalar(key)
            yield from _node(item)
        yield MappingEndEvent()
    elif isinstance(value, Mapping):
        yield MappingStartEvent(None, None, True, flow_style=len(value) == 0)
        for key, item in value.items():
            yield from _node(key)
            yield from _node(item)
        yield MappingEndEvent()
    elif isinstance(value, list | tuple):
        yield SequenceStartEvent(None, None, True, flow_style=len(value) == 0)
        for item in value:
            yield from _node(item)
        yield SequenceEndEvent()
    else:
        yield _scalar_event(value)


def _scalar_event(value: object) -> ScalarEvent:
    if value is None:
        return _scalar("")
    if value is True or value is False:
        return _scalar("true" if value else "false")
    if isinstance(value, RubySymbol):
        return _scalar(f":{value.name}")
    if isinstance(value, int):
        return _scalar(str(value))
    if isinstance(value, float):
        if math.isnan(value):
            return _scalar(".nan")
        if math.isinf(value):
            return _scalar(".inf" if value > 0 else "-.inf")
        return _scalar(ruby_float_to_s(value))
    if isinstance(value, datetime.datetime):
        return _scalar(value.isoformat(sep=" "))
    if isinstance(value, datetime.date):
        return _scalar(value.isoformat())
    return _string_event(str(value))


def _string_event(text: str) -> ScalarEvent:
    """Psych's ``visit_String`` style choice; the emitter falls back (to quotes) as libyaml does."""
    if re.search(r"\n(?!\Z)", text):
        return _scalar(text, "|")
    if text == "<<":
        return _scalar(text, "'", tag="tag:yaml.org,2002:str")
    if text in ("y", "Y", "n", "N"):
        return _scalar(text, '"')
    if re.match(r"^[^\w][^\"]*$", text, re.MULTILINE):
        return _scalar(text, '"')
    if not isinstance(tokenize(text), str) or re.match(r"\A0[0-7]*[89]", text):
        return _scalar(text, "'")
    return _scalar(text)
