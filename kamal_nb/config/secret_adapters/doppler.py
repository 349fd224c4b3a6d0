"""Doppler through its ``doppler`` CLI (``Kamal::Secrets::Adapters::Doppler``).

No account. ``--from PROJECT/CONFIG`` (or ``PROJECT/CONFIG/NAME`` secrets) gives ``-p``/``-c``,
unless ``DOPPLER_TOKEN`` is a service token (``dp.st...``), which already names both. One
``doppler secrets get ... --json``; keys are the secret names, values their ``computed`` value.
"""

from __future__ import annotations

from typing import Any

from kamal_nb.config.secret_adapters.base import Adapter, AdapterError, escape, prefixed_secrets, ruby_array, ruby_split


class Doppler(Adapter):
    name = "doppler"
    requires_account = False

    def check_dependencies(self) -> None:
        if not self.cli_installed("doppler --version"):
            raise AdapterError("Doppler CLI is not installed")

    def login(self, account: str | None) -> None:
        self.sh("doppler me --json 2> /dev/null")
        if self.sh.success:
            return
        self.sh("doppler login -y")
        if not self.sh.success:
            raise AdapterError("Failed to login to Doppler")

    def fetch_secrets(
        self, secrets: list[str], *, from_: str | None, account: str | None, session: Any
    ) -> dict[str, Any]:
        secrets = prefixed_secrets(secrets, from_)
        if not secrets:
            raise AdapterError("Doppler: name the secrets to fetch")
        flags = self._flags(secrets)
        names = []
        for secret in secrets:
            parts = ruby_split(secret, "/")
            if not parts:
                raise AdapterError(f"Doppler: {secret!r} names no secret")
            names.append(escape(parts[-1]))
        items = self.sh(f"doppler secrets get {' '.join(names)} --json {flags}")
        if not self.sh.success:
            raise AdapterError(f"Could not read {ruby_array(secrets)} from Doppler")
        found = self.parse(items, "doppler secrets get")
        found = found if isinstance(found, dict) else {}
        return {key: value.get("computed") if isinstance(value, dict) else None for key, value in found.items()}

    def _flags(self, secrets: list[str]) -> str:
        token = self.sh.getenv("DOPPLER_TOKEN")
        if token is not None and token[:5] == "dp.st":
            return ""
        parts = ruby_split(secrets[0], "/")
        if len(parts) < 2:
            raise AdapterError("Missing project or config from '--from=project/config' option")
        return f"-p {escape(parts[0])} -c {escape(parts[1])}"
