"""What the configuration needs from the secrets layer, as protocols.

kamal_nb.config.secrets.Secrets and kamal_nb.redaction.Secret satisfy these structurally; the model
only depends on the shape, which also lets tests pass a plain fake.
"""

from __future__ import annotations

from typing import Protocol


class SecretValue(Protocol):
    """A secret that prints as ``[REDACTED]``; ``reveal()`` is the only way to the value."""

    def reveal(self) -> str: ...


class SecretsSource(Protocol):
    """Lazily loaded secrets files: a missing key raises ConfigError naming the files."""

    def __getitem__(self, key: str) -> SecretValue: ...

    def __contains__(self, key: object) -> bool: ...

    def is_present(self, key: str) -> bool:
        """Kamal's ``secrets.key?``: defined and not blank."""
        ...
