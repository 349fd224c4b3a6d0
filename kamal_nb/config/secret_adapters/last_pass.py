"""LastPass through its ``lpass`` CLI (``Kamal::Secrets::Adapters::LastPass``).

``--account`` is the email ``lpass status`` must report, else ``lpass login`` runs. One
``lpass show ... --json`` for every secret (``--from`` is a folder); keys are the entries' full names.
"""

from __future__ import annotations

from typing import Any

from kamal_nb.config.secret_adapters.base import Adapter, AdapterError, escape, prefixed_secrets, ruby_array
from kamal_nb.ruby.json_text import to_s
from kamal_nb.ruby.runtime import strip


class LastPass(Adapter):
    name = "last_pass"

    def check_dependencies(self) -> None:
        if not self.cli_installed("lpass --version"):
            raise AdapterError("LastPass CLI is not installed")

    def login(self, account: str | None) -> None:
        assert account is not None
        if strip(self.sh("lpass status --color never")) == f"Logged in as {account}.":
            return
        self.sh(f"lpass login {escape(account)}")
        if not self.sh.success:
            raise AdapterError("Failed to login to LastPass")

    def fetch_secrets(
        self, secrets: list[str], *, from_: str | None, account: str | None, session: Any
    ) -> dict[str, Any]:
        secrets = prefixed_secrets(secrets, from_)
        items = self.sh(f"lpass show {' '.join(escape(s) for s in secrets)} --json")
        if not self.sh.success:
            raise AdapterError(f"Could not read {ruby_array(secrets)} from LastPass")
        results: dict[str, Any] = {}
        for item in self.parse(items, "lpass show") or []:
            if isinstance(item, dict):
                results[to_s(item.get("fullname"))] = item.get("password")
        missing = [secret for secret in secrets if secret not in results]
        if missing:
            raise AdapterError(f"Could not find {', '.join(missing)} in LastPass")
        return results
