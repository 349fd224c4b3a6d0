"""Enpass through ``enpass-cli`` (``Kamal::Secrets::Adapters::Enpass``): offline, no account.

``--from`` is the vault's path; ``ITEM`` fetches every password of an item (``ITEM/LABEL`` keys, or
``ITEM`` for an unlabelled one), ``ITEM/LABEL`` one of them. Kamal does not check the exit status.
"""

from __future__ import annotations

from typing import Any

from kamal_nb.config.secret_adapters.base import Adapter, AdapterError, escape
from kamal_nb.ruby.runtime import strip
from kamal_nb.ruby.values import is_present


class Enpass(Adapter):
    name = "enpass"
    requires_account = False

    def check_dependencies(self) -> None:
        if not self.cli_installed("enpass-cli version"):
            raise AdapterError("Enpass CLI is not installed")

    def login(self, account: str | None) -> None:
        return None

    def fetch_secrets(
        self, secrets: list[str], *, from_: str | None, account: str | None, session: Any
    ) -> dict[str, Any]:
        if from_ is None:
            raise AdapterError("Enpass: give the vault's path with --from")
        titles = list(dict.fromkeys(key or value for key, _, value in (s.rpartition("/") for s in secrets)))
        result = strip(self.sh(f"enpass-cli -json -vault {escape(from_)} show {' '.join(escape(t) for t in titles)}"))
        found: dict[str, Any] = {}
        for item in self.parse(result, "enpass-cli show") or []:
            if not isinstance(item, dict):
                continue
            title, label, password = item.get("title"), item.get("label"), item.get("password")
            if title is not None and title is not False and is_present(password):
                key = "/".join(str(part) for part in (title, label) if part is not None and part != "")
                if title in secrets or key in secrets:
                    if key in found:
                        raise AdapterError(f"{key} is present more than once")
                    found[key] = password
        return found
