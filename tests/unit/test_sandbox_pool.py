"""FleetRunner over the sandbox fleet: Kamal's own commands (built by kamal_nb.commands) through bash
and the docker shim on 3 local-directory hosts, uploads with modes, unreachable hosts, and the
read-only operations and the deploy lock through an ops Session."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from kamal_nb.commands import App, Builder, Docker, Proxy, Registry, Server, container_hostname
from kamal_nb.config import Config, load_config
from kamal_nb.engine.result import OperationResult
from kamal_nb.fleet import Batch, EventStream, FleetRunner, Output, Step, Upload
from kamal_nb.ops.catalog import perform
from kamal_nb.ops.lock.deploy_lock import LockError
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from kamal_nb.sandbox.backend import backend_from_env, sandbox_backend
from kamal_nb.sandbox.docker_emulator import execute
from kamal_nb.sandbox.fleet import SandboxInfo, create_sandbox, set_host_down
from kamal_nb.sandbox.pool import SandboxPool

WEB1, WEB2, JOBS = "10.200.0.11", "10.200.0.12", "10.200.0.13"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> SandboxInfo:
    return create_sandbox(tmp_path_factory.mktemp("sandbox") / "sbx", hosts=3)


@pytest.fixture
def sandbox(pristine: SandboxInfo, tmp_path: Path) -> SandboxInfo:
    """A fresh copy of the module's sandbox (creating one runs git: do it once)."""
    import shutil

    root = tmp_path / "sbx"
    shutil.copytree(pristine.root, root, symlinks=True)
    for meta in root.glob("hosts/*/.sandbox/host.json"):
        meta.write_text(meta.read_text().replace(str(pristine.root), str(root)))
    local = root / "local/.sandbox/host.json"
    local.write_text(local.read_text().replace(str(pristine.root), str(root)))
    return SandboxInfo(
        root, pristine.hosts, pristine.registry, pristine.registry_user, pristine.registry_password, root / "project"
    )


@pytest.fixture
def config(sandbox: SandboxInfo) -> Config:
    return load_config("config/deploy.yml", root=sandbox.project, version="v1", env={})


@pytest.fixture
def runner(sandbox: SandboxInfo) -> Iterator[FleetRunner]:
    with FleetRunner(events=EventStream(), pool=SandboxPool(sandbox.root)) as runner:
        yield runner


def docker_on(sandbox: SandboxInfo, host: str, command: str) -> str:
    import shlex

    code, out, err = execute(shlex.split(command), sandbox.root / "hosts" / host, sandbox.root)
    assert code == 0, err
    return out


@pytest.mark.slow
def test_kamal_commands_across_three_hosts(sandbox: SandboxInfo, config: Config, runner: FleetRunner) -> None:
    hosts = [WEB1, WEB2, JOBS]
    login = Registry(config).login()
    assert login is not None
    setup = runner.run_all(hosts, Server(config).ensure_run_directory(), login, Docker(config).create_network())
    assert setup.ok, setup.failed
    assert "Login Succeeded" in setup[WEB1].commands[1].stdout
    proxy = runner.run({h: [Proxy(config, host=h).run()] for h in (WEB1, WEB2)})
    assert proxy.ok, proxy.failed

    def boot(version: str) -> None:
        cfg = load_config("config/deploy.yml", root=sandbox.project, version=version, env={})
        plan: dict[str, list[Step]] = {}
        for host in hosts:
            role = "jobs" if host == JOBS else "web"
            app = App(cfg, role=role, host=host)
            plan[host] = [
                Builder(cfg).local.pull(),
                Builder(cfg).local.validate_image(),
                app.tag_latest_image(),
                app.ensure_env_directory(),
                Upload(app.secrets_path, b"DEMO_SECRET=demo\n", 0o600),
                app.run(hostname=container_hostname(host, "0123456789ab")),
            ]
        result = runner.run(plan)
        assert result.ok, {h: r.failure for h, r in result.failed.items()}

    boot("v1")
    app = App(config, role="web", host=WEB1)
    versions = runner.run_all([WEB1, WEB2], app.current_running_version())
    assert {h: r.stdout for h, r in versions.items()} == {WEB1: "v1\n", WEB2: "v1\n"}
    jobs = runner.run({JOBS: [App(config, role="jobs", host=JOBS).current_running_version()]})
    assert jobs[JOBS].stdout == "v1\n"

    # the next version: rename the old container if the name is taken, then stop the old one
    v2 = load_config("config/deploy.yml", root=sandbox.project, version="v2", env={})
    boot("v2")
    web = {h: App(v2, role="web", host=h) for h in (WEB1, WEB2)}
    assert runner.run_all([WEB1, WEB2], web[WEB1].current_running_version())[WEB2].stdout == "v2\n"
    stop_old = runner.run({h: [App(config, role="web", host=h).stop(version="v1")] for h in (WEB1, WEB2)})
    assert stop_old.ok
    renamed = runner.run(
        {
            WEB1: [
                App(config, role="web", host=WEB1).rename_container(
                    version="v2", new_version="v2_replaced_0123456789abcdef"
                )
            ]
        }
    )
    assert renamed.ok
    listed = runner.run({WEB1: [App(v2, role="web", host=WEB1).list_versions()]})
    assert listed[WEB1].stdout == "v2_replaced_0123456789abcdef\n"  # running, under its new name
    names = docker_on(sandbox, WEB1, "ps -a --filter label=role=web --format '{{.Names}} {{.State}}'")
    assert names == "demo-web-v2_replaced_0123456789abcdef running\ndemo-web-v1 exited\n"

    # prune stopped containers of the web role on both hosts, then unused images
    pruned = runner.run_all([WEB1, WEB2], App(v2, role="web", host=WEB1).remove_containers())
    assert pruned.ok and "Deleted Containers:" in pruned[WEB2].stdout
    assert docker_on(sandbox, WEB2, "ps -a --format '{{.Names}}'") == "demo-web-v2\nkamal-proxy\n"
    assert (
        docker_on(sandbox, JOBS, "ps -a --format '{{.Names}} {{.State}}'")
        == "demo-jobs-v2 running\ndemo-jobs-v1 running\n"
    )
    stop_jobs = runner.run({JOBS: [App(config, role="jobs", host=JOBS).stop(version="v1")]})
    assert stop_jobs.ok
    assert docker_on(sandbox, JOBS, "ps --format '{{.Names}}'") == "demo-jobs-v2\n"
    images = runner.run({JOBS: [App(v2, role="jobs", host=JOBS).remove_containers(), App(v2).remove_images()]})
    assert images.ok
    tags = docker_on(sandbox, JOBS, "image ls --format '{{.Repository}}:{{.Tag}}'")
    assert tags == "10.200.0.1:5000/demo:latest\n10.200.0.1:5000/demo:v2\n"


def test_proxy_deploy_through_the_runner(sandbox: SandboxInfo, config: Config, runner: FleetRunner) -> None:
    login = Registry(config).login()
    assert login is not None
    app = App(config, role="web", host=WEB1)
    steps: list[Step] = [
        login,
        Docker(config).create_network(),
        Proxy(config, host=WEB1).run(),
        Builder(config).local.pull(),
        app.tag_latest_image(),
        app.ensure_env_directory(),
        Upload(app.secrets_path, b"", 0o600),
        app.run(),
    ]
    assert runner.run({WEB1: steps}).ok
    target = runner.run({WEB1: [app.container_id_for_version("v1", only_running=True)]})[WEB1].stdout.strip()
    deployed = runner.run({WEB1: [app.deploy(target=target), "docker exec kamal-proxy kamal-proxy list"]})
    assert deployed.ok, deployed.failed
    assert f"{target}:3000" in deployed[WEB1].stdout
    assert runner.run({WEB1: [app.maintenance(message="Back soon")]}).ok
    assert "stopped" in docker_on(sandbox, WEB1, "exec kamal-proxy kamal-proxy list")
    assert runner.run({WEB1: [app.live()]}).ok
    health = runner.run({WEB1: [app.status(version="v1")]})
    assert health[WEB1].stdout == "running\n"


def test_uploads_keep_their_modes(sandbox: SandboxInfo, runner: FleetRunner) -> None:
    result = runner.run(
        {
            WEB1: [
                "mkdir -p .kamal/apps/demo/env/roles",
                Upload(".kamal/apps/demo/env/roles/web.env", b"SECRET=1\n", 0o600),
                Upload(".kamal/apps/demo/env/roles/web.env", b"SECRET=2\n", 0o640),
                Upload("hook.sh", b"echo hi\n", 0o755),
                "stat -c %a .kamal/apps/demo/env/roles/web.env hook.sh; cat .kamal/apps/demo/env/roles/web.env; pwd; echo $HOME",
            ]
        }
    )
    assert result.ok, result.failed
    host_dir = sandbox.root / "hosts" / WEB1
    assert result[WEB1].stdout == f"640\n755\nSECRET=2\n{host_dir}\n{host_dir}\n"
    assert stat.S_IMODE((host_dir / "hook.sh").stat().st_mode) == 0o755
    missing = runner.run({WEB2: [Upload("no/such/dir/file", b"x", 0o600)]})
    assert missing[WEB2].commands[0].exit_code == 1 and "No such file or directory" in missing[WEB2].commands[0].stderr
    outside = runner.run({WEB2: [Upload("../10.200.0.11/hook.sh", b"x", 0o600)]})
    assert outside[WEB2].commands[0].exit_code == 1 and "outside the sandbox host" in outside[WEB2].commands[0].stderr


def test_batches_output_events_and_failures(sandbox: SandboxInfo) -> None:
    events = EventStream()
    lines: list[Output] = []
    events.subscribe(lambda e: lines.append(e) if isinstance(e, Output) else None)
    with FleetRunner(events=events, pool=SandboxPool(sandbox.root)) as runner:
        batch = Batch(("echo one", "docker frob", "docker version --format '{{.Client.Version}}'"))
        result = runner.run({WEB1: [batch]}, stop_on_failure=False)
        codes = [(c.exit_code, c.stdout) for c in result[WEB1].commands]
        assert codes == [(0, "one\n"), (125, ""), (0, "28.2.2\n")]
        assert "unknown command: docker frob" in result[WEB1].commands[1].stderr
        assert [line for e in lines if e.stream == "stdout" for line in e.lines] == ["one", "28.2.2"]
        set_host_down(sandbox.root, WEB2)
        down = runner.run_all([WEB1, WEB2, "10.9.9.9"], "true")
        assert down[WEB1].ok
        assert "connection refused" in str(down[WEB2].error)
        assert "no such host in the sandbox fleet" in str(down["10.9.9.9"].error)
        set_host_down(sandbox.root, WEB2, down=False)
        assert runner.run_all([WEB2], "true")[WEB2].ok


def test_the_views_choose_the_backend_from_the_environment(
    sandbox: SandboxInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAMAL_NB_BACKEND", "sandbox")
    monkeypatch.setenv("KAMAL_NB_SANDBOX_DIR", str(sandbox.root))
    session = Session(root=sandbox.project, env={}, backend=backend_from_env())
    ctx = session.context(GlobalOptions())
    assert isinstance(ctx.runner.pool, SandboxPool) and ctx.runner.pool.layout.root == sandbox.root
    monkeypatch.delenv("KAMAL_NB_SANDBOX_DIR")
    with pytest.raises(ValueError, match="KAMAL_NB_SANDBOX_DIR"):
        backend_from_env()
    monkeypatch.setenv("KAMAL_NB_BACKEND", "docker")
    with pytest.raises(ValueError, match="ssh or sandbox"):
        backend_from_env()
    monkeypatch.delenv("KAMAL_NB_BACKEND")
    assert backend_from_env() is None
    # a session is never steered by the environment itself: without a backend it connects over SSH
    monkeypatch.setenv("KAMAL_NB_BACKEND", "sandbox")
    monkeypatch.setenv("KAMAL_NB_SANDBOX_DIR", str(sandbox.root))
    assert not isinstance(Session(root=sandbox.project, env={}).context(GlobalOptions()).runner.pool, SandboxPool)


@pytest.mark.slow
def test_read_only_operations_and_the_lock(sandbox: SandboxInfo, config: Config) -> None:
    session = Session(root=sandbox.project, env={}, backend=sandbox_backend(sandbox.root))
    ctx = session.context(GlobalOptions(version="v1"))
    login = Registry(config).login()
    assert login is not None
    booted = ctx.runner.run(
        {
            h: [
                login,
                Docker(config).create_network(),
                Builder(config).local.pull(),
                App(config, role="jobs" if h == JOBS else "web", host=h).ensure_env_directory(),
                Upload(App(config, role="jobs" if h == JOBS else "web", host=h).secrets_path, b"", 0o600),
                App(config, role="jobs" if h == JOBS else "web", host=h).run(),
            ]
            for h in (WEB1, WEB2, JOBS)
        }
    )
    assert booted.ok, booted.failed

    details = perform(ctx, ("details",), {})
    assert isinstance(details, OperationResult) and details.hosts.ok
    assert "demo-web-v1" in details.hosts[WEB1].commands[0].stdout or any(
        "demo-web-v1" in c.stdout for c in details.hosts[WEB1].commands
    )
    version = perform(session.context(GlobalOptions()), ("app", "version"), {})
    assert isinstance(version, OperationResult)
    assert {h: r.stdout for h, r in version.hosts.items()} == {WEB1: "v1\n", WEB2: "v1\n", JOBS: "v1\n"}

    status = perform(session.context(GlobalOptions()), ("lock", "status"), {})
    assert isinstance(status, OperationResult) and "There is no deploy lock" in str(status)
    acquired = perform(session.context(GlobalOptions()), ("lock", "acquire"), {"message": "maintenance"}, yes=True)
    assert isinstance(acquired, OperationResult)
    assert (sandbox.root / "hosts" / WEB1 / ".kamal/lock-demo/details").is_file()
    held = perform(session.context(GlobalOptions()), ("lock", "status"), {})
    assert "Locked by: Test Operator at " in str(held) and "Message: maintenance" in str(held)
    with pytest.raises(LockError, match="Deploy lock found"):
        perform(session.context(GlobalOptions()), ("lock", "acquire"), {"message": "again"}, yes=True)
    perform(session.context(GlobalOptions()), ("lock", "release"), {}, yes=True)
    assert not (sandbox.root / "hosts" / WEB1 / ".kamal/lock-demo").exists()
    session.close()


def test_state_gathering_on_the_sandbox(sandbox: SandboxInfo, config: Config) -> None:
    fleet_state = pytest.importorskip("kamal_nb.state.fleet_state")
    session = Session(root=sandbox.project, env={}, backend=sandbox_backend(sandbox.root))
    ctx = session.context(GlobalOptions(version="v1"))
    login = Registry(config).login()
    assert login is not None
    app = App(config, role="web", host=WEB1)
    assert ctx.runner.run(
        {
            WEB1: [
                login,
                Docker(config).create_network(),
                app.ensure_env_directory(),
                Upload(app.secrets_path, b"", 0o600),
                app.run(),
            ]
        }
    ).ok
    state = fleet_state.gather(ctx)
    snapshots = {s.host: s for s in state.snapshots}
    assert snapshots[WEB1].error is None and not snapshots[WEB1].problems, snapshots[WEB1]
    assert [c.name for c in snapshots[WEB1].containers] == ["demo-web-v1"]
    assert snapshots[WEB1].docker_version == "28.2.2-sandbox"
    assert [(i.repository, i.tag) for i in snapshots[WEB1].images] == [("10.200.0.1:5000/demo", "v1")]
    assert snapshots[WEB2].containers == ()
    session.close()


@pytest.mark.slow
def test_build_and_push_then_deploy_rollback_on_the_sandbox(sandbox: SandboxInfo) -> None:
    """The demo's whole story runs on the sandbox: build v3 into its registry, deploy, roll back."""
    pytest.importorskip("kamal_nb.ops.main.deploy")
    from kamal_nb.ops.catalog import perform as run_operation
    from kamal_nb.sandbox.build import build_and_push

    dockerfile = (sandbox.project / "Dockerfile").read_text()
    built = build_and_push(
        sandbox.root,
        dockerfile,
        tags=[f"{sandbox.registry}/demo:v3", f"{sandbox.registry}/demo:latest"],
        labels={"service": "demo"},
        build_args={"VERSION": "v3"},
        username=sandbox.registry_user,
        password=sandbox.registry_password,
    )
    assert built.ok, built.output
    bad = build_and_push(sandbox.root, dockerfile, tags=[f"{sandbox.registry}/demo:v4"], username="x", password="y")
    assert not bad.ok and "401 Unauthorized" in bad.output

    session = Session(root=sandbox.project, env={}, backend=sandbox_backend(sandbox.root))
    for version in ("v1", "v3"):
        deployed = run_operation(
            session.context(GlobalOptions(version=version)), ("deploy",), {"skip_push": True}, yes=True
        )
        assert isinstance(deployed, OperationResult) and deployed.hosts.ok, str(deployed)
    assert docker_on(sandbox, WEB1, "exec kamal-proxy kamal-proxy list").splitlines()[1].split()[4] == "running"
    web = docker_on(sandbox, WEB1, "ps --filter label=role=web --format '{{.Names}}'")
    assert web == "demo-web-v3\n"
    assert docker_on(sandbox, WEB2, "exec demo-web-v3 cat /www/version") == "v3\n"
    rolled = run_operation(session.context(GlobalOptions()), ("rollback",), {"version": "v1"}, yes=True)
    assert isinstance(rolled, OperationResult) and rolled.hosts.ok, str(rolled)
    current = run_operation(session.context(GlobalOptions()), ("app", "version"), {})
    assert isinstance(current, OperationResult)
    assert {h: r.stdout for h, r in current.hosts.items()} == {WEB1: "v1\n", WEB2: "v1\n", JOBS: "v1\n"}
    session.close()
