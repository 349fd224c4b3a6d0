"""Plans of the mutating operations, from a temporary project: no fleet, nothing connects."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from kamal_nb.engine.plan import Plan
from kamal_nb.ops import catalog
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from kamal_nb.ops.steps import Cmd, GuardedBatch, proxy_version_error, round_trip

SECRET = "s3cret-value-for-plans"
PASSWORD = "registry-password-for-plans"
WEB, WEB2, JOBS = "10.99.0.11", "10.99.0.12", "10.99.0.13"


def project(tmp_path: Path, **overrides: object) -> Path:
    config: dict[str, object] = {
        "service": "demo",
        "image": "demo",
        "servers": {"web": [WEB, WEB2], "jobs": {"hosts": [JOBS], "cmd": "/bin/sh /jobs.sh"}},
        "registry": {"server": "10.99.0.1:5000", "username": "u", "password": ["KAMAL_REGISTRY_PASSWORD"]},
        "env": {"clear": {"APP_ENV": "production"}, "secret": ["DEMO_SECRET"]},
        "builder": {"arch": "amd64"},
        "proxy": {"app_port": 3000},
        **overrides,
    }
    (tmp_path / "config").mkdir()
    (tmp_path / ".kamal").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(config))
    (tmp_path / ".kamal" / "secrets").write_text(f"KAMAL_REGISTRY_PASSWORD={PASSWORD}\nDEMO_SECRET={SECRET}\n")
    return tmp_path


def plan(root: Path, path: tuple[str, ...], args: dict[str, object] | None = None, **options: object) -> Plan:
    session = Session(root=root)
    result = catalog.perform(session.context(GlobalOptions(**options)), path, args or {})  # type: ignore[arg-type]
    assert isinstance(result, Plan)
    return result


def commands(p: Plan, host: str) -> list[str]:
    return [s.text.split("    # ")[0] for s in p.for_host(host)]


def test_every_mutating_operation_plans_without_running(tmp_path: Path) -> None:
    root = project(tmp_path)
    cases: list[tuple[tuple[str, ...], dict[str, object]]] = [
        (("deploy",), {"skip_push": True}),
        (("redeploy",), {"skip_push": True}),
        (("rollback",), {"version": "v1"}),
        (("setup",), {"skip_push": True}),
        (("app", "boot"), {}),
        (("app", "stale_containers"), {"stop": True}),
        (("prune", "all"), {}),
        (("prune", "containers"), {"retain": 2}),
        (("proxy", "boot"), {}),
        (("env", "push"), {}),
        (("build", "push"), {}),
        (("build", "pull"), {}),
        (("build", "deliver"), {}),
    ]
    for path, args in cases:
        p = plan(root, path, args, version="v2")
        text = str(p) + repr(p) + p.df.to_string()
        assert SECRET not in text and PASSWORD not in text, path
        assert "nothing was run" in text


def test_redeploy_plan_follows_kamals_order_host_by_host(tmp_path: Path) -> None:
    p = plan(project(tmp_path), ("redeploy",), {"skip_push": True}, version="v2")
    web = commands(p, WEB)
    order = [
        'docker login 10.99.0.1:5000 -u "u" -p [REDACTED]',
        "docker pull 10.99.0.1:5000/demo:v2",
        "mkdir .kamal/lock-demo",
        "docker container ls --all --filter 'name=^demo-web-v2$' --quiet",
        "upload .kamal/apps/demo/env/roles/web.env",
        "docker run --detach --restart unless-stopped --name demo-web-v2",
        "docker exec kamal-proxy kamal-proxy deploy demo-web --target=",
        "docker tag 10.99.0.1:5000/demo:v2 10.99.0.1:5000/demo:latest",
        "rm .kamal/lock-demo/details && rm -r .kamal/lock-demo",
    ]
    positions = [next(i for i, c in enumerate(web) if c.startswith(prefix)) for prefix in order]
    assert positions == sorted(positions)
    assert "mode 0600" in next(c for c in web if c.startswith("upload"))
    jobs = commands(p, JOBS)
    assert any(c.startswith("docker run") and c.endswith("/bin/sh /jobs.sh") for c in jobs)
    assert not any("kamal-proxy deploy" in c for c in jobs)
    assert not any("lock-demo" in c for c in jobs), "the lock lives on the primary host only"
    notes = [s.note for s in p.for_host(JOBS) if s.note]
    assert "after the first healthy web container" in notes


def test_a_non_primary_role_uploads_its_env_file_before_the_barrier(tmp_path: Path) -> None:
    # its round trips overlap the primary's health check rather than follow it
    p = plan(project(tmp_path), ("redeploy",), {"skip_push": True}, version="v2")
    steps = list(p.for_host(JOBS))
    wait = next(i for i, s in enumerate(steps) if s.note == "after the first healthy web container")
    upload = next(i for i, s in enumerate(steps) if str(s.step).startswith("upload .kamal/apps/demo/env/roles/"))
    run = next(i for i, s in enumerate(steps) if str(s.step).startswith("docker run"))
    assert upload < wait < run


def test_deploy_adds_proxy_boot_and_prune_but_redeploy_does_not(tmp_path: Path) -> None:
    root = project(tmp_path)
    deploy = "\n".join(commands(plan(root, ("deploy",), {"skip_push": True}, version="v2"), JOBS))
    redeploy = "\n".join(commands(plan(root, ("redeploy",), {"skip_push": True}, version="v2"), JOBS))
    for text in (
        "docker network create kamal",
        "Pruned containers",
        "docker image prune --force --filter label=service=demo",
    ):
        assert text in deploy and text not in redeploy
    assert "tail -n +6" in deploy  # retain_containers: 5


def test_boot_limit_splits_hosts_into_groups(tmp_path: Path) -> None:
    p = plan(project(tmp_path, boot={"limit": 1, "wait": 2}), ("app", "boot"), version="v2")
    assert any("boot groups of 1 hosts" in note for note in p.notes)
    assert any("sleep 2s" in note for note in p.notes)


def test_prune_refuses_a_retain_below_one_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="retain must be at least 1"):
        plan(project(tmp_path), ("prune", "containers"), {"retain": 0})


def test_rollback_needs_a_version(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="VERSION"):
        plan(project(tmp_path), ("rollback",), {})


def test_multi_arch_and_hybrid_builds_are_planned_per_engine(tmp_path: Path) -> None:
    (tmp_path / "multi").mkdir()
    (tmp_path / "remote").mkdir()
    root = project(tmp_path / "multi", builder={"arch": ["amd64", "arm64"]})
    shown = str(plan(root, ("build", "push"), version="v2"))
    assert "for amd64, arm64, each on an engine of that arch (local engine builds: amd64, arm64)" in shown
    assert "then a manifest list put in the registry" in shown and "refused" not in shown
    (tmp_path / "hybrid").mkdir()
    root = project(tmp_path / "hybrid", builder={"arch": ["amd64", "arm64"], "remote": "ssh://builder@10.0.0.9"})
    shown = str(plan(root, ("build", "push"), version="v2"))
    assert "local engine builds: amd64; remote engine ssh://builder@10.0.0.9 builds: arm64" in shown


def test_build_on_a_remote_builder_is_planned_on_its_engine_over_ssh(tmp_path: Path) -> None:
    root = project(tmp_path, builder={"arch": "amd64", "local": False, "remote": "ssh://builder@10.0.0.9"})
    shown = str(plan(root, ("build", "push"), version="v2"))
    assert "refused" not in shown
    assert "on ssh://builder@10.0.0.9's BuildKit over SSH (docker system dial-stdio)" in shown


def test_build_secrets_are_built_on_buildkit_and_their_values_never_planned(tmp_path: Path) -> None:
    root = project(tmp_path, builder={"arch": "amd64", "secrets": ["DEMO_SECRET"]})
    shown = str(plan(root, ("build", "push"), version="v2"))
    assert "refused" not in shown
    assert "built on the engine's BuildKit, its session serving builder.secrets," in shown
    assert '--secret id="DEMO_SECRET"' in shown
    assert SECRET not in shown


def test_guarded_batch_stops_at_a_failing_strict_command() -> None:
    step = round_trip([Cmd("false"), Cmd("echo after", strict=False)])
    assert isinstance(step, GuardedBatch)
    wire = step.wire()
    assert "[ $__rc -eq 0 ] || exit $__rc" in wire.split("; ( echo after )")[0]
    assert round_trip([Cmd("docker ps")]) == "docker ps"
    done = subprocess.run(["sh", "-c", wire], capture_output=True, text=True, check=False)
    assert [code for _, code, _, _ in step.split(done.stdout, done.stderr)] == [1]
    tolerant = round_trip([Cmd("false", strict=False), Cmd("echo after")])
    assert isinstance(tolerant, GuardedBatch)
    done = subprocess.run(["sh", "-c", tolerant.wire()], capture_output=True, text=True, check=False)
    assert [(code, out) for _, code, out, _ in tolerant.split(done.stdout, done.stderr)] == [(1, ""), (0, "after\n")]


def test_proxy_version_check() -> None:
    assert proxy_version_error("v0.8.9") is not None
    assert proxy_version_error("v0.9.2") is None and proxy_version_error("v0.10.0") is None
    assert proxy_version_error("") is None
