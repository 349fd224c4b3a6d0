"""The image registry (root ``registry`` and an accessory's own)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kamal_nb.config.frozen import Frozen
from kamal_nb.config.secret_source import SecretsSource, SecretValue
from kamal_nb.config.validation import is_local_registry
from kamal_nb.redaction import Secret
from kamal_nb.ruby.values import ruby_to_s


@dataclass(frozen=True)
class Registry:
    server: str | None
    # As written: a literal, or a one-item tuple naming a secret (`password: [KAMAL_REGISTRY_PASSWORD]`).
    username_setting: Frozen
    password_setting: Frozen

    @property
    def local(self) -> bool:
        """``localhost:<port>``: a registry Kamal runs itself, without credentials."""
        return is_local_registry(self.server)

    @property
    def local_port(self) -> int | None:
        if not self.local or self.server is None:
            return None
        digits = re.match(r"\d*", self.server.split(":")[-1])
        return int(digits.group(0)) if digits and digits.group(0) else 0

    def username(self, secrets: SecretsSource) -> str | SecretValue | None:
        return _lookup(self.username_setting, secrets)

    def password(self, secrets: SecretsSource) -> SecretValue | None:
        """Always a redacted value: from the secrets files, or a literal (ERB-rendered) password
        wrapped so that it cannot be printed by accident either."""
        value = _lookup(self.password_setting, secrets)
        return Secret(value) if isinstance(value, str) else value


def _lookup(setting: Frozen, secrets: SecretsSource) -> str | SecretValue | None:
    if isinstance(setting, tuple):
        return secrets[ruby_to_s(setting[0])]
    return None if setting is None else ruby_to_s(setting)
