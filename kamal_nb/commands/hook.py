"""Local hook scripts and the environment they get (``Kamal::Commands::Hook``)."""

from __future__ import annotations

from kamal_nb.commands.base import Base
from kamal_nb.commands.command import Command, cmd
from kamal_nb.commands.quoting import ruby_file_join
from kamal_nb.commands.tags import Tags
from kamal_nb.redaction import Secret


class Hook(Base):
    def run(self, hook: str) -> Command:
        return cmd(self.hook_file(hook))

    def env(
        self, *, recorded_at: str, performer: str, secrets: bool = False, **details: object
    ) -> dict[str, str | Secret]:
        """``KAMAL_RECORDED_AT``, ``KAMAL_PERFORMER``, ``KAMAL_VERSION``… plus every secret (as a
        Secret) for the hooks that receive them."""
        env: dict[str, str | Secret] = dict(
            Tags.from_config(self.config, recorded_at=recorded_at, performer=performer, details=details).env()
        )
        if secrets:
            # Every loaded secret (Kamal's `config.secrets.to_h`); a SecretsSource without a
            # to_dict (a test fake) contributes nothing.
            to_dict = getattr(self.config.secrets, "to_dict", None)
            if to_dict is not None:
                env.update(to_dict())
        return env

    def hook_file(self, hook: str) -> str:
        """Where the hook is looked for (relative to the project directory); checking that it
        exists is the caller's I/O."""
        return ruby_file_join(self.config.hooks_path, hook)
