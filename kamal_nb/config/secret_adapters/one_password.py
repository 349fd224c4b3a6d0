"""1Password through its ``op`` CLI (``Kamal::Secrets::Adapters::OnePassword``).

Secrets are ``VAULT/ITEM/FIELD`` (``op://`` prefix allowed, FIELD defaults to ``password``); one
``op item get`` per item asks for all its fields. Without secret names, ``--from VAULT/ITEM`` fetches
every field of that item. Keys are the field references without ``op://`` and ``/password``.
"""

from __future__ import annotations

from typing import Any

from kamal_nb.config.secret_adapters.base import Adapter, AdapterError, escape, presence, ruby_split, to_options


class OnePassword(Adapter):
    name = "one_password"

    def check_dependencies(self) -> None:
        if not self.cli_installed("op --version"):
            raise AdapterError("1Password CLI is not installed")

    def login(self, account: str | None) -> str | None:
        assert account is not None
        self.sh(f"op account get --account {escape(account)} 2> /dev/null")
        if self.sh.success:
            return None
        session = self.sh(f"op signin {to_options({'account': account, 'force': True, 'raw': True})}")
        if not self.sh.success:
            raise AdapterError("Failed to login to 1Password")
        return session

    def fetch_secrets(
        self, secrets: list[str], *, from_: str | None, account: str | None, session: Any
    ) -> dict[str, Any]:
        results: dict[str, Any] = {}
        if not secrets:
            vault, item = _vault_item(from_)
            fields_json = self._parse_item(self._item_get(vault, item, None, account, session))
            if not isinstance(fields_json, dict) or "fields" not in fields_json:
                raise AdapterError(f'key not found: "fields" (op item get {item})')
            results.update(_fields_map(fields_json["fields"]))
            return results
        for vault, items in _vaults_items_fields([s if from_ is None else f"{from_}/{s}" for s in secrets]).items():
            for item, fields in items.items():
                fields_json = self._parse_item(self._item_get(vault, item, fields, account, session))
                if len(fields) == 1:
                    fields_json = [fields_json]
                results.update(_fields_map(fields_json))
        return results

    def _item_get(self, vault: str, item: str, fields: list[str] | None, account: str | None, session: Any) -> str:
        options: dict[str, str | bool | None] = {
            "vault": vault,
            "format": "json",
            "account": account,
            "session": presence(session),
        }
        if fields:
            options["fields"] = ",".join(f"label={field}" for field in fields)
        output = self.sh(f"op item get {escape(item)} {to_options(options)}")
        if not self.sh.success:
            what = f"{', '.join(fields)} " if fields else ""
            raise AdapterError(f"Could not read {what}from {item} in the {vault} 1Password vault")
        return output

    def _parse_item(self, output: str) -> Any:
        return self.parse(output, "op item get")


def _vault_item(from_: str | None) -> tuple[str, str]:
    if from_ is None:
        raise AdapterError("1Password: name the secrets to fetch, or give --from VAULT/ITEM to fetch all of an item")
    parts = ruby_split(from_.removeprefix("op://"), "/")
    if len(parts) < 2:
        raise AdapterError(f"1Password: --from {from_} names no item (VAULT/ITEM)")
    return parts[0], parts[1]


def _vaults_items_fields(secrets: list[str]) -> dict[str, dict[str, list[str]]]:
    vaults: dict[str, dict[str, list[str]]] = {}
    for secret in secrets:
        parts = ruby_split(secret.removeprefix("op://"), "/")
        if len(parts) < 2:
            raise AdapterError(f"1Password: {secret} names no item (VAULT/ITEM[/FIELD])")
        vault, item, fields = parts[0], parts[1], parts[2:] or ["password"]
        vaults.setdefault(vault, {}).setdefault(item, []).append(".".join(fields))
    return vaults


def _fields_map(fields_json: Any) -> dict[str, Any]:
    mapped: dict[str, Any] = {}
    for field_json in fields_json if isinstance(fields_json, list) else []:
        reference = field_json.get("reference") if isinstance(field_json, dict) else None
        if not isinstance(reference, str):
            raise AdapterError("1Password: a field has no reference")
        mapped[reference.removeprefix("op://").removesuffix("/password")] = field_json.get("value")
    return mapped
