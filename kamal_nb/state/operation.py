"""The ``state`` operation in the catalog: a kamal_nb extra (Kamal has no such command), read-only.

perform(ctx, ("state",))   # -> StateResult; .state is the FleetState
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kamal_nb.engine.plan import Plan, PlannedStep
from kamal_nb.engine.result import OperationResult
from kamal_nb.ops.arguments import NoArguments
from kamal_nb.ops.catalog import register
from kamal_nb.ops.session import Context
from kamal_nb.state.deployment import Deployment
from kamal_nb.state.fleet_state import FleetState, probe_fleet
from kamal_nb.state.probe import Probe

_TABLES = frozenset({"servers", "releases", "containers", "images", "audit", "lock", "findings", "tables"})


@dataclass(frozen=True)
class StateResult(OperationResult):
    """An OperationResult whose display is the fleet state's overview (not the raw probe output)."""

    @property
    def state(self) -> FleetState:
        assert isinstance(self.data, FleetState)
        return self.data

    def __getattr__(self, name: str) -> Any:
        # `s = %kamal state; s.releases` reads as well as `s.state.releases`
        if name in _TABLES:
            return getattr(self.state, name)
        raise AttributeError(name)

    def __str__(self) -> str:
        return str(self.state)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_mimebundle_(
        self, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None
    ) -> dict[str, Any]:
        return self.state._repr_mimebundle_(include, exclude)


def plan(ctx: Context, args: NoArguments) -> Plan:
    deployment = Deployment.from_config(ctx.config, ctx.selection)
    batch = Probe(deployment).batch()
    note = "one round trip: docker version, containers, images, lock, audit tail"
    return Plan("state", tuple(PlannedStep(host, batch, note=note) for host in deployment.hosts))


def run(ctx: Context, args: NoArguments) -> OperationResult:
    deployment = Deployment.from_config(ctx.config, ctx.selection)
    started = time.monotonic()
    outputs, hosts = probe_fleet(ctx.runner, deployment)
    duration = time.monotonic() - started
    state = FleetState.from_outputs(deployment, outputs, ctx.session.clock(), duration)
    return StateResult("state", hosts, duration, data=state)


OPERATION = register(
    ("state",),
    "Fleet and release state as tables (servers, releases, containers, images, audit, lock, findings)",
    mutating=False,
    plan=plan,
    run=run,
    arguments=NoArguments,
)
