"""Bitwarden through its ``bw`` CLI (``Kamal::Secrets::Adapters::Bitwarden``).

Logs in (``--account`` is the email) and unlocks when needed, keeping the ``BW_SESSION`` that
``bw unlock --raw`` returns, syncs, then runs one ``bw get item`` per item. ``ITEM`` gives the login
password (or, for other items, every custom field as ``ITEM/FIELD``); ``ITEM/FIELD`` one field.
"""

from __future__ import annotations

from typing import Any

from kamal_nb.config.secret_adapters.base import Adapter, AdapterError, escape, prefixed_secrets, presence, ruby_split
from kamal_nb.ruby.runtime import strip
from kamal_nb.ruby.values import is_truthy


class Bitwarden(Adapter):
    name = "bitwarden"

    def check_dependencies(self) -> None:
        if not self.cli_installed("bw --version"):
            raise AdapterError("Bitwarden CLI is not installed")

    def login(self, account: str | None) -> str | None:
        assert account is not None
        session: str | None = None
        status = self._json("status")
        if _status(status) == "unauthenticated":
            self._run(f"login {escape(account)}")
            status = self._json("status")
        if _status(status) == "locked":
            session = presence(self._run("unlock --raw"))
            status = self._json("status", session)
        if _status(status) != "unlocked":
            raise AdapterError("Failed to login to and unlock Bitwarden")
        self._run("sync", session)
        if not self.sh.success:
            raise AdapterError("Failed to sync Bitwarden")
        return session

    def fetch_secrets(
        self, secrets: list[str], *, from_: str | None, account: str | None, session: Any
    ) -> dict[str, Any]:
        results: dict[str, Any] = {}
        for item, fields in _items_fields(prefixed_secrets(secrets, from_)).items():
            if item is None:
                raise AdapterError("Bitwarden: an empty secret name names no item")
            item_json = self._run(f"get item {escape(item)}", session)
            if not self.sh.success:
                raise AdapterError(f"Could not read {item} from Bitwarden")
            found = self.parse(item_json, "bw get item")
            found = found if isinstance(found, dict) else {}
            login = found.get("login")
            password = login.get("password") if isinstance(login, dict) else None
            if any(field is not None for field in fields):
                results.update(_from_fields(fields, item, found))
            elif is_truthy(password):
                results[item] = password
            elif isinstance(found.get("fields"), list) and any(is_truthy(f) for f in found["fields"]):
                names = [f.get("name") if isinstance(f, dict) else None for f in found["fields"]]
                results.update(_from_fields(names, item, found))
            else:
                raise AdapterError(f"Item {item} is not a login type item and no fields were specified")
        return results

    def _run(self, command: str, session: str | None = None) -> str:
        prefix = f"BW_SESSION={escape(session)} " if session else ""
        return strip(self.sh(f"{prefix}bw {command}"))

    def _json(self, command: str, session: str | None = None) -> Any:
        return self.parse(self._run(command, session), f"bw {command}")


def _status(status: Any) -> Any:
    return status.get("status") if isinstance(status, dict) else None


def _items_fields(secrets: list[str]) -> dict[str | None, list[str | None]]:
    """``item, field = secret.split("/")``: a third part is ignored, a missing one is nil."""
    items: dict[str | None, list[str | None]] = {}
    for secret in secrets:
        parts = ruby_split(secret, "/")
        item = parts[0] if parts else None
        field = parts[1] if len(parts) > 1 else None
        items.setdefault(item, []).append(field)
    return items


def _from_fields(fields: list[Any], item: str, item_json: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    listed = item_json.get("fields")
    for field in fields:
        match = next(
            (f for f in (listed if isinstance(listed, list) else []) if isinstance(f, dict) and f.get("name") == field),
            None,
        )
        name = "" if field is None else str(field)
        if match is None:
            raise AdapterError(f"Could not find field {name} in item {item} in Bitwarden")
        found[f"{item}/{name}"] = match.get("value")
    return found
