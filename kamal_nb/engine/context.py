"""What the engine needs of a command's context (kamal_nb.ops.session.Context provides it): the
engine sits below the operations and does not import them."""

from __future__ import annotations

from typing import Any, Protocol

from kamal_nb.config import Config
from kamal_nb.fleet import FleetRunner


class RunContext(Protocol):
    holding_lock: bool  # set by the lock scope only (kamal_nb.engine.lock.holding)

    @property
    def session(self) -> Any: ...  # events, root, env, now(), random_hex(), lock_holder, performer

    @property
    def options(self) -> Any: ...  # the global options: version, skip_hooks, roles, lock_wait...

    @property
    def config(self) -> Config: ...

    @property
    def selection(self) -> Any: ...  # hosts, app_hosts, primary_host, roles_on(host)...

    @property
    def runner(self) -> FleetRunner: ...

    @property
    def version(self) -> str: ...
