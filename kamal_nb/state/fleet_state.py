"""FleetState: the whole fleet's state from one probe per host, as tables and findings.

state = gather(ctx)              # ctx = Session(root=...).context(GlobalOptions(...))
state                            # overview: versions per role, lock, findings
state.releases.df                # a pandas DataFrame; .style highlights bad rows
state.findings.df[state.findings.df.severity == "error"]
"""

from __future__ import annotations

import datetime
import html
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from kamal_nb.state import audit, containers, findings, images, lock, releases, servers
from kamal_nb.state.deployment import Deployment
from kamal_nb.state.lock import STALE_LOCK_AFTER
from kamal_nb.state.model import HostSnapshot
from kamal_nb.state.parse import snapshot
from kamal_nb.state.probe import Probe, ProbeOutput
from kamal_nb.state.releases_logic import RoleRelease, Skew, role_releases, version_skews
from kamal_nb.state.table import Table, display_value

if TYPE_CHECKING:
    from kamal_nb.fleet import FleetRunner, GroupResult
    from kamal_nb.ops.session import Context

TABLES = ("servers", "releases", "containers", "images", "audit", "lock", "findings")


@dataclass(frozen=True)
class FleetState:
    deployment: Deployment
    snapshots: tuple[HostSnapshot, ...]
    gathered_at: datetime.datetime
    duration: float = 0.0
    stale_lock_after: datetime.timedelta = STALE_LOCK_AFTER
    outputs: tuple[ProbeOutput, ...] = field(default=(), repr=False)  # the raw probe output, kept for replay

    @classmethod
    def from_outputs(
        cls,
        deployment: Deployment,
        outputs: Sequence[ProbeOutput],
        gathered_at: datetime.datetime,
        duration: float = 0.0,
        **options: Any,
    ) -> FleetState:
        return cls(
            deployment, tuple(snapshot(o) for o in outputs), gathered_at, duration, outputs=tuple(outputs), **options
        )

    # -- analysis ----------------------------------------------------------------------------------

    @cached_property
    def role_releases(self) -> tuple[RoleRelease, ...]:
        return role_releases(self.deployment, self.snapshots)

    @cached_property
    def skews(self) -> tuple[Skew, ...]:
        return version_skews(self.role_releases)

    @cached_property
    def finding_list(self) -> tuple[findings.Finding, ...]:
        return findings.find(
            self.deployment, self.snapshots, self.role_releases, self.skews, self.gathered_at, self.stale_lock_after
        )

    # -- tables ------------------------------------------------------------------------------------

    @cached_property
    def servers(self) -> Table:
        return servers.build(self.deployment, self.snapshots)

    @cached_property
    def releases(self) -> Table:
        fresh = any(f.kind == "nothing_deployed" for f in self.finding_list)
        return releases.build(self.deployment, self.role_releases, self.skews, fresh=fresh)

    @cached_property
    def containers(self) -> Table:
        return containers.build(self.deployment, self.snapshots, self.role_releases)

    @cached_property
    def images(self) -> Table:
        return images.build(self.deployment, self.snapshots, self.role_releases)

    @cached_property
    def audit(self) -> Table:
        return audit.build(self.deployment, self.snapshots)

    @cached_property
    def lock(self) -> Table:
        return lock.build(self.deployment, self.snapshots, self.gathered_at, self.stale_lock_after)

    @cached_property
    def findings(self) -> Table:
        return findings.build(self.deployment, self.finding_list)

    @property
    def tables(self) -> Mapping[str, Table]:
        return {name: getattr(self, name) for name in TABLES}

    # -- summary -----------------------------------------------------------------------------------

    @property
    def ok(self) -> bool:
        """No error findings (warnings and a held lock allowed)."""
        return not any(f.severity == "error" for f in self.finding_list)

    def versions(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """role -> current version -> hosts running it."""
        out: dict[str, dict[str, list[str]]] = {}
        for r in self.role_releases:
            if r.version is not None:
                out.setdefault(r.role, {}).setdefault(r.version, []).append(r.host)
        return {role: {v: tuple(h) for v, h in vs.items()} for role, vs in out.items()}

    def overview_lines(self) -> list[str]:
        d = self.deployment
        reachable = sum(1 for s in self.snapshots if s.reachable)
        name = d.service_and_destination
        lines = [
            f"Fleet state of {name}: {len(d.hosts)} hosts, {reachable} reachable "
            f"(gathered {display_value(self.gathered_at)} in {self.duration:.2f}s)"
        ]
        versions = self.versions()
        for role in d.roles:
            hosts_of_role = [h for h in role.hosts if h in d.hosts]
            by_version = versions.get(role.name, {})
            running = ", ".join(f"{v} on {len(h)}/{len(hosts_of_role)}" for v, h in by_version.items()) or "nothing"
            lines.append(f"  {role.name}: {running}")
        held = [row for row in self.lock.rows]
        for row in held:
            lines.append(
                f"  lock: held on {row['host']} by {row['locked_by'] or '?'} since "
                f"{display_value(row['locked_at'])}: {row['message'] or '?'}"
            )
        counts = {s: sum(1 for f in self.finding_list if f.severity == s) for s in findings.SEVERITIES}
        summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n) or "none"
        lines.append(f"  findings: {summary}")
        # a held lock has its own line above; every other finding is listed, info ones included
        lines += [f"    {f.severity.upper():<7} {f.message}" for f in self.finding_list if f.kind != "lock_held"]
        return lines

    def __str__(self) -> str:
        return "\n".join(self.overview_lines())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_mimebundle_(
        self, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None
    ) -> dict[str, Any]:
        lines = self.overview_lines()
        head = f"<p><b>{html.escape(lines[0])}</b></p>"
        body = "<pre>" + html.escape("\n".join(line.removeprefix("  ") for line in lines[1:])) + "</pre>"
        tables = self.findings.to_html() + self.releases.to_html()
        more = ", ".join(f"<code>.{name}</code>" for name in TABLES)
        return {"text/plain": str(self), "text/html": f"{head}{body}{tables}<p>Tables: {more}</p>"}


def probe_fleet(
    runner: FleetRunner, deployment: Deployment, probe: Probe | None = None
) -> tuple[list[ProbeOutput], GroupResult]:
    """Run the probe on every selected host (one SSH command each, in parallel)."""
    probe = probe or Probe(deployment)
    batch = probe.batch()
    result = runner.run({host: [batch] for host in deployment.hosts}, stop_on_failure=False)
    return [probe.output(result[host]) for host in deployment.hosts], result


def gather(
    ctx: Context,
    *,
    now: Callable[[], datetime.datetime] | None = None,
    stale_lock_after: datetime.timedelta = STALE_LOCK_AFTER,
) -> FleetState:
    """The state of the hosts `ctx` selects (Kamal's -d/-r/-h/-p), one round trip per host."""
    deployment = Deployment.from_config(ctx.config, ctx.selection)
    started = time.monotonic()
    outputs, _ = probe_fleet(ctx.runner, deployment)
    duration = time.monotonic() - started
    moment = (now or ctx.session.clock)()
    return FleetState.from_outputs(deployment, outputs, moment, duration, stale_lock_after=stale_lock_after)
