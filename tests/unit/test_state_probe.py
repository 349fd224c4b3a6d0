"""The state probe: one shell command per host, its sections, and its output split back.

The shell plumbing is checked by running the probe with a local `sh` and a fake `docker` on PATH
that prints canned output (the fleet tests run it against real hosts)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from kamal_nb.commands import Auditor, Lock
from kamal_nb.config import load_config
from kamal_nb.fleet import Batch, CommandResult, HostResult
from kamal_nb.state.deployment import AccessoryInfo, Deployment, RoleInfo
from kamal_nb.state.parse import snapshot
from kamal_nb.state.probe import INSPECT_FORMAT, SECTIONS, Probe

DEPLOY = """service: demo
image: demo
registry: {server: "10.9.0.1:5000", username: u, password: p4ssw0rd-literal}
servers:
  web: [10.9.0.11, 10.9.0.12]
  jobs: {hosts: [10.9.0.13], cmd: run-jobs}
accessories:
  db: {image: "10.9.0.1:5000/db:1", host: 10.9.0.13}
builder: {arch: amd64}
"""


def deployment(destination: str | None = None) -> Deployment:
    return Deployment(
        service="demo",
        destination=destination,
        repository="10.9.0.1:5000/demo",
        hosts=("10.9.0.11",),
        primary_host="10.9.0.11",
        roles=(RoleInfo("web", ("10.9.0.11",), "demo-web" + (f"-{destination}" if destination else "")),),
        accessories=(AccessoryInfo("db", "demo-db", ("10.9.0.11",)),),
    )


def test_paths_and_filters_are_kamals(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    for destination in (None, "staging"):
        name = "config/deploy.yml" if destination is None else f"config/deploy.{destination}.yml"
        (tmp_path / name).write_text(DEPLOY if destination is None else "env: {clear: {X: y}}\n")
        config = load_config(root=tmp_path, destination=destination, env={"PATH": "/usr/bin:/bin"})
        d = Deployment.from_config(config)
        assert d.lock_dir == Lock(config).lock_dir
        assert d.audit_log == Auditor(config, recorded_at="", performer="").audit_log_file
        assert d.latest_tag == config.latest_tag and d.repository == config.repository
        assert d.hosts == ("10.9.0.11", "10.9.0.12", "10.9.0.13") and d.primary_host == "10.9.0.11"
        assert [(r.name, r.container_prefix, r.running_proxy) for r in d.roles] == [
            ("web", "demo-web" + (f"-{destination}" if destination else ""), True),
            ("jobs", "demo-jobs" + (f"-{destination}" if destination else ""), False),
        ]
        assert d.accessories == (AccessoryInfo("db", "demo-db", ("10.9.0.13",), False),)
        probe = Probe(d)
        commands = probe.commands()
        assert list(commands) == list(SECTIONS)
        # which containers are ours is docker's filters' rule, applied to one inspect of all of them
        own = {"service": "demo", "role": "web", "destination": destination or ""}
        assert probe.ours({"name": "/demo-web-1", "labels": own})
        assert not probe.ours({"name": "/demo-web-1", "labels": {**own, "destination": "other"}})
        assert not probe.ours({"name": "/other-web-1", "labels": {**own, "service": "other"}})
        no_destination_label = {"service": "demo", "role": "web"}
        assert not probe.ours({"name": "/demo-web-1", "labels": no_destination_label})
        assert probe.ours({"name": "/kamal-proxy", "labels": {}}) and probe.ours({"name": "/demo-db", "labels": None})
        assert not probe.ours({"name": "/kamal-proxy-old", "labels": {}})
        assert commands["images"].endswith(" 10.9.0.1:5000/demo")
        assert d.lock_dir in commands["lock"] and d.audit_log in commands["audit"]


def test_probe_never_asks_docker_for_the_environment() -> None:
    # secrets live in the containers' env: the inspect format names its fields, and .Env is not one
    assert "Env" not in INSPECT_FORMAT and "{{json .}}" not in INSPECT_FORMAT
    assert "json ." not in Probe(deployment()).containers_command().replace(INSPECT_FORMAT, "")


def test_one_batch_one_step() -> None:
    batch = Probe(deployment()).batch()
    assert isinstance(batch, Batch) and len(batch.commands) == len(SECTIONS)


def test_output_maps_results_to_sections_and_notices_a_cut_short_probe() -> None:
    probe = Probe(deployment())
    full = HostResult("h", tuple(CommandResult("h", s, 0, f"{s} out", "", 0.1) for s in SECTIONS))
    out = probe.output(full)
    assert out.error is None and {n: s.stdout for n, s in out.sections.items()} == {s: f"{s} out" for s in SECTIONS}
    cut = probe.output(HostResult("h", full.commands[:2], None))
    assert cut.error == "the state probe was cut short" and list(cut.sections) == ["docker", "containers"]
    failed = probe.output(HostResult("h", (), "h: connection refused"))
    assert failed.error == "h: connection refused" and failed.sections == {}


FAKE_DOCKER = r"""#!/bin/sh
echo "$*" >> "$CALLS"
case "$1 $2" in
  "version --format") echo 27.3.1 ;;
  "container ls")
    [ -n "$EMPTY" ] && exit 0
    [ "$*" = "container ls --all --quiet" ] || { echo "unexpected: $*" >&2; exit 2; }
    printf 'aaa111\nbbb222\nccc333\nddd444\n' ;;
  "container inspect")
    shift 4
    for id in "$@"; do
      case "$id" in
        ccc333) name=kamal-proxy service="" ;;
        ddd444) name=other-web-ddd444 service=other ;;
        *) name="demo-web-$id" service=demo ;;
      esac
      printf '{"id":"%s","name":"/%s","image":"demo:%s","image_id":"sha256:%s","labels":{"service":"%s","role":"web","destination":""},"created":"2026-01-01T00:00:00Z","state":{"Status":"running"},"restart_count":0}\n' "$id" "$name" "$id" "$id" "$service"
    done ;;
  "image ls") echo '{"ID":"sha256:aaa111","Repository":"10.9.0.1:5000/demo","Tag":"latest","CreatedAt":"2026-01-01 00:00:00 +0000 UTC","Size":"2MB"}' ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""


def run_locally(tmp_path: Path, batch: Batch, **env_vars: str) -> HostResult:
    bin_dir, home = tmp_path / "bin", tmp_path / "home"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(stat.S_IRWXU)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(tmp_path / "calls"), **env_vars}
    done = subprocess.run(["sh", "-c", batch.wire()], cwd=home, env=env, capture_output=True, text=True, check=False)
    parts = batch.split(done.stdout, done.stderr)
    return HostResult("h", tuple(CommandResult("h", d, code, out, err, 0.0) for d, code, out, err in parts))


def test_the_probe_runs_in_a_posix_shell(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".kamal/lock-demo").mkdir(parents=True)
    (home / ".kamal/lock-demo/details").write_text(
        "TG9ja2VkIGJ5OiBBIGF0IDIwMjYtMDEtMDFUMDA6MDA6MDBaClZlcnNpb246IDEKTWVzc2FnZTogaGk=\n"
    )
    (home / ".kamal/demo-audit.log").write_text(
        "".join(f"[2026-01-01T00:00:{i:02d}Z] [me] line {i}\n" for i in range(60))
    )
    probe = Probe(deployment())
    result = run_locally(tmp_path, probe.batch())
    assert [c.exit_code for c in result.commands] == [0] * len(SECTIONS), result.commands
    snap = snapshot(probe.output(result))
    assert snap.problems == () and snap.docker_version == "27.3.1"
    # one listing and one inspect of every container; another service's container is not ours
    assert [c.id for c in snap.containers] == ["aaa111", "bbb222", "ccc333"]
    assert snap.images[0].tag == "latest"
    assert snap.lock is not None and (snap.lock.locked_by, snap.lock.message) == ("A", "hi")
    assert snap.lock.directory_time is not None
    assert [e.message for e in snap.audit] == [f"line {i}" for i in range(10, 60)]  # tail -n 50
    calls = (tmp_path / "calls").read_text().splitlines()
    assert sum(1 for c in calls if c.startswith("container inspect")) == 1
    assert sum(1 for c in calls if c.startswith("container ls")) == 1
    assert len(calls) == 4  # version, container ls, container inspect, image ls


def test_an_empty_host_gives_empty_sections(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    d = Deployment("other", None, "r/other", ("h",), "h", ())
    probe = Probe(d)
    result = run_locally(tmp_path, probe.batch(), EMPTY="1")
    assert [c.exit_code for c in result.commands] == [0] * len(SECTIONS)
    snap = snapshot(probe.output(result))
    assert snap.problems == () and snap.containers == () and snap.lock is None and snap.audit == ()
    calls = (tmp_path / "calls").read_text()
    assert "container inspect" not in calls  # nothing to inspect: docker is not asked
