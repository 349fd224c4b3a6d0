"""Read YAML the way Kamal reads it: Psych's ``unsafe_load`` scalar rules, minus the unsafe part.

PyYAML and Psych disagree on plain scalars (``Yes``/``On`` casing, ``:symbols``, ``1,000``, dates),
and Kamal's messages depend on the resulting types, so plain scalars are resolved here with a port
of Psych's ``ScalarScanner#tokenize``. Ruby object tags (``!ruby/object:…``) are refused instead of
instantiated, and alias graphs that would expand past a sane size (billion laughs) are rejected
before anything walks them.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kamal_nb.ruby.errors import ConfigError
from kamal_nb.ruby.values import RubySymbol, Scalar

# libyaml's parser is much faster; the pure-Python one is the fallback when libyaml is missing.
try:
    from yaml.cyaml import CParser as _CParser  # type: ignore[attr-defined]  # not re-exported by the stubs

    _USE_C = True
except ImportError:  # pragma: no cover
    _USE_C = False

# Bigger than any real deploy.yml by orders of magnitude, small enough to refuse alias bombs at once.
MAX_EXPANDED_NODES = 100_000
MAX_DEPTH = 200

_PLAIN_TAG = "tag:kamal-nb,2026:psych-plain"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"

# Psych's ScalarScanner patterns (psych/scalar_scanner.rb), with Ruby's ^/$ (line anchors) kept.
_TIME = re.compile(
    r"^-?\d{4}-\d{1,2}-\d{1,2}(?:[Tt]|\s+)\d{1,2}:\d\d:\d\d(?:\.\d*)?(?:\s*(?:Z|[-+]\d{1,2}:?(?:\d\d)?))?$",
    re.MULTILINE,
)
_DATE = re.compile(r"^\d{4}-(?:1[012]|0\d|\d)-(?:[12]\d|3[01]|0\d|\d)$", re.MULTILINE)
_FLOAT = re.compile(r"^(?:[-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?)$", re.MULTILINE)
_INTEGER = re.compile(
    r"^(?:[-+]?0b[_,]*[0-1][0-1_,]*"
    r"|[-+]?0[_,]*[0-7][0-7_,]*"
    r"|[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)"
    r"|[-+]?0x[_,]*[0-9a-fA-F][0-9a-fA-F_,]*)$",
    re.MULTILINE,
)
_SEXAGESIMAL_INT = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}$", re.MULTILINE)
_SEXAGESIMAL_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}\.[0-9_]*$", re.MULTILINE)
_TRUE = re.compile(r"^(yes|true|on)$", re.IGNORECASE | re.MULTILINE)
_FALSE = re.compile(r"^(no|false|off)$", re.IGNORECASE | re.MULTILINE)
_NULL = re.compile(r"^null$", re.IGNORECASE | re.MULTILINE)


def _stringy(text: str) -> bool:
    # Psych: %r{^[^\d.:-]?[[:alpha:]_\s!@#$%\^&*(){}<>|/\\~;=]+}; [[:alpha:]] is Unicode letters.
    return bool(re.match(r"^[^\d.:-]?(?:[^\W\d_]|[_\s!@#$%^&*(){}<>|/\\~;=])+", text, re.MULTILINE)) or ("\n" in text)


def tokenize(text: str) -> Scalar:
    """Psych ``ScalarScanner#tokenize``: the Ruby value of an untagged plain scalar."""
    if text == "":
        return None
    if _stringy(text):
        if len(text) > 5:
            return text
        if re.match(r"^[^ytonf~]", text, re.IGNORECASE | re.MULTILINE):
            return text
        if text == "~" or _NULL.search(text):
            return None
        if _TRUE.search(text):
            return True
        if _FALSE.search(text):
            return False
        return text
    if _TIME.search(text):
        return _parse_time(text) or text
    if _DATE.search(text):
        try:
            return datetime.date.fromisoformat(_zero_pad_date(text))
        except ValueError:
            return text
    if re.search(r"^\+?\.inf$", text, re.IGNORECASE | re.MULTILINE):
        return float("inf")
    if re.search(r"^-\.inf$", text, re.IGNORECASE | re.MULTILINE):
        return float("-inf")
    if re.search(r"^\.nan$", text, re.IGNORECASE | re.MULTILINE):
        return float("nan")
    if re.match(r"^:.", text, re.MULTILINE | re.DOTALL):
        quoted = re.match(r"^:([\"'])(.*)\1", text, re.MULTILINE)
        return RubySymbol(re.sub(r"^:", "", quoted.group(2)) if quoted else text[1:])
    if _SEXAGESIMAL_INT.search(text):
        return _sexagesimal(text, int)
    if _SEXAGESIMAL_FLOAT.search(text):
        return _sexagesimal(text, float)
    if _FLOAT.search(text):
        if re.fullmatch(r"[-+]?\.", text):
            return text
        return float(re.sub(r"\.([Ee]|$)", r"\1", text.replace(",", "").replace("_", "")) or "0")
    if _INTEGER.search(text):
        return _parse_int(text.replace(",", "").replace("_", ""))
    return text


def _parse_int(digits: str) -> int:
    # Ruby Integer(): 0b, 0o-by-leading-zero, 0x prefixes.
    sign = -1 if digits.startswith("-") else 1
    body = digits.lstrip("+-")
    if body.startswith(("0b", "0B")):
        return sign * int(body[2:], 2)
    if body.startswith(("0x", "0X")):
        return sign * int(body[2:], 16)
    if len(body) > 1 and body.startswith("0"):
        return sign * int(body[1:], 8)
    return sign * int(body)


def _sexagesimal(text: str, kind: Callable[[str], float]) -> int | float:
    parts = text.split(":")
    total: float = 0
    for index, part in enumerate(parts):
        total += kind(part.replace("_", "")) * 60 ** abs(index - 2)
    return int(total) if kind is int else float(total)


def _zero_pad_date(text: str) -> str:
    year, month, day = text.split("-")
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _parse_time(text: str) -> datetime.datetime | None:
    match = re.match(
        r"^(-?\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt]|\s+)(\d{1,2}):(\d\d):(\d\d)(?:\.(\d*))?\s*(Z|[-+]\d{1,2}(?::?\d\d)?)?",
        text,
    )
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
    zone = match.group(8)
    tz: datetime.tzinfo | None = None
    if zone == "Z":
        tz = datetime.UTC
    elif zone:
        hours_minutes = re.match(r"([-+]\d{1,2}):?(\d\d)?", zone)
        assert hours_minutes is not None
        hours = int(hours_minutes.group(1))
        minutes = int(hours_minutes.group(2) or 0)
        tz = datetime.timezone(datetime.timedelta(hours=hours, minutes=-minutes if hours < 0 else minutes))
    try:
        return datetime.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        return None


class _PsychResolver(yaml.resolver.BaseResolver):
    """Tags every untagged plain scalar as 'plain' so construction can apply Psych's rules."""


_PsychResolver.add_implicit_resolver(_MERGE_TAG, re.compile(r"^<<$"), ["<"])
_PsychResolver.add_implicit_resolver(_PLAIN_TAG, re.compile(r"(?s).*"), None)


if _USE_C:

    class _Composer(_CParser, _PsychResolver):
        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            _PsychResolver.__init__(self)

else:  # pragma: no cover - libyaml is present wherever pyyaml ships wheels

    class _Composer(  # type: ignore[no-redef]
        yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer, _PsychResolver
    ):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            _PsychResolver.__init__(self)


def load(text: str, *, path: str) -> object:
    """Parse one YAML document as Psych would, or raise ConfigError naming ``path`` and the line."""
    composer = _Composer(text)
    try:
        node = composer.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = error.problem or error.context or "invalid YAML"
        context = f" ({error.context})" if error.context and error.problem else ""
        raise ConfigError(
            f"YAML syntax error: {problem}{context}", path=path, line=line, kamal_class="Psych::SyntaxError"
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"YAML syntax error: {error}", path=path, kamal_class="Psych::SyntaxError") from None
    finally:
        composer.dispose()
    if node is None:
        return None
    _check_size(node, path)
    return _Constructor(path).construct(node)


def _check_size(root: Node, path: str) -> None:
    """Refuse alias bombs and self-referencing anchors before anything expands them."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if depth > MAX_DEPTH:
            raise ConfigError(f"YAML nesting is deeper than {MAX_DEPTH}", path=path, line=node.start_mark.line + 1)
        if key in in_progress:
            raise ConfigError("YAML alias refers to itself", path=path, line=node.start_mark.line + 1)
        in_progress.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            for child in node.value:
                total += size(child, depth + 1)
        elif isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                total += size(key_node, depth + 1) + size(value_node, depth + 1)
        if total > MAX_EXPANDED_NODES:
            raise ConfigError(
                f"YAML aliases expand to more than {MAX_EXPANDED_NODES} values; refusing to load (alias bomb?)",
                path=path,
                line=node.start_mark.line + 1,
            )
        in_progress.discard(key)
        sizes[key] = total
        return total

    size(root, 0)


_SCALAR_TAGS: dict[str, Callable[[str], Scalar]] = {
    _STR_TAG: lambda text: text,
    "!": lambda text: text,
    "!str": lambda text: text,
    "tag:yaml.org,2002:null": lambda text: None,
    "tag:yaml.org,2002:bool": lambda text: tokenize(text),
    "tag:yaml.org,2002:int": lambda text: tokenize(text),
    "tag:yaml.org,2002:float": lambda text: tokenize(text),
    "!ruby/symbol": RubySymbol,
    "!ruby/sym": RubySymbol,
}


class _Constructor:
    """Builds Ruby-like values from nodes; shared anchors stay shared, as in Psych."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._built: dict[int, object] = {}

    def _error(self, node: Node, message: str) -> ConfigError:
        return ConfigError(message, path=self._path, line=node.start_mark.line + 1)

    def construct(self, node: Node) -> object:
        key = id(node)
        if key in self._built:
            return self._built[key]
        value: object
        if isinstance(node, ScalarNode):
            value = self._scalar(node)
        elif isinstance(node, SequenceNode):
            if node.tag not in ("tag:yaml.org,2002:seq", "!"):
                raise self._error(node, f"unsupported YAML tag {node.tag} (Ruby objects are not loaded)")
            items: list[object] = []
            self._built[key] = items
            items.extend(self.construct(child) for child in node.value)
            value = items
        elif isinstance(node, MappingNode):
            if node.tag not in ("tag:yaml.org,2002:map", "!"):
                raise self._error(node, f"unsupported YAML tag {node.tag} (Ruby objects are not loaded)")
            mapping: dict[object, object] = {}
            self._built[key] = mapping
            self._fill_mapping(node, mapping)
            value = mapping
        else:  # pragma: no cover - the composer only makes these three
            raise self._error(node, "unsupported YAML node")
        self._built[key] = value
        return value

    def _scalar(self, node: ScalarNode) -> Scalar:
        if node.tag == _PLAIN_TAG:
            return tokenize(node.value)
        if node.tag == _MERGE_TAG:
            return "<<"
        converter = _SCALAR_TAGS.get(node.tag)
        if converter is None:
            raise self._error(node, f"unsupported YAML tag {node.tag} (Ruby objects are not loaded)")
        return converter(node.value)

    def _fill_mapping(self, node: MappingNode, mapping: dict[object, object]) -> None:
        # Psych's revive_hash: a `<<` merge happens where it stands, so later keys win over it and
        # it wins over earlier keys; a sequence of maps merges with the first one winning.
        for key_node, value_node in node.value:
            key = self.construct(key_node)
            if self._is_merge_key(key_node) and isinstance(value_node, MappingNode | SequenceNode):
                merged = self.construct(value_node)
                if isinstance(merged, dict):
                    mapping.update(merged)
                    continue
                if isinstance(merged, list) and all(isinstance(item, dict) for item in merged):
                    combined: dict[object, object] = {}
                    for item in reversed(merged):
                        assert isinstance(item, dict)
                        combined.update(item)
                    mapping.update(combined)
                    continue
            if isinstance(key, list | dict):
                raise self._error(key_node, "a YAML key must be a scalar")
            mapping[key] = self.construct(value_node)

    @staticmethod
    def _is_merge_key(node: Node) -> bool:
        if not isinstance(node, ScalarNode) or node.value != "<<":
            return False
        return node.tag == _MERGE_TAG or (node.tag == _STR_TAG and node.style in ("'", '"'))
