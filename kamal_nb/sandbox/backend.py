"""The backend that carries a session's commands, as the views choose it: ``Session(backend=...)``.

ops never choose (nor read an environment variable for it): ``kamal-nb`` and ``%kamal`` call
:func:`backend_from_env` ($KAMAL_NB_BACKEND, $KAMAL_NB_SANDBOX_DIR, as binder/start sets them) and pass
the result in; code that builds a Session itself passes :func:`sandbox_backend` (or nothing: SSH).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from kamal_nb.fleet.settings import SshSettings
from kamal_nb.sandbox import BACKEND_ENV, SANDBOX, SANDBOX_DIR_ENV
from kamal_nb.sandbox.pool import SandboxPool

SandboxBackend = Callable[[SshSettings], SandboxPool]


def sandbox_backend(root: Path | str) -> SandboxBackend:
    """Commands on the sandbox fleet at ``root`` (``python -m kamal_nb.sandbox init DIR``)."""

    def pool(settings: SshSettings) -> SandboxPool:
        return SandboxPool(root, settings)

    return pool


def backend_from_env(env: Mapping[str, str] | None = None) -> SandboxBackend | None:
    """The sandbox when ``$KAMAL_NB_BACKEND`` is ``sandbox``; None (SSH to real hosts) when unset or ``ssh``."""
    env = os.environ if env is None else env
    name = env.get(BACKEND_ENV) or "ssh"
    if name == "ssh":
        return None
    if name != SANDBOX:
        raise ValueError(f"${BACKEND_ENV} is {name!r}: set it to ssh or sandbox")
    root = env.get(SANDBOX_DIR_ENV)
    if not root:
        raise ValueError(
            f"${BACKEND_ENV}=sandbox needs ${SANDBOX_DIR_ENV} (create one: python -m kamal_nb.sandbox init DIR)"
        )
    return sandbox_backend(root)
