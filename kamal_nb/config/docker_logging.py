"""Docker logging settings (root ``logging``, deep-merged with a role's own)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kamal_nb.config.frozen import Frozen, freeze_mapping, thaw
from kamal_nb.ruby.values import deep_merge, is_present, ruby_to_s


@dataclass(frozen=True)
class Logging:
    raw: Mapping[object, Frozen]

    @property
    def driver(self) -> str | None:
        value = self.raw.get("driver")
        return None if value is None else ruby_to_s(value)

    @property
    def options(self) -> Mapping[object, Frozen]:
        return freeze_mapping(self.raw.get("options"))

    @property
    def is_default(self) -> bool:
        """Neither driver nor options set: Kamal then passes ``--log-opt max-size="10m"``."""
        return not (is_present(self.driver) or is_present(self.options))

    def merge(self, other: Logging) -> Logging:
        base, over = thaw(self.raw), thaw(other.raw)
        assert isinstance(base, dict) and isinstance(over, dict)
        return Logging(freeze_mapping(deep_merge(base, over)))
