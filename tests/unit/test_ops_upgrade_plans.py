"""proxy boot_config, the hidden app/proxy removes and the 1.x -> 2.0 upgrade (proxy upgrade,
accessory upgrade, upgrade), planned and run against a scripted runner.

The project is Kamal's own CLI test fixture (test/fixtures/deploy_with_accessories.yml with
deploy_with_proxy.yml's readiness_delay and deploy_timeout), and the expected host commands are the
strings Kamal 2.12's CLI tests assert (test/cli/proxy_test.rb, app_test.rb, accessory_test.rb,
main_test.rb), with SSHKit's ``/usr/bin/env`` prefix left out as kamal_nb's builders leave it out.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import yaml

from kamal_nb.engine.errors import Refused
from kamal_nb.engine.plan import Plan
from kamal_nb.engine.result import OperationResult
from kamal_nb.fleet import Batch, GroupResult, Step, Upload
from kamal_nb.ops import catalog
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Context, Session
from tests.unit.test_ops_lifecycle_plans import ScriptedRunner

H1, H2, H3, H4 = "1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"
DEPRECATED = "The proxy boot_config command is deprecated - set the config in the deploy YAML at proxy/run instead"
LOCK_TAKE = re.compile(r"^mkdir \.kamal/lock-app && ")
LOCK_RELEASE = "rm .kamal/lock-app/details && rm -r .kamal/lock-app"
BOOT_CONFIG_ECHO = (
    'echo $(cat .kamal/proxy/options 2> /dev/null || echo "--publish 80:80 --publish 443:443 --log-opt '
    'max-size=10m") $(cat .kamal/proxy/image 2> /dev/null || echo "basecamp/kamal-proxy"):$(cat '
    '.kamal/proxy/image_version 2> /dev/null || echo "v0.9.2") $(cat .kamal/proxy/run_command 2> /dev/null '
    '|| echo "")'
)


class TripRunner(ScriptedRunner):
    """The scripted runner, remembering each round trip's commands (host, [command text])."""

    def __init__(self, rules: Sequence[tuple[str, str, int, str, str]] = ()) -> None:
        super().__init__(rules)
        self.trips: list[tuple[str, list[str]]] = []

    def run(
        self, plan: Mapping[str, Sequence[Step]], *, stop_on_failure: bool = True, tolerated: bool = False
    ) -> GroupResult:
        for host, steps in plan.items():
            for step in steps:
                commands = step.commands if isinstance(step, Batch) else (step,)
                with self._lock:
                    self.trips.append((host, [str(c) for c in commands]))
        return super().run(plan, stop_on_failure=stop_on_failure)

    def trip_with(self, host: str, text: str) -> list[str]:
        return next(commands for h, commands in self.trips if h == host and any(text in c for c in commands))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    config = {
        "service": "app",
        "image": "dhh/app",
        "servers": {"web": [H1, H2], "workers": [H3, H4]},
        "registry": {"username": "user", "password": "pw"},
        "builder": {"arch": "amd64"},
        "accessories": {
            "mysql": {
                "image": "mysql:5.7",
                "host": H3,
                "port": 3306,
                "env": {"clear": {"MYSQL_ROOT_HOST": "%"}, "secret": ["MYSQL_ROOT_PASSWORD"]},
                "files": ["test/fixtures/files/my.cnf:/etc/mysql/my.cnf"],
                "directories": ["data:/var/lib/mysql"],
            },
            "redis": {"image": "redis:latest", "roles": ["web"], "port": 6379, "directories": ["data:/data"]},
        },
        "readiness_delay": 0,
        "deploy_timeout": 6,
    }
    (tmp_path / "config").mkdir()
    (tmp_path / ".kamal").mkdir()
    (tmp_path / "test" / "fixtures" / "files").mkdir(parents=True)
    (tmp_path / "test" / "fixtures" / "files" / "my.cnf").write_text("[mysqld]\n")
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(config))
    (tmp_path / ".kamal" / "secrets").write_text("MYSQL_ROOT_PASSWORD=secret123\n")
    # no --version: the version (in lock details) is the git commit, as in Kamal
    git = ["git", "-C", str(tmp_path), "-c", "user.name=Test", "-c", "user.email=test@example.test"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "app"], check=True)
    return tmp_path


def context(project: Path, runner: ScriptedRunner, **options: object) -> Context:
    session = Session(root=project, env={"PATH": "/usr/bin:/bin"})
    ctx = session.context(GlobalOptions(**options))  # type: ignore[arg-type]
    ctx.__dict__["runner"] = runner
    return ctx


def run(ctx: Context, path: tuple[str, ...], args: dict[str, object] | None = None) -> OperationResult:
    result = catalog.perform(ctx, path, args or {}, yes=True)
    assert isinstance(result, OperationResult)
    return result


def plan(ctx: Context, path: tuple[str, ...], args: dict[str, object] | None = None) -> Plan:
    result = catalog.perform(ctx, path, args or {})
    assert isinstance(result, Plan)
    return result


def shown(p: Plan, host: str) -> list[str]:
    """Each planned step of a host: the command, or `upload PATH: CONTENT`."""
    lines = []
    for s in p.for_host(host):
        if isinstance(s.step, Upload):
            lines.append(f"upload {s.step.path}: {s.step.content.decode()}")
        else:
            lines.append(s.text.split("    # ")[0])
    return lines


def in_order(sent: Sequence[str], expected: Sequence[str | tuple[str, ...]]) -> None:
    """Each expected text (or every text of a tuple) is in some sent command, in this order."""
    position = 0
    for texts in expected:
        parts = (texts,) if isinstance(texts, str) else texts
        found = next((i for i in range(position, len(sent)) if all(t in sent[i] for t in parts)), None)
        assert found is not None, f"{texts!r} not sent after {sent[position - 1] if position else 'the start'!r}"
        position = found + 1


# -- proxy boot_config ---------------------------------------------------------------------------

RM = {name: f"rm .kamal/proxy/{name}" for name in ("options", "image", "image_version", "run_command")}

# test/cli/proxy_test.rb "boot_config set…": arguments -> what each proxy host gets
BOOT_CONFIG_SET = [
    ({}, [RM["options"], RM["image"], RM["image_version"], RM["run_command"]]),
    (
        {"publish": False},
        ["upload .kamal/proxy/options: --log-opt max-size=10m", RM["image"], RM["image_version"], RM["run_command"]],
    ),
    (
        {"log_max_size": "100m"},
        ["upload .kamal/proxy/options: --publish 80:80 --publish 443:443 --log-opt max-size=100m"],
    ),
    ({"log_max_size": ""}, ["upload .kamal/proxy/options: --publish 80:80 --publish 443:443", RM["image"]]),
    (
        {"http_port": 8080, "https_port": 8443},
        ["upload .kamal/proxy/options: --publish 8080:80 --publish 8443:443 --log-opt max-size=10m"],
    ),
    (
        {"publish_host_ip": ["127.0.0.1"]},
        ["upload .kamal/proxy/options: --publish 127.0.0.1:80:80 --publish 127.0.0.1:443:443 --log-opt max-size=10m"],
    ),
    (
        {"publish_host_ip": ["127.0.0.1", "::1"]},
        [
            "upload .kamal/proxy/options: --publish 127.0.0.1:80:80 --publish 127.0.0.1:443:443 "
            "--publish [::1]:80:80 --publish [::1]:443:443 --log-opt max-size=10m"
        ],
    ),
    (
        {"docker_options": ["label=foo=bar", "add_host=thishost:thathost"]},
        [
            "upload .kamal/proxy/options: --publish 80:80 --publish 443:443 --log-opt max-size=10m "
            "--label=foo=bar --add_host=thishost:thathost",
            RM["image"],
            RM["image_version"],
            RM["run_command"],
        ],
    ),
    (
        {"registry": "myreg"},
        [
            RM["options"],
            "upload .kamal/proxy/image: myreg/basecamp/kamal-proxy",
            RM["image_version"],
            RM["run_command"],
        ],
    ),
    (
        {"repository": "myrepo"},
        [RM["options"], "upload .kamal/proxy/image: myrepo/kamal-proxy", RM["image_version"], RM["run_command"]],
    ),
    (
        {"image_version": "0.9.9"},
        [RM["options"], RM["image"], "upload .kamal/proxy/image_version: 0.9.9", RM["run_command"]],
    ),
    (
        {"metrics_port": 9000, "debug": True},
        [
            "upload .kamal/proxy/options: --publish 80:80 --publish 443:443 --log-opt max-size=10m --expose=9000",
            RM["image"],
            RM["image_version"],
            'upload .kamal/proxy/run_command: kamal-proxy run --debug --metrics-port "9000"',
        ],
    ),
    (
        {
            "docker_options": ["label=foo=bar"],
            "registry": "myreg",
            "repository": "myrepo",
            "image_version": "0.9.9",
            "metrics_port": 9000,
            "debug": True,
        },
        [
            "upload .kamal/proxy/options: --publish 80:80 --publish 443:443 --log-opt max-size=10m --expose=9000 "
            "--label=foo=bar",
            "upload .kamal/proxy/image: myreg/myrepo/kamal-proxy",
            "upload .kamal/proxy/image_version: 0.9.9",
            'upload .kamal/proxy/run_command: kamal-proxy run --debug --metrics-port "9000"',
        ],
    ),
]


@pytest.mark.parametrize(("args", "expected"), BOOT_CONFIG_SET)
def test_boot_config_set_writes_or_removes_each_file_as_kamal(
    project: Path, args: dict[str, object], expected: list[str]
) -> None:
    runner = TripRunner()
    ctx = context(project, runner)
    p = plan(ctx, ("proxy", "boot_config"), {"subcommand": "set", **args})
    assert p.hosts == (H1, H2)  # the proxy hosts: workers run no proxy
    for host in (H1, H2):
        steps = shown(p, host)
        assert steps[0] == "mkdir -p .kamal/proxy" and len(steps) == 5
        in_order(steps, expected)
        assert set(expected) <= set(steps)
    assert DEPRECATED in p.notes and runner.sent == []
    result = run(ctx, ("proxy", "boot_config"), {"subcommand": "set", **args})
    assert result.ok and result.messages == (DEPRECATED,)
    for host in (H1, H2):
        written = {path: upload.content.decode() for (h, path), upload in runner.uploads.items() if h == host}
        assert written == {
            line.split(": ", 1)[0][len("upload ") :]: line.split(": ", 1)[1]
            for line in expected
            if line.startswith("upload ")
        }
        assert all(u.mode == 0o644 for u in runner.uploads.values())
    assert not any(LOCK_TAKE.match(c) for _, c in runner.sent)  # Kamal takes no lock for it


def test_boot_config_set_sends_the_removals_with_the_mkdir_in_one_round_trip(project: Path) -> None:
    runner = TripRunner([(".", r"^rm \.kamal/proxy/", 1, "", "rm: can't remove: No such file or directory")])
    result = run(context(project, runner), ("proxy", "boot_config"), {"subcommand": "set"})
    assert result.ok  # `rm` of a missing file fails harmlessly, as Kamal's raise_on_non_zero_exit: false
    assert runner.round_trips == {H1: 1, H2: 1}
    assert runner.trip_with(H1, "mkdir") == ["mkdir -p .kamal/proxy", *RM.values()]


def test_boot_config_get_reads_without_yes_and_prints_host_by_host(project: Path) -> None:
    value = "--publish 80:80 --publish 8443:443 --label=foo=bar basecamp/kamal-proxy:v1.0.0"
    runner = TripRunner([(".", r"^echo \$\(cat", 0, f"{value}\n", "")])
    ctx = context(project, runner)
    assert not catalog.lookup(("proxy", "boot_config")).changes_hosts({"subcommand": "get"})
    result = catalog.perform(ctx, ("proxy", "boot_config"), {"subcommand": "get"})
    assert isinstance(result, OperationResult) and result.ok
    assert result.messages == (DEPRECATED, f"Host {H1}: {value}", f"Host {H2}: {value}")
    assert runner.sent == [(H1, BOOT_CONFIG_ECHO), (H2, BOOT_CONFIG_ECHO)]
    assert result.data == {H1: {"boot_config": value}, H2: {"boot_config": value}}


def test_boot_config_reset_removes_the_four_files_in_one_round_trip(project: Path) -> None:
    runner = TripRunner([(".", r"^rm ", 1, "", "No such file or directory")])
    ctx = context(project, runner)
    assert isinstance(catalog.perform(ctx, ("proxy", "boot_config"), {"subcommand": "reset"}), Plan)
    assert runner.sent == []
    result = run(ctx, ("proxy", "boot_config"), {"subcommand": "reset"})
    assert result.ok and runner.round_trips == {H1: 1, H2: 1}
    assert runner.trips == [(H1, list(RM.values())), (H2, list(RM.values()))]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"publish_host_ip": ["1.2.3.invalidIP", "::1"]}, "Invalid publish IP address: 1.2.3.invalidIP"),
        ({"docker_options": ["label=a b"]}, r"--docker-options 'label=a b' is not option=value"),
        ({"docker_options": ["memory=1g;id"]}, r"--docker-options 'memory=1g;id'"),
        ({"image_version": "v1 --privileged"}, r"--image-version 'v1 --privileged' would be split"),
        ({"registry": "reg$(id)"}, r"--registry 'reg\$\(id\)'"),
        ({"http_port": 0}, r"--http-port must be a port number \(1-65535\), got 0"),
        ({"metrics_port": "90x"}, r"--metrics-port must be a port number"),
        ({"log_max_size": "10m;id"}, r"--log-max-size '10m;id'"),
    ],
)
def test_boot_config_set_refuses_bad_input_before_anything_runs(
    project: Path, args: dict[str, object], message: str
) -> None:
    runner = TripRunner()
    ctx = context(project, runner)
    with pytest.raises(Refused, match=message):
        plan(ctx, ("proxy", "boot_config"), {"subcommand": "set", **args})
    with pytest.raises(Refused, match=message):
        run(ctx, ("proxy", "boot_config"), {"subcommand": "set", **args})
    assert runner.sent == []


# -- the hidden removes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "args", "host", "audit", "expected"),
    [
        (
            ("app", "remove_container"),
            {"version": "1234567"},
            H1,
            "[web] Removed app container with version 1234567",
            ["docker container ls --all --filter 'name=^app-web-1234567$' --quiet | xargs docker container rm"],
        ),
        (
            ("app", "remove_container"),
            {"version": "1234567"},
            H3,
            "[workers] Removed app container with version 1234567",
            ["docker container ls --all --filter 'name=^app-workers-1234567$' --quiet | xargs docker container rm"],
        ),
        (
            ("app", "remove_containers"),
            {},
            H1,
            "[web] Removed all app containers",
            [
                "docker container prune --force --filter label=service=app --filter label=destination= --filter label=role=web"
            ],
        ),
        (
            ("app", "remove_images"),
            {},
            H1,
            "Removed all app images",
            ["docker image prune --all --force --filter label=service=app"],
        ),
        (
            ("app", "remove_app_directories"),
            {},
            H1,
            "Removed .kamal/apps/app",
            ["rm -r .kamal/apps/app", "rm -r .kamal/proxy/apps-config/app"],
        ),
        (
            ("proxy", "remove_container"),
            {},
            H1,
            "Removed proxy container",
            ["docker container prune --force --filter label=org.opencontainers.image.title=kamal-proxy"],
        ),
        (
            ("proxy", "remove_image"),
            {},
            H2,
            "Removed proxy image",
            ["docker image prune --all --force --filter label=org.opencontainers.image.title=kamal-proxy"],
        ),
        (("proxy", "remove_proxy_directory"), {}, H1, None, ["rm -r .kamal/proxy"]),
    ],
)
def test_hidden_removes_send_kamals_commands_under_the_lock(
    project: Path, path: tuple[str, ...], args: dict[str, object], host: str, audit: str | None, expected: list[str]
) -> None:
    runner = TripRunner([(".", r"^rm -r ", 1, "", "No such file or directory")])
    ctx = context(project, runner)
    p = plan(ctx, path, args)
    assert runner.sent == [] and f"holds the deploy lock on {H1} throughout" in p.notes
    steps = [line for line in shown(p, host) if "app-audit.log" not in line]
    assert steps == expected
    result = run(ctx, path, args)
    assert result.ok  # an `rm -r` that finds nothing is not a failure, as in Kamal
    sent = runner.commands(host)
    in_order(sent, expected)
    assert audit is None or any(audit in c and "app-audit.log" in c for c in sent)
    primary = runner.commands(H1)
    assert LOCK_TAKE.match(primary[1]) and primary[-1] == LOCK_RELEASE
    if path[0] == "proxy":
        assert runner.commands(H3) == ["mkdir -p .kamal"]  # workers run no proxy: only the lock's mkdir


def test_app_remove_container_refuses_a_version_that_would_reach_the_shell(project: Path) -> None:
    runner = TripRunner()
    with pytest.raises(
        Refused, match=r"app remove_container: version: version \"v1';id\" would reach the host's shell"
    ):
        run(context(project, runner), ("app", "remove_container"), {"version": "v1';id"})
    assert runner.sent == []


def test_app_remove_images_and_directories_only_where_every_role_of_the_host_is_selected(project: Path) -> None:
    runner = TripRunner()
    p = plan(context(project, runner, roles=("web",)), ("app", "remove_images"))
    assert p.hosts == (H1, H2)
    p = plan(context(project, runner, roles=("web",)), ("app", "remove_app_directories"))
    assert p.hosts == (H1, H2)


# -- proxy upgrade -------------------------------------------------------------------------------

TRAEFIK_CLEANUP = (
    "docker container stop traefik ; docker container prune --force --filter "
    "label=org.opencontainers.image.title=Traefik && docker image prune --all --force --filter "
    "label=org.opencontainers.image.title=Traefik"
)
PROXY_RUN = (
    'docker container start kamal-proxy || echo $(cat .kamal/proxy/options 2> /dev/null || echo "--publish '
    '80:80 --publish 443:443 --log-opt max-size=10m") $(cat .kamal/proxy/image 2> /dev/null || echo '
    '"basecamp/kamal-proxy"):$(cat .kamal/proxy/image_version 2> /dev/null || echo "v0.9.2") $(cat '
    '.kamal/proxy/run_command 2> /dev/null || echo "") | xargs docker run --name kamal-proxy --network kamal '
    "--detach --restart unless-stopped --volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy"
)
# test/cli/proxy_test.rb "upgrade", on the first web host, in order
PROXY_UPGRADE_WEB: list[str | tuple[str, ...]] = [
    "Rebooted proxy",
    'docker login -u "user" -p [REDACTED]',
    TRAEFIK_CLEANUP,
    "docker container stop kamal-proxy",
    "docker container prune --force --filter label=org.opencontainers.image.title=kamal-proxy",
    "docker image prune --all --force --filter label=org.opencontainers.image.title=kamal-proxy",
    "docker network create kamal",
    'docker login -u "user" -p [REDACTED]',
    "docker inspect kamal-proxy --format '{{.Config.Image}}' | awk -F: '{print $NF}'",
    "mkdir -p .kamal/proxy/apps-config",
    PROXY_RUN,
    # (kamal_nb's app boot writes the env file before the rename, Kamal after: they do not touch)
    "mkdir -p .kamal/apps/app/env/roles",
    "upload .kamal/apps/app/env/roles/web.env",
    "docker rename app-web-latest app-web-latest_replaced_",
    (
        "docker run --detach --restart unless-stopped --name app-web-latest --network kamal --hostname 1.1.1.1-",
        '--env KAMAL_CONTAINER_NAME="app-web-latest" --env KAMAL_VERSION="latest" --env KAMAL_HOST="1.1.1.1" '
        '--env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" --label service="app" --label '
        'role="web" --label destination dhh/app:latest',
    ),
    'docker exec kamal-proxy kamal-proxy deploy app-web --target="12345678:80" --deploy-timeout="6s" '
    '--drain-timeout="30s" --buffer-requests --buffer-responses --log-request-header="Cache-Control" '
    '--log-request-header="Last-Modified" --log-request-header="User-Agent"',
    "docker container ls --all --filter 'name=^app-web-12345678$' --quiet | xargs docker stop",
    "docker tag dhh/app:latest dhh/app:latest",
    "docker ps -q -a --filter label=service=app --filter status=created --filter status=exited --filter "
    "status=dead | tail -n +6 | while read container_id; do docker rm $container_id; done",
    "docker image prune --force --filter label=service=app",
]


def _booting_runner(*extra: tuple[str, str, int, str, str]) -> TripRunner:
    """Answers as Kamal's CLI test stubs do: every capture is 12345678, health checks say running."""
    return TripRunner(
        [
            *extra,
            (".", r"inspect kamal-proxy --format", 0, "v0.9.2\n", ""),
            (".", r"\{\{\.State\.Status\}\}", 0, "running\n", ""),
            (".", r"^mkdir \.kamal/lock-app", 0, "", ""),
            (".", r"docker ps --latest|--quiet$", 0, "12345678\n", ""),
        ]
    )


def test_proxy_upgrade_plan_lists_kamals_sequence(project: Path) -> None:
    runner = TripRunner()
    p = plan(context(project, runner), ("proxy", "upgrade"))
    assert runner.sent == []
    assert p.hosts == (H1, H2, H3, H4)  # every host, accessory hosts too, as Kamal's KAMAL.hosts
    in_order(shown(p, H1), [s for s in PROXY_UPGRADE_WEB if "12345678" not in s])
    assert "This will cause a brief outage on each host" in p.notes
    assert "app boot runs version latest (no --version given: latest)" in p.notes
    assert not any("xargs docker run" in line for line in shown(p, H3))  # workers run no proxy


def test_proxy_upgrade_runs_kamals_sequence_cleanup_in_proxy_boots_first_round_trip(project: Path) -> None:
    runner = _booting_runner()
    result = run(context(project, runner), ("proxy", "upgrade"))
    assert result.ok, str(result)
    in_order(runner.commands(H1), PROXY_UPGRADE_WEB)
    assert result.messages[0] == f"Upgrading proxy on {H1},{H2},{H3},{H4}..."
    assert result.messages[-1] == f"Upgraded proxy on {H1},{H2},{H3},{H4}"
    first = runner.trip_with(H1, "stop traefik")
    assert first[1:] == [
        'docker login -u "user" -p [REDACTED]',
        TRAEFIK_CLEANUP,
        "docker container stop kamal-proxy",
        "docker container prune --force --filter label=org.opencontainers.image.title=kamal-proxy",
        "docker image prune --all --force --filter label=org.opencontainers.image.title=kamal-proxy",
        "docker network create kamal",
        'docker login -u "user" -p [REDACTED]',
        "docker inspect kamal-proxy --format '{{.Config.Image}}' | awk -F: '{print $NF}'",
    ]
    assert runner.trip_with(H3, "stop traefik")[-1] == "docker network create kamal"  # no proxy on workers
    takes = [c for _, c in runner.sent if LOCK_TAKE.match(c)]
    assert len(takes) == 1 and runner.commands(H1)[-1] == LOCK_RELEASE  # one lock, held throughout


def test_proxy_upgrade_stops_when_traefik_cannot_be_cleaned_up(project: Path) -> None:
    runner = _booting_runner((H2, r"stop traefik", 1, "", "permission denied while trying to connect"))
    result = run(context(project, runner), ("proxy", "upgrade"))
    assert not result.ok and "permission denied" in (result.hosts[H2].failure or "")
    assert not any("xargs docker run" in c or "docker run --detach" in c for _, c in runner.sent)
    assert "docker network create kamal" not in runner.commands(H2)  # the round trip stopped there
    assert runner.commands(H1)[-1] == LOCK_RELEASE


def test_proxy_upgrade_rolling_runs_the_hooks_around_each_host(project: Path) -> None:
    calls = project / "hook-calls.txt"
    hooks = project / ".kamal" / "hooks"
    hooks.mkdir()
    for name in ("pre-proxy-reboot", "post-proxy-reboot"):
        (hooks / name).write_text(
            f'#!/bin/sh\necho "{name} $KAMAL_HOSTS $KAMAL_COMMAND $KAMAL_SUBCOMMAND $KAMAL_LOCK" >> {calls}\n'
        )
        (hooks / name).chmod(0o755)
    runner = _booting_runner()
    ctx = context(project, runner)
    p = plan(ctx, ("proxy", "upgrade"), {"rolling": True})
    assert any(n.startswith("runs hook pre-proxy-reboot") for n in p.notes)
    result = run(ctx, ("proxy", "upgrade"), {"rolling": True})
    assert result.ok, str(result)
    expected = []
    for host in (H1, H2, H3, H4):
        expected += [f"pre-proxy-reboot {host} proxy upgrade true", f"post-proxy-reboot {host} proxy upgrade true"]
    assert calls.read_text().splitlines() == expected
    upgrading = [m for m in result.messages if m.startswith(("Upgrading proxy", "Upgraded proxy"))]
    assert upgrading == [m for h in (H1, H2, H3, H4) for m in (f"Upgrading proxy on {h}...", f"Upgraded proxy on {h}")]
    # each host booted the app on its own: the web hosts one after the other
    boots = [i for i, (h, c) in enumerate(runner.sent) if "docker run --detach" in c]
    assert [runner.sent[i][0] for i in boots] == [H1, H2, H3, H4]


def test_proxy_upgrade_boots_the_version_given(project: Path) -> None:
    p = plan(context(project, TripRunner(), version="v7"), ("proxy", "upgrade"))
    assert any("--name app-web-v7" in line for line in shown(p, H1))
    assert "app boot runs version v7" in p.notes


# -- accessory upgrade ---------------------------------------------------------------------------

MYSQL_RUN = (
    'docker run --name app-mysql --detach --restart unless-stopped --network kamal --log-opt max-size="10m" '
    '--publish 3306:3306 --env KAMAL_HOST="1.1.1.3" --env MYSQL_ROOT_HOST="%" --env-file '
    ".kamal/apps/app/env/accessories/mysql.env --volume $PWD/app-mysql/etc/mysql/my.cnf:/etc/mysql/my.cnf "
    '--volume $PWD/app-mysql/data:/var/lib/mysql --label service="app-mysql" mysql:5.7'
)


def test_accessory_upgrade_reboots_into_the_kamal_network(project: Path) -> None:
    runner = TripRunner()
    ctx = context(project, runner)
    p = plan(ctx, ("accessory", "upgrade"), {"name": "all"})
    assert "This will restart all accessories" in p.notes and runner.sent == []
    in_order(shown(p, H3), ["docker network create kamal", "docker container stop app-mysql", MYSQL_RUN])
    result = run(ctx, ("accessory", "upgrade"), {"name": "all"})
    assert result.ok, str(result)
    assert result.messages == (
        f"Upgrading all accessories on {H3},{H1},{H2}...",
        f"Upgraded all accessories on {H3},{H1},{H2}...",
    )
    in_order(
        runner.commands(H3),
        [
            "docker network create kamal",
            "docker image pull mysql:5.7",
            "docker container stop app-mysql",
            "docker container prune --force --filter label=service=app-mysql",
            MYSQL_RUN,
        ],
    )
    assert (
        runner.uploads[(H3, ".kamal/apps/app/env/accessories/mysql.env")].content == b"MYSQL_ROOT_PASSWORD=secret123\n"
    )
    assert "docker run --name app-redis" in " ".join(runner.commands(H1))
    assert runner.commands(H4) == ["mkdir -p .kamal"]  # no accessory there


def test_accessory_upgrade_rolling_goes_host_by_host_under_one_lock(project: Path) -> None:
    runner = TripRunner()
    result = run(context(project, runner), ("accessory", "upgrade"), {"name": "redis", "rolling": True})
    assert result.ok, str(result)
    assert result.messages == tuple(
        m
        for h in (H3, H1, H2)
        for m in (f"Upgrading redis accessories on {h}...", f"Upgraded redis accessories on {h}...")
    )
    runs = [h for h, c in runner.sent if c.startswith("docker run --name app-redis")]
    assert runs == [H1, H2]
    assert not any("app-mysql" in c for _, c in runner.sent)
    assert len([c for _, c in runner.sent if LOCK_TAKE.match(c)]) == 1


def test_accessory_upgrade_refuses_an_unknown_accessory(project: Path) -> None:
    runner = TripRunner()
    with pytest.raises(Refused, match=r"No accessory by the name of 'nope' \(options: mysql and redis\)"):
        run(context(project, runner), ("accessory", "upgrade"), {"name": "nope"})
    assert runner.sent == []


# -- upgrade -------------------------------------------------------------------------------------


def test_upgrade_replaces_traefik_then_restarts_the_accessories_under_one_lock(project: Path) -> None:
    runner = _booting_runner()
    ctx = context(project, runner)
    p = plan(ctx, ("upgrade",))
    assert "This will replace Traefik with kamal-proxy and restart all accessories" in p.notes
    in_order(shown(p, H3), [TRAEFIK_CLEANUP, "docker run --detach", "docker container stop app-mysql", MYSQL_RUN])
    assert runner.sent == []
    result = run(ctx, ("upgrade",))
    assert result.ok, str(result)
    in_order(
        list(result.messages),
        [
            "Upgrading all hosts...",
            f"Upgrading proxy on {H1},{H2},{H3},{H4}...",
            f"Upgraded proxy on {H1},{H2},{H3},{H4}",
            f"Upgrading all accessories on {H3},{H1},{H2}...",
            f"Upgraded all accessories on {H3},{H1},{H2}...",
            "Upgraded all hosts",
        ],
    )
    in_order(runner.commands(H3), [TRAEFIK_CLEANUP, "docker run --detach", "docker image prune", MYSQL_RUN])
    assert len([c for _, c in runner.sent if LOCK_TAKE.match(c)]) == 1
    assert runner.commands(H1)[-1] == LOCK_RELEASE


def test_upgrade_rolling_upgrades_each_host_in_turn(project: Path) -> None:
    runner = _booting_runner()
    result = run(context(project, runner), ("upgrade",), {"rolling": True})
    assert result.ok, str(result)
    hosts = [m.split()[1].rstrip(".") for m in result.messages if re.match(r"Upgrading \d", m)]
    assert hosts == [H1, H2, H3, H4]
    proxy = [m for m in result.messages if m.startswith("Upgrading proxy on")]
    accessories = [m for m in result.messages if m.startswith("Upgrading all accessories on")]
    assert proxy == [f"Upgrading proxy on {h}..." for h in (H1, H2, H3, H4)]
    assert accessories == [f"Upgrading all accessories on {h}..." for h in (H1, H2, H3)]  # (main_test: 4 and 3)
    assert result.messages[-1] == f"Upgraded {H4}"
    assert len([c for _, c in runner.sent if LOCK_TAKE.match(c)]) == 1


def test_every_new_operation_returns_its_plan_without_yes(project: Path) -> None:
    runner = TripRunner()
    ctx = context(project, runner)
    cases: list[tuple[tuple[str, ...], dict[str, object]]] = [
        (("proxy", "boot_config"), {"subcommand": "set"}),
        (("proxy", "boot_config"), {"subcommand": "reset"}),
        (("app", "remove_container"), {"version": "v1"}),
        (("app", "remove_containers"), {}),
        (("app", "remove_images"), {}),
        (("app", "remove_app_directories"), {}),
        (("proxy", "remove_container"), {}),
        (("proxy", "remove_image"), {}),
        (("proxy", "remove_proxy_directory"), {}),
        (("proxy", "upgrade"), {"rolling": True}),
        (("accessory", "upgrade"), {"name": "all"}),
        (("upgrade",), {}),
    ]
    for path, args in cases:
        p = catalog.perform(ctx, path, args)
        assert isinstance(p, Plan) and "nothing was run: confirm with --yes (yes=True)" in p.notes, path
        assert "secret123" not in str(p) + p.df.to_csv(), path
    assert runner.sent == []
