"""Plans and runs of the lifecycle operations (accessories, proxy, app, registry, remove, server
bootstrap) against a scripted runner: what is sent, in which order, what stops what, and that no
secret shows and nothing runs after a validation error."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import yaml

from kamal_nb.engine.errors import Refused
from kamal_nb.engine.plan import Plan
from kamal_nb.engine.result import OperationResult
from kamal_nb.fleet import Batch, CommandResult, GroupResult, HostResult, SshSettings, Step, Upload
from kamal_nb.ops import catalog
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Context, Session
from kamal_nb.ops.steps import Tolerated

H1, H2, H3 = "10.0.0.1", "10.0.0.2", "10.0.0.3"
REGISTRY_PASSWORD = "registry-pw-31f2"
DB_PASSWORD = "db-pw-88aa10"
APP_SECRET = "app-secret-5e5e"


class ScriptedRunner:
    """Answers each command by the first matching rule (regex on the wire text → exit, stdout, stderr)."""

    def __init__(self, rules: Sequence[tuple[str, str, int, str, str]] = ()) -> None:
        self.settings = SshSettings()
        self.rules = list(rules)  # (host regex, command regex, exit, stdout, stderr)
        self.sent: list[tuple[str, str]] = []  # (host, display), every command and upload
        self.round_trips: dict[str, int] = {}
        self.uploads: dict[tuple[str, str], Upload] = {}
        self._lock = threading.Lock()

    def _answer(self, host: str, wire: str) -> tuple[int, str, str]:
        for host_pattern, pattern, code, out, err in self.rules:
            if re.search(host_pattern, host) and re.search(pattern, wire):
                return code, out, err
        return 0, "", ""

    def run(
        self, plan: Mapping[str, Sequence[Step]], *, stop_on_failure: bool = True, tolerated: bool = False
    ) -> GroupResult:
        results = {}
        for host, steps in plan.items():
            done: list[CommandResult] = []
            for step in steps:
                with self._lock:
                    self.round_trips[host] = self.round_trips.get(host, 0) + 1
                if isinstance(step, Upload):
                    with self._lock:
                        self.sent.append((host, str(step)))
                        self.uploads[(host, step.path)] = step
                    done.append(CommandResult(host, str(step), 0, "", "", 0.0))
                    continue
                commands = step.commands if isinstance(step, Batch) else (step,)
                strict = getattr(step, "strict", ())
                for index, command in enumerate(commands):
                    wire = command if isinstance(command, str) else command.wire()
                    with self._lock:
                        self.sent.append((host, str(command)))
                    code, out, err = self._answer(host, wire)
                    done.append(CommandResult(host, str(command), code, out, err, 0.0))
                    if code and (not isinstance(step, Batch) or (index < len(strict) and strict[index])):
                        break
                if stop_on_failure and done and not done[-1].ok:
                    break
            results[host] = HostResult(host, tuple(done))
        return GroupResult(results)

    def commands(self, host: str) -> list[str]:
        return [text for h, text in self.sent if h == host]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / ".kamal").mkdir()
    config = {
        "service": "demo",
        "image": "demo",
        "servers": {"web": [H1, H2], "jobs": {"hosts": [H3], "cmd": "/bin/sh /jobs.sh"}},
        "registry": {"server": "10.0.0.250:5000", "username": "u", "password": ["KAMAL_REGISTRY_PASSWORD"]},
        "env": {"secret": ["DEMO_SECRET"]},
        "builder": {"arch": "amd64"},
        "proxy": {"app_port": 3000},
        "accessories": {
            "db": {
                "image": "10.0.0.250:5000/base/busybox:latest",
                "host": H3,
                "env": {"clear": {"DB_NAME": "demo"}, "secret": ["DB_PASSWORD"]},
                "files": ["config/db.conf.erb:/etc/db.conf"],
                "directories": [{"local": "data", "remote": "/data", "mode": "0700", "owner": "999"}],
            },
            "cache": {
                "image": "10.0.0.250:5000/base/busybox:latest",
                "host": H1,
                "proxy": {"host": "cache.example.test", "app_port": 80},
            },
        },
    }
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "config" / "db.conf.erb").write_text("pw=<%= ENV['DB_PASSWORD'] %> db=<%= ENV['DB_NAME'] %>\n")
    (tmp_path / ".kamal" / "secrets").write_text(
        f"KAMAL_REGISTRY_PASSWORD={REGISTRY_PASSWORD}\nDEMO_SECRET={APP_SECRET}\nDB_PASSWORD={DB_PASSWORD}\n"
    )
    return tmp_path


def context(project: Path, runner: ScriptedRunner, **options: object) -> Context:
    session = Session(root=project, env={"PATH": "/usr/bin:/bin"})
    ctx = session.context(GlobalOptions(version="v1", **options))  # type: ignore[arg-type]
    ctx.__dict__["runner"] = runner
    return ctx


def run(ctx: Context, path: tuple[str, ...], args: dict[str, object] | None = None) -> OperationResult:
    result = catalog.perform(ctx, path, args or {}, yes=True)
    assert isinstance(result, OperationResult)
    return result


def no_secret_in(*texts: str) -> None:
    for text in texts:
        for secret in (REGISTRY_PASSWORD, DB_PASSWORD, APP_SECRET):
            assert secret not in text


def test_plans_list_every_command_host_by_host_without_secrets_or_connections(project: Path) -> None:
    runner = ScriptedRunner()
    ctx = context(project, runner)
    plan = catalog.perform(ctx, ("accessory", "boot"), {"name": "db"})
    assert isinstance(plan, Plan)
    assert [s.text.split("    #")[0] for s in plan.for_host(H3)][:9] == [
        'docker login 10.0.0.250:5000 -u "u" -p [REDACTED]',
        "docker network create kamal",
        "docker ps -a -q --filter label=service=demo-db",
        "mkdir -p $PWD/demo-db/data",
        "chmod 0700 $PWD/demo-db/data",
        "chown 999 $PWD/demo-db/data",
        "mkdir -p demo-db/etc",
        "upload demo-db/etc/db.conf (24 bytes, mode 0644)",
        "chmod 755 demo-db/etc/db.conf",
    ]
    assert plan.for_host(H3)[-1].note == "unless a `db` container already exists"
    assert "nothing was run: confirm with --yes (yes=True)" in plan.notes
    no_secret_in(str(plan), repr(plan), plan.df.to_csv(), str(plan._repr_mimebundle_()))
    removal = catalog.perform(ctx, ("remove",), {})
    assert isinstance(removal, Plan)
    h1 = [s.text for s in removal.for_host(H1)]
    order = ["Stopped app", "Removed all app containers", "docker container stop kamal-proxy", "Stopped cache"]
    positions = [next(i for i, line in enumerate(h1) if key in line) for key in order]
    assert positions == sorted(positions)
    assert h1[-1] == "docker logout 10.0.0.250:5000"
    assert runner.sent == []


def test_boot_uploads_rendered_files_and_the_env_file_and_deploys_to_the_proxy(project: Path) -> None:
    runner = ScriptedRunner(
        [
            (".", "network create", 1, "", "Error response from daemon: network with name kamal already exists"),
            (H1, r"container ls --filter 'name=\^demo-cache\$' --quiet", 0, "c0ffee\n", ""),
        ]
    )
    ctx = context(project, runner)
    result = run(ctx, ("accessory", "boot"), {"name": "all"})
    assert result.ok, str(result)
    network = next(c for c in result.hosts[H3].commands if "network create" in c.command)
    assert isinstance(network, Tolerated) and network.exit_code == 1
    config_file = runner.uploads[(H3, "demo-db/etc/db.conf")]
    assert config_file.content == f"pw={DB_PASSWORD} db=demo\n".encode()
    env_file = runner.uploads[(H3, ".kamal/apps/demo/env/accessories/db.env")]
    assert (env_file.content, env_file.mode) == (f"DB_PASSWORD={DB_PASSWORD}\n".encode(), 0o600)
    deploy = runner.commands(H1)[-2]  # then the lock is released
    assert deploy.startswith('docker exec kamal-proxy kamal-proxy deploy demo-cache --target="c0ffee:80"')
    no_secret_in(str(result), repr(result), result.df.to_csv(), repr(config_file), repr(env_file))


def test_hosts_with_a_container_are_skipped_and_a_real_failure_stops_everything(project: Path) -> None:
    runner = ScriptedRunner([(H3, r"docker ps -a -q", 0, "abc123\n", "")])
    result = run(context(project, runner), ("accessory", "boot"), {"name": "db"})
    assert result.ok and result.messages == (f"Skipping booting `db` on {H3}, a container already exists",)
    assert "upload demo-db/etc/db.conf (24 bytes, mode 0644)" in runner.commands(H3)  # files go up anyway
    assert not any("docker run" in c for c in runner.commands(H3))

    runner = ScriptedRunner([(H1, "network create", 1, "", "permission denied")])
    result = run(context(project, runner), ("accessory", "boot"), {"name": "all"})  # cache (on H1) first
    assert not result.ok and "permission denied" in (result.hosts[H1].failure or "")
    assert not any("docker run" in text or "docker ps" in text for _, text in runner.sent)
    assert runner.commands(H1)[-1] == "rm .kamal/lock-demo/details && rm -r .kamal/lock-demo"  # released


def test_stop_tolerates_what_kamal_tolerates_and_batches_independent_commands(project: Path) -> None:
    runner = ScriptedRunner([(".", "docker container stop", 1, "", "No such container: kamal-proxy")])
    ctx = context(project, runner)
    before = runner.round_trips.get(H2, 0)
    result = run(ctx, ("proxy", "stop"))
    assert result.ok
    # `mkdir -p .kamal` for the lock, then the audit line and the stop together: two round trips
    assert runner.round_trips[H2] - before == 2
    assert [c.exit_code for c in result.hosts[H2].commands] == [0, 1]


def test_app_start_names_the_host_whose_container_did_not_boot(project: Path) -> None:
    runner = ScriptedRunner(
        [
            (H1, r"while read line", 0, "v1\n", ""),
            (H1, r"name=\^demo-web-v1\$", 0, "", ""),
            (H2, r"while read line", 0, "v1\n", ""),
            (H2, r"name=\^demo-web-v1\$", 0, "beef\n", ""),
        ]
    )
    result = run(context(project, runner), ("app", "start"))
    assert result.hosts[H1].failure == f"Failed to get endpoint for web on {H1}, did the container boot?"
    assert result.hosts[H2].ok and result.hosts[H3].ok
    assert not any("kamal-proxy deploy" in c for c in runner.commands(H1))
    assert any(
        c.startswith('docker exec kamal-proxy kamal-proxy deploy demo-web --target="beef:3000"')
        for c in runner.commands(H2)
    )


def test_proxy_remove_is_kept_with_apps_installed_unless_forced(project: Path) -> None:
    runner = ScriptedRunner([(".", r"ls .kamal/apps \| wc -l", 0, "1\n", "")])
    kept = run(context(project, runner), ("proxy", "remove"))
    assert kept.ok and "Not removing the proxy" in kept.messages[0]
    assert not any("prune" in c for _, c in runner.sent)
    forced = run(context(project, runner), ("proxy", "remove"), {"force": True})
    assert forced.messages == ("Forcing, so removing the proxy, even though other apps are installed",)
    assert "rm -r .kamal/proxy" in runner.commands(H2)


def test_server_bootstrap_reports_missing_docker_and_installs_nothing(project: Path) -> None:
    runner = ScriptedRunner([(H2, r"^docker -v$", 127, "", "sh: docker: not found")])
    result = run(context(project, runner), ("server", "bootstrap"))
    assert not result.ok
    assert result.hosts[H2].failure == f"Docker is not installed on {H2}"
    assert result.messages[0].startswith(f"Docker is not installed on {H2}: kamal_nb does not install it")
    assert not any("get.docker.com" in c or "usermod" in c for _, c in runner.sent)
    assert runner.commands(H1)[-1] == "rm .kamal/lock-demo/details && rm -r .kamal/lock-demo"


def test_validation_errors_run_nothing(project: Path) -> None:
    runner = ScriptedRunner()
    ctx = context(project, runner)
    with pytest.raises(Refused, match=r"No accessory by the name of 'nope' \(options: cache and db\)"):
        run(ctx, ("accessory", "reboot"), {"name": "nope"})
    with pytest.raises(Refused, match="Detach is not compatible with interactive"):  # checked first, as Kamal
        run(ctx, ("app", "exec"), {"cmd": "ls", "raw": True, "interactive": True, "detach": True})
    with pytest.raises(Refused, match="Raw is not compatible with interactive"):
        run(ctx, ("app", "exec"), {"cmd": "ls", "raw": True, "interactive": True})
    (project / "config" / "db.conf.erb").unlink()
    with pytest.raises(Refused, match=r"Missing file: .*db\.conf\.erb"):
        run(ctx, ("accessory", "boot"), {"name": "all"})
    assert runner.sent == []


def test_app_exec_new_container_uses_latest_without_a_version(project: Path) -> None:
    runner = ScriptedRunner()
    session = Session(root=project, env={"PATH": "/usr/bin:/bin"}, random_hex=lambda n: "ab" * n)
    ctx = session.context(GlobalOptions())
    ctx.__dict__["runner"] = runner
    result = run(ctx, ("app", "exec"), {"cmd": "bin/migrate", "env": {"STEP": "1"}})
    assert result.ok
    assert any(
        c.startswith("docker run --rm --name demo-web-exec-latest-ababab --network kamal")
        and c.endswith('--env STEP="1" --log-opt max-size="10m" 10.0.0.250:5000/demo:latest bin/migrate')
        for c in runner.commands(H1)
    ), runner.commands(H1)
    assert "Executed cmd 'bin/migrate' on app version latest" in runner.commands(H3)[-2]
