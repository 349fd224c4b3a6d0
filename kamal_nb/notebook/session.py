"""The notebook's session: the ops Session, with the magics' parallelism setting applied."""

from __future__ import annotations

import dataclasses

from kamal_nb.fleet import FleetRunner, SshSettings
from kamal_nb.ops.session import Session


@dataclasses.dataclass
class NotebookSession(Session):
    parallelism: int = 0  # hosts at once; 0: deploy.yml's sshkit.max_concurrent_starts

    def runner(self, settings: SshSettings) -> FleetRunner:
        if self.parallelism:
            settings = dataclasses.replace(settings, max_parallel=self.parallelism)
        return super().runner(settings)
