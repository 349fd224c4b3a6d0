"""``kamal secrets fetch --adapter NAME``: Kamal 2.12's secret adapters (``lib/kamal/secrets/adapters``).

Each adapter drives its vault's own CLI (``op``, ``bw``, ``bws``, ``lpass``, ``aws``, ``gcloud``,
``doppler``, ``enpass-cli``, ``passbolt``) with exactly Kamal's commands and reads their output as
Kamal does; ``test`` is Kamal's built-in adapter for tests. ``lookup`` takes Kamal's names and
aliases (``1password``, ``lastpass``, ``gcp``, ``bitwarden-sm``) and its camelize rule.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from kamal_nb.config.secret_adapters.base import Adapter, AdapterError, Shell

# By class name, as Kamal finds them with Object.const_get("Kamal::Secrets::Adapters::#{name.camelize}"),
# and the module each lives in: only the adapter asked for is imported (the command line stays fast)
_MODULES = {
    "AwsSecretsManager": "aws_secrets_manager",
    "Bitwarden": "bitwarden",
    "BitwardenSecretsManager": "bitwarden_secrets_manager",
    "Doppler": "doppler",
    "Enpass": "enpass",
    "GcpSecretManager": "gcp_secret_manager",
    "LastPass": "last_pass",
    "OnePassword": "one_password",
    "Passbolt": "passbolt",
    "Test": "test",
}


def _adapter_class(class_name: str) -> type[Adapter]:
    module = importlib.import_module(f"{__name__}.{_MODULES[class_name]}")
    adapter: type[Adapter] = getattr(module, class_name)
    return adapter


def __getattr__(name: str) -> Any:
    if name == "ADAPTERS":
        return {class_name: _adapter_class(class_name) for class_name in _MODULES}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


ALIASES = {
    "1password": "one_password",
    "lastpass": "last_pass",
    "gcp": "gcp_secret_manager",
    "bitwarden-sm": "bitwarden_secrets_manager",
}


def lookup(name: str, shell: Shell | None = None) -> Adapter:
    """The adapter ``--adapter name`` selects; AdapterError ``Unknown secrets adapter: name`` otherwise."""
    name = ALIASES.get(name.lower(), name)
    class_name = camelize(name)
    if class_name not in _MODULES:
        raise AdapterError(f"Unknown secrets adapter: {name}")
    return _adapter_class(class_name)(shell or Shell())


def camelize(term: str) -> str:
    """ActiveSupport ``String#camelize`` (no acronyms): ``one_password`` -> ``OnePassword``."""
    text = re.sub(r"\A[a-z\d]*", lambda m: m.group(0).capitalize(), term)
    text = re.sub(r"(?:_|(/))([a-z\d]*)", lambda m: (m.group(1) or "") + m.group(2).capitalize(), text, flags=re.I)
    return text.replace("/", "::")


__all__ = ["ADAPTERS", "Adapter", "AdapterError", "Shell", "camelize", "lookup"]
