"""Passbolt through its ``passbolt`` CLI (``Kamal::Secrets::Adapters::Passbolt``).

No account (``passbolt verify`` checks the configured one). Secrets are names, optionally under
folders (``FOLDER[/SUBFOLDER...]/NAME``, or ``--from FOLDER``): the folders are looked up first, then
one ``passbolt list resources`` with a filter for every secret. Keys are the bare secret names.
"""

from __future__ import annotations

from typing import Any

from kamal_nb.config.secret_adapters.base import Adapter, AdapterError, escape, prefixed_secrets, ruby_array, ruby_split
from kamal_nb.ruby import json_text as ruby_json
from kamal_nb.ruby.strings import inspect

Folder = dict[str, Any]


class Passbolt(Adapter):
    name = "passbolt"
    requires_account = False

    def check_dependencies(self) -> None:
        if not self.cli_installed("passbolt --version"):
            raise AdapterError("Passbolt CLI is not installed")

    def login(self, account: str | None) -> None:
        self.sh("passbolt verify")
        if not self.sh.success:
            raise AdapterError("Failed to login to Passbolt")

    def fetch_secrets(
        self, secrets: list[str], *, from_: str | None, account: str | None, session: Any
    ) -> dict[str, Any]:
        secrets = prefixed_secrets(secrets, from_)
        if not secrets:
            raise AdapterError("No secrets given to fetch")
        split = [_parts(secret) for secret in secrets]
        secret_names = [parts[-1] for parts in split]
        folders = self._folders(secrets)
        conditions: list[str] = []
        for parts in split:
            name = parts[-1]
            if len(parts) > 1:
                current: Folder | None = None
                path: list[str] = []
                for folder_name in parts[:-1]:
                    path.append(folder_name)
                    matching = [f for f in folders if _folder_path(f, folders) == "/".join(path)]
                    if matching:
                        current = matching[0]
                if current is not None:
                    conditions.append(f"(Name == {_quoted(name)} && FolderParentID == {_quoted(_id(current))})")
            else:
                conditions.append(f"Name == {_quoted(name)}")
        condition = f"--filter '{' || '.join(conditions)}'" if conditions else ""
        folder_options = " ".join(f"--folder {escape(_id(f))}" for f in folders)
        items = self.sh(f"passbolt list resources {condition} {folder_options} --column name --column password --json")
        if not self.sh.success:
            raise AdapterError(f"Could not read {ruby_array(secrets)} from Passbolt")
        found = [item for item in self.parse(items, "passbolt list resources") or [] if isinstance(item, dict)]
        found_names = [item.get("name") for item in found]
        missing = [name for name in secret_names if name not in found_names]
        if missing:
            raise AdapterError(f"Could not find the following secrets in Passbolt: {', '.join(missing)}")
        return {ruby_json.to_s(item.get("name")): item.get("password") for item in found}

    def _folders(self, secrets: list[str]) -> list[Folder]:
        paths = list(dict.fromkeys(tuple(_parts(s)[:-1]) for s in secrets if "/" in s))
        if not paths:
            return []
        if any(not path for path in paths):
            raise AdapterError("Passbolt: a secret ending in / names no secret")
        parents = list(dict.fromkeys(path[0] for path in paths))
        condition = f"--filter '{' || '.join(f'Name == {_quoted(name)}' for name in parents)}'"
        listed = self.sh(f"passbolt list folders {condition} --json")
        if not self.sh.success:
            raise AdapterError("Could not read folders from Passbolt")
        parent_items = _folder_list(self.parse(listed, "passbolt list folders"))
        folders = list(parent_items)
        for path in paths:
            if len(path) <= 1:
                continue
            parent = next((f for f in parent_items if f.get("name") == path[0]), None)
            if parent is None:
                continue
            for folder_name in path[1:]:
                condition = f"--filter 'Name == {_quoted(folder_name)} && FolderParentID == {_quoted(_id(parent))}'"
                nested_json = self.sh(f"passbolt list folders {condition} --json")
                if not self.sh.success:
                    continue
                nested = _folder_list(self.parse(nested_json, "passbolt list folders"))
                if not nested:
                    break
                folders += nested
                parent = nested[0]
        found = [_folder_path(f, folders) for f in folders]
        missing = [p for p in ("/".join(path) for path in paths) if p not in found]
        if missing:
            raise AdapterError(f"Could not find the following folders in Passbolt: {', '.join(missing)}")
        return folders


def _parts(secret: str) -> list[str]:
    parts = ruby_split(secret, "/")
    if not parts:
        raise AdapterError(f"Passbolt: {secret!r} names no secret")
    return parts


def _quoted(value: str) -> str:
    """``value.shellescape.inspect``, as Kamal writes names and ids into a filter."""
    return inspect(escape(value))


def _id(folder: Folder) -> str:
    return ruby_json.to_s(folder.get("id"))


def _folder_list(value: Any) -> list[Folder]:
    return [f for f in value if isinstance(f, dict)] if isinstance(value, list) else []


def _folder_path(folder: Folder, folders: list[Folder]) -> str:
    path: list[str] = []
    seen: set[int] = set()
    current: Folder | None = folder
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        path.insert(0, ruby_json.to_s(current.get("name")))
        parent_id = ruby_json.to_s(current.get("folder_parent_id"))
        if parent_id == "":
            break
        current = next((f for f in folders if f.get("id") == current.get("folder_parent_id")), None)
    return "/".join(path)
