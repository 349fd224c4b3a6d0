"""Google Secret Manager through the ``gcloud`` CLI (``Kamal::Secrets::Adapters::GcpSecretManager``).

``--account`` is ``USER[|SERVICE_ACCOUNT[,DELEGATE...]]`` (``default`` for gcloud's own user);
secrets are ``[PROJECT/]NAME[/VERSION]`` (``default`` project, ``latest`` version), one
``gcloud secrets versions access`` each. Keys are ``PROJECT/NAME``; values are the decoded payloads.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from kamal_nb.config.secret_adapters.base import Adapter, AdapterError, escape, prefixed_secrets, ruby_split
from kamal_nb.ruby.runtime import strip


class GcpSecretManager(Adapter):
    name = "gcp_secret_manager"

    def check_dependencies(self) -> None:
        if not self.cli_installed("gcloud --version"):
            raise AdapterError("gcloud CLI is not installed")

    def login(self, account: str | None) -> None:
        if not self._logged_in():
            self.sh("gcloud auth login")
            if not self._logged_in():
                raise AdapterError("could not login to gcloud")

    def _logged_in(self) -> bool:
        accounts = self.parse(self.sh("gcloud auth list --format=json"), "gcloud auth list")
        return bool(accounts)

    def fetch_secrets(
        self, secrets: list[str], *, from_: str | None, account: str | None, session: Any
    ) -> dict[str, Any]:
        assert account is not None
        user, _, chain = account.partition("|")
        service_account = chain if "|" in account else None
        results: dict[str, Any] = {}
        for project, secret_name, version in _with_metadata(prefixed_secrets(secrets, from_)).values():
            item_name = f"{project}/{secret_name}"
            command = f"secrets versions access {escape(version)} --secret={escape(secret_name)}"
            results[item_name] = self._access(command, project, user, service_account, item_name)
        return results

    def _access(self, command: str, project: str, user: str, service_account: str | None, item_name: str) -> str:
        words = ["gcloud", command]
        if project != "default":
            words.append(f"--project={escape(project)}")
        if user != "default":
            words.append(f"--account={escape(user)}")
        if service_account is not None:
            words.append(f"--impersonate-service-account={escape(service_account)}")
        words.append("--format=json")
        output = strip(self.sh(" ".join(words)))
        if not self.sh.success:
            raise AdapterError(f"Could not read {item_name} from Google Secret Manager")
        secret = self.parse(output, "gcloud secrets versions access")
        payload = secret.get("payload") if isinstance(secret, dict) else None
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, str):
            raise AdapterError(f"Could not read {item_name} from Google Secret Manager (no payload data)")
        return _decode64(data, item_name)


def _with_metadata(secrets: list[str]) -> dict[str, tuple[str, str, str]]:
    items: dict[str, tuple[str, str, str]] = {}
    for secret in secrets:
        parts = ruby_split(secret, "/")
        if len(parts) == 1:
            parts.insert(0, "default")
        if len(parts) < 2:
            raise AdapterError(f"Google Secret Manager: {secret!r} names no secret")
        items[secret] = (parts[0], parts[1], parts[2] if len(parts) > 2 else "latest")
    return items


def _decode64(data: str, item_name: str) -> str:
    """Ruby ``Base64.decode64``: characters outside the alphabet are skipped, padding is optional."""
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", data)
    try:
        raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except binascii.Error:
        raise AdapterError(f"Could not decode {item_name} from Google Secret Manager") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AdapterError(f"{item_name} from Google Secret Manager is not UTF-8 text") from None
