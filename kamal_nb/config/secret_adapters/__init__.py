"""``kamal secrets fetch --adapter NAME``: Kamal 2.12's secret adapters (``lib/kamal/secrets/adapters``).

Each adapter drives its vault's own CLI (``op``, ``bw``, ``bws``, ``lpass``, ``aws``, ``gcloud``,
``doppler``, ``enpass-cli``, ``passbolt``) with exactly Kamal's commands and reads their output as
Kamal does; ``test`` is Kamal's built-in adapter for tests. ``lookup`` takes Kamal's names and
aliases (``1password``, ``lastpass``, ``gcp``, ``bitwarden-sm``) and its camelize rule.
"""

from __future__ import annotations

import re

from kamal_nb.config.secret_adapters.aws_secrets_manager import AwsSecretsManager
from kamal_nb.config.secret_adapters.base import Adapter, AdapterError, Shell
from kamal_nb.config.secret_adapters.bitwarden import Bitwarden
from kamal_nb.config.secret_adapters.bitwarden_secrets_manager import BitwardenSecretsManager
from kamal_nb.config.secret_adapters.doppler import Doppler
from kamal_nb.config.secret_adapters.enpass import Enpass
from kamal_nb.config.secret_adapters.gcp_secret_manager import GcpSecretManager
from kamal_nb.config.secret_adapters.last_pass import LastPass
from kamal_nb.config.secret_adapters.one_password import OnePassword
from kamal_nb.config.secret_adapters.passbolt import Passbolt
from kamal_nb.config.secret_adapters.test import Test

# By class name, as Kamal finds them with Object.const_get("Kamal::Secrets::Adapters::#{name.camelize}")
ADAPTERS: dict[str, type[Adapter]] = {
    cls.__name__: cls
    for cls in (
        AwsSecretsManager,
        Bitwarden,
        BitwardenSecretsManager,
        Doppler,
        Enpass,
        GcpSecretManager,
        LastPass,
        OnePassword,
        Passbolt,
        Test,
    )
}
ALIASES = {
    "1password": "one_password",
    "lastpass": "last_pass",
    "gcp": "gcp_secret_manager",
    "bitwarden-sm": "bitwarden_secrets_manager",
}


def lookup(name: str, shell: Shell | None = None) -> Adapter:
    """The adapter ``--adapter name`` selects; AdapterError ``Unknown secrets adapter: name`` otherwise."""
    name = ALIASES.get(name.lower(), name)
    adapter = ADAPTERS.get(camelize(name))
    if adapter is None:
        raise AdapterError(f"Unknown secrets adapter: {name}")
    return adapter(shell or Shell())


def camelize(term: str) -> str:
    """ActiveSupport ``String#camelize`` (no acronyms): ``one_password`` -> ``OnePassword``."""
    text = re.sub(r"\A[a-z\d]*", lambda m: m.group(0).capitalize(), term)
    text = re.sub(r"(?:_|(/))([a-z\d]*)", lambda m: (m.group(1) or "") + m.group(2).capitalize(), text, flags=re.I)
    return text.replace("/", "::")


__all__ = ["ADAPTERS", "Adapter", "AdapterError", "Shell", "camelize", "lookup"]
