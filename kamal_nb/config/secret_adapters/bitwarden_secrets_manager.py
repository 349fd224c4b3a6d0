"""Bitwarden Secrets Manager through its ``bws`` CLI (``Kamal::Secrets::Adapters::BitwardenSecretsManager``).

No account (``bws`` reads its access token from the environment). Secrets are secret ids, or ``all``
(every secret), or ``PROJECT/all`` (``--from PROJECT all``): every secret of a project. Keys are the
secrets' own keys.
"""

from __future__ import annotations

from typing import Any

from kamal_nb.config.secret_adapters.base import Adapter, AdapterError, escape, prefixed_secrets, ruby_split
from kamal_nb.ruby.json_text import to_s

LIST_ALL_SELECTOR = "all"
LIST_ALL_FROM_PROJECT_SUFFIX = "/all"
LIST_COMMAND = "secret list"
GET_COMMAND = "secret get"


class BitwardenSecretsManager(Adapter):
    name = "bitwarden_secrets_manager"
    requires_account = False

    def check_dependencies(self) -> None:
        if not self.cli_installed("bws --version"):
            raise AdapterError("Bitwarden Secrets Manager CLI is not installed")

    def login(self, account: str | None) -> None:
        self.sh("bws project list")
        if not self.sh.success:
            raise AdapterError("Could not authenticate to Bitwarden Secrets Manager. Did you set a valid access token?")

    def fetch_secrets(
        self, secrets: list[str], *, from_: str | None, account: str | None, session: Any
    ) -> dict[str, Any]:
        if not secrets:
            raise AdapterError("You must specify what to retrieve from Bitwarden Secrets Manager")
        secrets = prefixed_secrets(secrets, from_)
        command = _list_command(secrets)
        results: dict[str, Any] = {}
        if command is None:
            for secret_uuid in secrets:
                item_json = self.sh(f"bws {GET_COMMAND} {escape(secret_uuid)}")
                if not self.sh.success:
                    raise AdapterError(f"Could not read {secret_uuid} from Bitwarden Secrets Manager")
                item = self.parse(item_json, f"bws {GET_COMMAND}")
                if isinstance(item, dict):
                    results[to_s(item.get("key"))] = item.get("value")
        else:
            items_json = self.sh(f"bws {command}")
            if not self.sh.success:
                raise AdapterError("Could not read secrets from Bitwarden Secrets Manager")
            for item in self.parse(items_json, f"bws {LIST_COMMAND}") or []:
                if isinstance(item, dict):
                    results[to_s(item.get("key"))] = item.get("value")
        return results


def _list_command(secrets: list[str]) -> str | None:
    if len(secrets) != 1:
        return None
    if secrets[0] == LIST_ALL_SELECTOR:
        return LIST_COMMAND
    if secrets[0].endswith(LIST_ALL_FROM_PROJECT_SUFFIX):
        project = ruby_split(secrets[0], LIST_ALL_FROM_PROJECT_SUFFIX)
        if not project:
            raise AdapterError(f"Bitwarden Secrets Manager: {secrets[0]} names no project")
        return f"{LIST_COMMAND} {escape(project[0])}"
    return None
