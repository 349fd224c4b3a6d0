"""Where a running test fleet's hosts, registry, keys and engines are (fleet.json), and `show`: what
each host says about itself."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class FleetHost:
    name: str  # hostname inside the host: h1, h2, ...
    ip: str
    docker_socket: str  # reachable from the runner, for assertions that bypass SSH


@dataclass(frozen=True)
class FleetInfo:
    """What tests, benchmarks and the demo need to reach the fleet (saved as fleet.json)."""

    base: str
    prefix: str
    bridge: str
    registry: str  # host:port
    registry_user: str
    registry_password: str
    ssh_user: str
    ssh_key: str
    ssh_config: str
    known_hosts: str
    local_docker_socket: str
    hosts: tuple[FleetHost, ...]
    images: dict[str, str] = field(default_factory=dict)

    @property
    def host_ips(self) -> list[str]:
        return [h.ip for h in self.hosts]

    @classmethod
    def load(cls, base: Path) -> FleetInfo:
        data = json.loads((base / "fleet.json").read_text())
        data["hosts"] = tuple(FleetHost(**h) for h in data["hosts"])
        return cls(**data)


def show(info: FleetInfo) -> str:
    """One SSH round trip per host, in parallel: what each host says about itself, as a table."""
    import pandas as pd
    from fabric import Config, ThreadingGroup

    started = time.monotonic()
    group = ThreadingGroup(
        *info.host_ips,
        user=info.ssh_user,
        config=Config(overrides={"run": {"in_stream": False, "hide": True, "warn": True}}),
        connect_kwargs={"key_filename": info.ssh_key, "look_for_keys": False, "allow_agent": False},
    )
    probe = (
        "hostname; docker version --format '{{.Server.Version}}'; docker ps -q | wc -l; uptime -p 2>/dev/null || true"
    )
    results = group.run(probe)
    rows = []
    for host in info.hosts:
        result = next(r for c, r in results.items() if c.host == host.ip)
        if isinstance(result, Exception):
            rows.append(
                {"host": host.ip, "hostname": "", "docker": "", "containers": "", "status": f"FAILED: {result}"}
            )
            continue
        lines: list[str] = [*str(result.stdout).splitlines(), "", "", ""]
        hostname, docker_version, containers = lines[:3]
        rows.append(
            {
                "host": host.ip,
                "hostname": hostname,
                "docker": docker_version,
                "containers": containers,
                "status": "ok" if result.exited == 0 else f"exit {result.exited}",
            }
        )
    group.close()
    table = pd.DataFrame(rows).to_string(index=False)
    images = "\n".join(f"  {name}: {ref}" for name, ref in info.images.items())
    return (
        f"test fleet {info.base}: {len(info.hosts)} hosts, registry {info.registry} "
        f"(login {info.registry_user}), build engine {info.local_docker_socket}\n\n{table}\n\n"
        f"images in the registry:\n{images}\n\n(one SSH round trip per host in {time.monotonic() - started:.2f}s)"
    )
