"""The test fleet works as a set of plain servers: SSH, Docker, the registry and the proxy stand-in."""

from __future__ import annotations

import json
import urllib.request

import pytest

from kamal_nb.testing.fleet import Fleet, FleetInfo, pid_alive
from tests.fleet.ssh import connect

pytestmark = pytest.mark.fleet


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_every_host_answers_ssh_with_its_own_name_and_docker_engine(fleet: FleetInfo) -> None:
    engine_ids = set()
    for host in fleet.hosts:
        with connect(fleet, host.ip) as conn:
            result = conn.run("hostname && docker version --format '{{json .Server}}' && docker info -f '{{.ID}}'")
            assert result.exited == 0, result.stderr
            hostname, server, engine_id = result.stdout.splitlines()
            assert hostname == host.name
            assert json.loads(server)["Version"]
            engine_ids.add(engine_id)
    assert len(engine_ids) == len(fleet.hosts), "every host must have its own docker engine"


def test_hosts_accept_only_the_fleet_key(fleet: FleetInfo, tmp_path: pytest.TempPathFactory) -> None:
    import paramiko

    other_key = paramiko.Ed25519Key.generate() if hasattr(paramiko.Ed25519Key, "generate") else None
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    with pytest.raises(paramiko.AuthenticationException):
        client.connect(
            fleet.hosts[0].ip,
            username="root",
            password="root",
            pkey=other_key,
            look_for_keys=False,
            allow_agent=False,
            timeout=5,
        )
    client.close()


def test_homes_are_per_host(clean_fleet: FleetInfo) -> None:
    first, second = clean_fleet.hosts[:2]
    with connect(clean_fleet, first.ip) as conn:
        assert conn.run("mkdir -p .kamal && echo one > .kamal/marker").exited == 0
    with connect(clean_fleet, second.ip) as conn:
        assert conn.run("test -e .kamal/marker").exited == 1


def test_pull_run_and_serve_through_the_proxy_stand_in(clean_fleet: FleetInfo) -> None:
    fleet = clean_fleet
    host = fleet.hosts[0]
    app, proxy = fleet.images["app-v1"], fleet.images["kamal-proxy"]
    with connect(fleet, host.ip) as conn:

        def sh(command: str) -> str:
            result = conn.run(command)
            assert result.exited == 0, f"{command}: {result.stderr}"
            return str(result.stdout).strip()

        # without a login the registry refuses the pull
        assert conn.run(f"docker pull {app}").exited != 0
        sh(f"echo {fleet.registry_password} | docker login {fleet.registry} -u {fleet.registry_user} --password-stdin")
        sh(f"docker pull {app} && docker pull {proxy}")
        sh("docker network create kamal")
        sh(
            "docker run --detach --name kamal-proxy --network kamal --restart unless-stopped "
            "--volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy --publish 80:80 "
            f"{proxy} kamal-proxy run"
        )
        status, body = http_get(f"http://{host.ip}/up")
        assert status == 404 and "no service deployed" in body
        sh(
            f"docker run --detach --name demo-web-v1 --network kamal --env SECRET_TOKEN=s3cret --label service=demo {app}"
        )
        cid = sh("docker container ls --all --filter name=^demo-web-v1$ --quiet")
        sh(f'docker exec kamal-proxy kamal-proxy deploy demo-web --target="{cid}:3000" --health-check-path="/up"')
        assert http_get(f"http://{host.ip}/up") == (200, "ok\n")
        assert http_get(f"http://{host.ip}/version") == (200, "v1\n")
        status, names = http_get(f"http://{host.ip}/env")
        assert "SECRET_TOKEN" in names.split() and "s3cret" not in names
        assert "demo-web" in sh("docker exec kamal-proxy kamal-proxy list")
        # the app traps SIGTERM: a clean exit (0), not the SIGKILL of a stop timeout (137)
        sh("docker stop demo-web-v1")
        assert sh("docker inspect --format '{{.State.ExitCode}}' demo-web-v1") == "0"
        assert http_get(f"http://{host.ip}/version")[0] == 502
        assert sh("docker inspect --format '{{index .Config.Labels \"service\"}}' " + app) == "demo"


def test_proxy_refuses_a_target_that_never_becomes_healthy(clean_fleet: FleetInfo) -> None:
    from kamal_nb.testing.images import build_app

    fleet = clean_fleet
    host = fleet.hosts[1]
    broken = build_app(fleet, "broken", healthy=False)
    with connect(fleet, host.ip) as conn:
        login = (
            f"echo {fleet.registry_password} | docker login {fleet.registry} -u {fleet.registry_user} --password-stdin"
        )
        assert conn.run(login).exited == 0
        assert conn.run("docker network create kamal").exited == 0
        assert (
            conn.run(f"docker run -d --name kamal-proxy --network kamal -p 80:80 {fleet.images['kamal-proxy']}").exited
            == 0
        )
        assert conn.run(f"docker run -d --name demo-web-broken --network kamal {broken}").exited == 0
        deploy = conn.run(
            'docker exec kamal-proxy kamal-proxy deploy demo-web --target="demo-web-broken:3000" --deploy-timeout="2s"'
        )
        assert deploy.exited == 1
        assert "target failed to become healthy" in deploy.stderr
        assert http_get(f"http://{host.ip}/")[0] == 404


def test_down_leaves_no_process_namespace_or_bridge(tmp_path: pytest.TempPathFactory, fleet: FleetInfo) -> None:
    # A second, one-host fleet of its own names, so that the session's fleet keeps running.
    other = Fleet(tmp_path, prefix="ku-", bridge="kubr0", subnet="10.202.0")  # type: ignore[arg-type]
    info = other.up(1, images=False)
    pids = other.leftover_pids()
    assert len(pids) >= 3, "dockerd (two engines), containerd and sshd should be running"
    with connect(info, info.hosts[0].ip) as conn:
        assert conn.run("hostname").stdout.strip() == "h1"
    other.down()
    assert not [p for p in pids if pid_alive(p)]
    assert other.leftover_pids() == []
    from kamal_nb.testing.fleet import run

    assert not [ns for ns in run("ip", "netns", "list").stdout.split() if ns.startswith("ku-")]
    assert ": kubr0:" not in run("ip", "-o", "link", "show").stdout


def test_up_clears_what_a_killed_run_left_behind(tmp_path: pytest.TempPathFactory, fleet: FleetInfo) -> None:
    other = Fleet(tmp_path, prefix="ku-", bridge="kubr0", subnet="10.202.0")  # type: ignore[arg-type]
    other.up(1, images=False)
    stale = other.leftover_pids()
    # A killed run leaves its processes, namespaces and bridge; its pid files may be lost too.
    for node in other.recorded_nodes():
        (other.node_dir(node) / "run/docker.pid").unlink(missing_ok=True)
    (other.base / "registry/registry.pid").write_text("999999\n")
    try:
        info = other.up(1, images=False)
        assert not [p for p in stale if pid_alive(p)], "up must stop the processes of the earlier run"
        with connect(info, info.hosts[0].ip) as conn:
            assert conn.run("docker ps -q").exited == 0
    finally:
        other.down()
    assert other.leftover_pids() == []
