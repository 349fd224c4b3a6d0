"""Rolling boot settings (``boot``) and where command output is also logged (``output``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kamal_nb.config.frozen import Frozen
from kamal_nb.ruby.values import is_truthy, ruby_to_s


def _ruby_to_i(text: str) -> int:
    """Ruby ``String#to_i``: leading digits, else 0."""
    digits = ""
    for char in text.strip():
        if char.isdigit() or (not digits and char in "+-"):
            digits += char
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return 0


@dataclass(frozen=True)
class Boot:
    raw: Mapping[object, Frozen]
    host_count: int

    @property
    def limit(self) -> int | None:
        """Hosts booted at a time: ``"25%"`` is a share of all hosts (at least 1); None means all."""
        limit = self.raw.get("limit")
        if limit is None:
            return None
        text = ruby_to_s(limit)
        if text.endswith("%"):
            return max(self.host_count * _ruby_to_i(text) // 100, 1)
        return limit if isinstance(limit, int) else _ruby_to_i(text)

    @property
    def wait(self) -> int | None:
        wait = self.raw.get("wait")
        return wait if isinstance(wait, int) else None

    @property
    def parallel_roles(self) -> bool:
        return is_truthy(self.raw.get("parallel_roles"))


@dataclass(frozen=True)
class Output:
    raw: Mapping[object, Frozen]

    @property
    def enabled(self) -> bool:
        return len(self.raw) > 0

    @property
    def otel_endpoint(self) -> str | None:
        otel = self.raw.get("otel")
        return ruby_to_s(otel.get("endpoint")) if isinstance(otel, Mapping) and "endpoint" in otel else None

    @property
    def file_path(self) -> str | None:
        file = self.raw.get("file")
        return ruby_to_s(file.get("path")) if isinstance(file, Mapping) and "path" in file else None
