"""Kamal's built-in ``test`` adapter (``Kamal::Secrets::Adapters::Test``): no CLI, each secret's value
is its (``--from``-prefixed) name reversed, with ``LPAREN``/``RPAREN`` turned into parentheses first.
It needs ``--account`` like the real vaults."""

from __future__ import annotations

from typing import Any

from kamal_nb.config.secret_adapters.base import Adapter, prefixed_secrets


class Test(Adapter):
    name = "test"
    __test__ = False  # not a pytest class

    def check_dependencies(self) -> None:
        return None

    def login(self, account: str | None) -> bool:
        return True

    def fetch_secrets(
        self, secrets: list[str], *, from_: str | None, account: str | None, session: Any
    ) -> dict[str, Any]:
        return {s: s.replace("LPAREN", "(").replace("RPAREN", ")")[::-1] for s in prefixed_secrets(secrets, from_)}
