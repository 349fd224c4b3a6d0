"""Hostile input: shell metacharacters, quotes, newlines and unicode in env values, labels, volumes,
versions, lock messages, hostnames, role and accessory names. Each is either refused by validation
(naming the key, nothing executed) or quoted exactly as the real Kamal quotes it; random strings sent
through env values and labels reach a real container unchanged. Also: a YAML alias bomb, 10 MB of
command output.

Run with its own fleet: `KAMAL_NB_TEST_FLEET=2 .venv/bin/pytest tests/fleet/test_reliability_hostile.py`.
"""

from __future__ import annotations

import base64
import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamal_nb.commands import App, Lock, container_hostname
from kamal_nb.config import ConfigError, Source, ValidationError, build_config
from kamal_nb.config.secrets import Secrets
from kamal_nb.fleet import Batch, FleetRunner, HostEvent, Output, SshSettings, Started, Upload
from kamal_nb.fleet.output import OUTPUT_KEEP
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import deploy_config, kamal_binary, write_project
from tests.fleet.helpers import perform, run

pytestmark = pytest.mark.fleet

# Metacharacters, quotes, escapes, Ruby interpolation, control characters, unicode (also non-BMP)
HOSTILE_VALUES = (
    "; touch /tmp/pwned",
    "$(touch /tmp/pwned)",
    "`touch /tmp/pwned`",
    "a && b || c | d > e < f &",
    "it's \"quoted\" 'twice'",
    'back\\slash \\\\ \\n \\"',
    "$HOME ${HOME} $1 $$ $? $! ${HOME:-x}",
    "#{interpolate} #$global #@ivar #ok",
    "line1\nline2\r\nline3\ttab",
    "bell\x07 esc\x1b del\x7f nul-less",
    "café ☕ 日本語 emoji 🚀 mixed'é\"ü`",
    "   leading and trailing   ",
    "-e --flag=x",
    "*?[glob] ~user {a,b}",
)


# -- the real Kamal, asked how it quotes (one `kamal config` run evaluates every case) -------------

_HARNESS = r"""<%= require "json"; require "base64"
cases = JSON.parse(File.read("cases.json"))
fixed = Time.at(1704067200).utc
Time.define_singleton_method(:now) { fixed }
Kamal::Git.define_singleton_method(:user_name) { "Tester" }
out = cases.map do |c|
  begin
    config = Kamal::Configuration.new(c["config"].transform_keys(&:to_sym), version: c["version"])
    app = Kamal::Commands::App.new(config, role: config.role("web"), host: "1.1.1.1")
    { "run" => app.run(hostname: "h").join(" "), "lock" => Kamal::Commands::Lock.new(config).acquire(c["message"], c["version"]).join(" ") }
  rescue Exception => e
    { "error" => e.class.name, "message" => e.message }
  end
end
"KNBHOSTILE" + Base64.strict_encode64(out.to_json) %>"""


def kamal_quotes(cases: list[dict[str, Any]], workdir: Path) -> list[dict[str, str]]:
    binary = kamal_binary()
    assert binary is not None, "the real Kamal is in the test extra"
    (workdir / "config").mkdir(parents=True)
    one_line = "; ".join(line.strip() for line in _HARNESS.splitlines() if line.strip())
    (workdir / "config" / "deploy.yml").write_text(
        "service: o\nimage: o\nservers: [10.0.0.1]\nregistry: {username: u, password: p}\n"
        f"builder:\n  arch: amd64\n  args:\n    OUT: {one_line}\n"
    )
    (workdir / "cases.json").write_text(json.dumps(cases))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(workdir), "LANG": "C.UTF-8"}
    done = subprocess.run(
        [binary, "config", "--version", "1"], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
    )
    found = re.search(r"KNBHOSTILE([A-Za-z0-9+/=]+)", done.stdout)
    assert found is not None, done.stdout[-2000:] + done.stderr[-2000:]
    results: list[dict[str, str]] = json.loads(base64.b64decode(found.group(1)))
    return results


def app_config(value: str, message_dir: Path, **extra: Any) -> dict[str, Any]:
    return {
        "service": "app",
        "image": "dhh/app",
        "registry": {"username": "u", "password": "p"},
        "servers": {"web": ["1.1.1.1"]},
        "builder": {"arch": "amd64"},
        "env": {"clear": {"HOSTILE": value}},
        "labels": {"hostile": value},
        **extra,
    }


def ours(raw: dict[object, Any], root: Path, message: str) -> dict[str, str]:
    (root / ".kamal").mkdir(parents=True, exist_ok=True)
    (root / ".kamal" / "secrets").write_text("")
    config = build_config(
        raw,
        secrets=Secrets(".kamal/secrets", None, {}, cwd=root),
        version="999",
        source=Source(root=str(root), environment={}),
    )
    app = App(config, role="web", host="1.1.1.1")
    lock = Lock(config).acquire(message, "999", locked_by="Tester", locked_at="2024-01-01T00:00:00Z")
    return {"run": app.run(hostname="h").wire(), "lock": lock.wire()}


def test_values_kamal_quotes_are_quoted_exactly_as_the_real_kamal_quotes_them(tmp_path: Path) -> None:
    rng = random.Random(20260110)
    alphabet = "ab ;&|<>()$`'\"\\\n\t\r#{}@*?[]~!%^=+,.:/-_é☕🚀\x07\x1b"
    randoms = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))) for _ in range(150)]
    values = [*HOSTILE_VALUES, *randoms]
    cases: list[dict[str, Any]] = [
        {"config": app_config(v, tmp_path), "version": "999", "message": v} for v in values if v.strip() != ""
    ]
    expected = kamal_quotes(cases, tmp_path / "kamal")
    for index, (case, kamal) in enumerate(zip(cases, expected, strict=True)):
        assert "error" not in kamal, kamal
        assert ours(case["config"], tmp_path / f"ours{index}", case["message"]) == kamal, case["message"]


# -- refused before anything runs --------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("hostile"), fleet)


def hostile_configs(fleet: FleetInfo) -> dict[str, tuple[dict[str, Any], str]]:
    h1, h2, h3 = fleet.host_ips
    base = deploy_config(fleet)
    servers: dict[str, Any] = dict(base["servers"])  # type: ignore[call-overload]
    return {
        "role name": ({"servers": {**servers, "jobs;touch /tmp/pwned": [h3]}}, "servers/jobs;touch /tmp/pwned"),
        "hostname": ({"servers": {**servers, "web": [h1, f"{h2}$(touch /tmp/pwned)"]}}, "servers/web"),
        "accessory name": (
            {"accessories": {"db`id`": {"image": "db", "host": h3}}},
            "accessories/db`id`",
        ),
        "volume": ({"volumes": ["/data:/data;touch /tmp/pwned"]}, "volumes"),
        "label name": ({"labels": {"a b": "x"}}, "labels"),
        "env name": ({"env": {"clear": {"A;id": "x"}, "secret": ["DEMO_SECRET"]}}, "env/clear"),
    }


@pytest.mark.parametrize(
    "what", ["role name", "hostname", "accessory name", "volume", "label name", "env name", "version"]
)
def test_hostile_names_are_refused_naming_the_key_and_nothing_runs(
    what: str, base_project: Path, fleet: FleetInfo, tmp_path: Path
) -> None:
    if what == "version":
        overrides: dict[str, Any] = {}
        key, version = "version", "v1;touch /tmp/pwned"
    else:
        overrides, key = hostile_configs(fleet)[what]
        version = "v1"
    project = write_project(tmp_path / "p", fleet, deploy_config(fleet, **overrides))
    session = Session(root=project)
    started: list[HostEvent] = []
    session.events.subscribe(lambda e: started.append(e) if isinstance(e, Started) else None)
    try:
        calls: list[tuple[tuple[str, ...], dict[str, object]]] = [
            (("deploy",), {"skip_push": True}),
            (("app", "details"), {}),
            (("lock", "acquire"), {"message": "m"}),
        ]
        for path, args in calls:
            with pytest.raises(ValidationError) as raised:
                perform(session, path, args, version=version)
            assert raised.value.key_path == key and "unquoted" in str(raised.value)
    finally:
        session.close()
    assert started == [], "nothing may run"


def test_a_yaml_alias_bomb_is_refused_at_once(fleet: FleetInfo, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", fleet)
    lines = [yaml.safe_dump(deploy_config(fleet)).rstrip("\n"), 'x-a0: &a0 ["lol","lol","lol","lol","lol"]']
    lines += [f"x-a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]  # 5 * 10**11 nodes
    lines.append("labels: {bomb: *a11}")
    (project / "config" / "deploy.yml").write_text("\n".join(lines) + "\n")
    cli = Path(sys.executable).parent / "kamal-nb"
    done = subprocess.run([str(cli), "config"], cwd=project, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    said = done.stdout + done.stderr  # Kamal's framing: `  ERROR (...)` on stdout
    assert "alias bomb" in said and "deploy.yml" in said, said
    session = Session(root=project)
    with pytest.raises(ConfigError, match="alias bomb"):
        perform(session, ("deploy",), {"skip_push": True}, version="v1")


# -- what reaches a real container ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def container_host(fleet_control: Fleet, fleet: FleetInfo) -> Iterator[FleetRunner]:
    """h1, ready for `docker run` of the base image as kamal_nb builds it: image, network, env file."""
    import docker

    fleet_control.reset_hosts()
    client = docker.DockerClient(base_url=fleet.hosts[0].docker_socket, timeout=60)
    repository, tag = fleet.images["base"].rsplit(":", 1)
    client.images.pull(
        repository, tag, auth_config={"username": fleet.registry_user, "password": fleet.registry_password}
    )
    client.networks.create("kamal")
    client.close()
    settings = SshSettings(user=fleet.ssh_user, keys=(fleet.ssh_key,), keys_only=True, known_hosts=fleet.known_hosts)
    runner = FleetRunner(settings)
    prepared = runner.run(
        {
            fleet.host_ips[0]: [
                "mkdir -p .kamal/apps/hostile/env/roles",
                Upload(".kamal/apps/hostile/env/roles/web.env", b"\n", 0o600),
            ]
        }
    )
    assert prepared.ok, prepared
    yield runner
    runner.close()


def printable_value() -> st.SearchStrategy[str]:
    """Strings as an operator could type them: any printable character, no control characters (Kamal
    writes those as Ruby escapes, see the table), not blank (Kamal then sends a bare `--env K`),
    without `${` (Kamal leaves it for the host's shell to expand) or Ruby's `#{`, `#$`, `#@` (sent
    as `\\#{`...)."""
    characters = st.characters(blacklist_categories=("Cc", "Cs"))
    return st.text(characters, min_size=1, max_size=40).filter(
        lambda s: s.strip() != "" and "${" not in s and re.search(r"#[{$@]", s) is None
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(env_value=printable_value(), label_value=printable_value())
def test_random_env_values_and_labels_reach_a_real_container_unchanged(
    container_host: FleetRunner,
    fleet: FleetInfo,
    tmp_path_factory: pytest.TempPathFactory,
    env_value: str,
    label_value: str,
) -> None:
    import docker

    h1 = fleet.host_ips[0]
    root = tmp_path_factory.mktemp("prop")
    (root / ".kamal").mkdir()
    (root / ".kamal" / "secrets").write_text("")
    repository = fleet.images["base"].rsplit(":", 1)[0].split("/", 1)[1]
    config = build_config(
        {
            "service": "hostile",
            "image": repository,
            "registry": {"server": fleet.registry, "username": fleet.registry_user, "password": "x"},
            "servers": {"web": {"hosts": [h1], "options": {"restart": "no"}, "cmd": "true"}},
            "builder": {"arch": "amd64"},
            "env": {"clear": {"HOSTILE": env_value}},
            "labels": {"hostile": label_value},
        },
        secrets=Secrets(".kamal/secrets", None, {}, cwd=root),
        version="latest",
        source=Source(root=str(root), environment={}),
    )
    name = "hostile-web-latest"
    run_command = App(config, role="web", host=h1).run(hostname=container_hostname(h1, "0123456789ab"))
    result = container_host.run({h1: [Batch((f"docker rm -f {name} > /dev/null 2>&1 || true", run_command))]})
    assert result.ok, str(result[h1].commands)
    client = docker.DockerClient(base_url=fleet.hosts[0].docker_socket, timeout=30)
    try:
        seen = client.containers.get(name).attrs["Config"]
    finally:
        client.close()
    assert f"HOSTILE={env_value}" in seen["Env"]
    assert seen["Labels"]["hostile"] == label_value


def test_kamal_quoting_quirks_reach_the_container_as_with_kamal(
    container_host: FleetRunner, fleet: FleetInfo, tmp_path: Path
) -> None:
    """Values outside the property above arrive as Kamal makes them arrive (the table lists them)."""
    import docker

    h1 = fleet.host_ips[0]
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text("")
    repository = fleet.images["base"].rsplit(":", 1)[0].split("/", 1)[1]
    values = {"NEWLINE": "a\nb", "BRACED": "${HOME}", "INTERP": "#{x}", "TAB": "a\tb"}
    config = build_config(
        {
            "service": "hostile",
            "image": repository,
            "registry": {"server": fleet.registry, "username": fleet.registry_user, "password": "x"},
            "servers": {"web": {"hosts": [h1], "options": {"restart": "no"}, "cmd": "true"}},
            "builder": {"arch": "amd64"},
            "env": {"clear": values},
        },
        secrets=Secrets(".kamal/secrets", None, {}, cwd=tmp_path),
        version="latest",
        source=Source(root=str(tmp_path), environment={}),
    )
    run_command = App(config, role="web", host=h1).run(hostname="quirks")
    result = container_host.run(
        {h1: [Batch(("docker rm -f hostile-web-latest > /dev/null 2>&1 || true", run_command))]}
    )
    assert result.ok
    client = docker.DockerClient(base_url=fleet.hosts[0].docker_socket, timeout=30)
    try:
        env = client.containers.get("hostile-web-latest").attrs["Config"]["Env"]
    finally:
        client.close()
    assert {"NEWLINE=a\\nb", "BRACED=/root", "INTERP=\\#{x}", "TAB=a\\tb"} <= set(env)


def test_ten_megabytes_of_output_are_kept_to_the_cap_with_a_note(base_project: Path, fleet: FleetInfo) -> None:
    h1 = fleet.host_ips[0]
    session = Session(root=base_project)
    lines: list[str] = []
    session.events.subscribe(
        lambda e: lines.extend(e.lines) if isinstance(e, Output) and e.stream == "stdout" else None
    )
    try:
        command = "echo first; head -c 10485760 /dev/zero | tr '\\0' x | fold -w 1023; echo; echo last"
        result = run(session, ("server", "exec"), {"cmd": command}, hosts=(h1,))
    finally:
        session.close()
    assert result.ok, str(result)[-500:]
    output = result.output(h1)
    assert output.startswith("first\n") and output.endswith("\nlast\n")
    assert len(output) <= 2 * OUTPUT_KEEP + 4096
    found = re.search(r"\[kamal_nb: (\d+) characters \(\d+ lines\) of output dropped here", output)
    assert found is not None and int(found.group(1)) > 9_000_000
    assert lines[0] == "first" and lines[-1] == "last" and len(lines) > 10_000, "events streamed every line"
    assert {len(line) for line in lines[1:-2]} == {1023}, "no line split between events"
