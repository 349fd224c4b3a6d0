"""proxy boot_config, the hidden removes and the Kamal 1.x -> 2.0 upgrade on the real fleet, beside
the real Kamal: the files boot_config writes (and what Kamal reads from them), the proxy they boot,
what each remove leaves, and a Kamal-1-style fleet (a Traefik stand-in, app containers off the
`kamal` network) upgraded to kamal-proxy."""

from __future__ import annotations

import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.engine.plan import Plan
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.images import build, local_engine, push
from tests.fleet.helpers import kamal_ok, perform, run, set_up_with_kamal, version_of
from tests.fleet.project import deploy_config, write_project
from tests.fleet.test_proxy_app_ops import record

pytestmark = pytest.mark.fleet

DEPRECATED = "The proxy boot_config command is deprecated - set the config in the deploy YAML at proxy/run instead"
PROXY_FILES = ("options", "image", "image_version", "run_command")
TRAEFIK_TITLE = "Traefik"


@contextmanager
def engine(socket: str) -> Iterator[Any]:
    import docker

    client = docker.DockerClient(base_url=socket, timeout=60)
    try:
        yield client
    finally:
        client.close()


def proxy_files(fleet_control: Fleet, name: str) -> dict[str, tuple[bytes, int]]:
    """The legacy boot config files on a host: content and mode."""
    directory = fleet_control.node_dir(name) / "root" / ".kamal" / "proxy"
    return {
        f: ((directory / f).read_bytes(), (directory / f).stat().st_mode & 0o777)
        for f in PROXY_FILES
        if (directory / f).exists()
    }


def proxy_container(socket: str) -> dict[str, Any]:
    with engine(socket) as client:
        attrs: dict[str, Any] = client.containers.get("kamal-proxy").attrs
    return attrs


def served(ip: str, port: int) -> str:
    with urllib.request.urlopen(f"http://{ip}:{port}/version", timeout=5) as response:
        return str(response.read().decode()).strip()


# -- proxy boot_config ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def legacy_project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo app with no proxy.run: kamal-proxy boots from the hosts' .kamal/proxy files. Nothing
    is booted yet (without those files the proxy image would be Docker Hub's)."""
    fleet_control.reset_hosts()
    config = deploy_config(fleet)
    config["proxy"] = {k: v for k, v in dict(config["proxy"]).items() if k != "run"}  # type: ignore[call-overload]
    return write_project(tmp_path_factory.mktemp("boot-config"), fleet, config)


def test_boot_config_set_boots_the_proxy_get_prints_it_reset_removes_it(
    legacy_project: Path, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    session = Session(root=legacy_project)
    h1, h2, _ = fleet.host_ips
    options = {
        "subcommand": "set",
        "http_port": 8080,
        "log_max_size": "5m",
        "metrics_port": 9090,
        "debug": True,
        "docker_options": ["label=knb=boot-config"],
        "registry": fleet.registry,
        "image_version": "v0.9.2",
    }
    try:
        result = run(session, ("proxy", "boot_config"), options)
        assert result.ok and result.messages == (DEPRECATED,)
        written = proxy_files(fleet_control, "h1")
        assert written == {
            "options": (
                b"--publish 8080:80 --publish 443:443 --log-opt max-size=5m --expose=9090 --label=knb=boot-config",
                0o644,
            ),
            "image": (f"{fleet.registry}/basecamp/kamal-proxy".encode(), 0o644),
            "image_version": (b"v0.9.2", 0o644),
            "run_command": (b'kamal-proxy run --debug --metrics-port "9090"', 0o644),
        }
        assert proxy_files(fleet_control, "h2") == written and proxy_files(fleet_control, "h3") == {}

        # the real Kamal writes the same bytes with the same options
        kamal_ok(
            legacy_project, "proxy", "boot_config", "set", "--http-port", "8080", "--log-max-size", "5m",
            "--metrics-port", "9090", "--debug", "--docker-options", "label=knb=boot-config",
            "--registry", fleet.registry, "--image-version", "v0.9.2",
        )  # fmt: skip
        assert proxy_files(fleet_control, "h1") == written

        # ...and reads back what kamal_nb reads
        got = run(session, ("proxy", "boot_config"), {"subcommand": "get"}, yes=False)  # a read: no --yes
        line = (
            f"--publish 8080:80 --publish 443:443 --log-opt max-size=5m --expose=9090 --label=knb=boot-config "
            f'{fleet.registry}/basecamp/kamal-proxy:v0.9.2 kamal-proxy run --debug --metrics-port "9090"'
        )
        assert got.messages == (DEPRECATED, f"Host {h1}: {line}", f"Host {h2}: {line}")
        kamal_lines = [x for x in kamal_ok(legacy_project, "proxy", "boot_config", "get").splitlines() if "Host " in x]
        assert sorted(kamal_lines) == list(got.messages[1:])  # Kamal prints as the hosts answer

        # a deploy boots kamal-proxy from those files
        run(session, ("deploy",), {"skip_push": True}, version="v1").raise_on_failure()
        attrs = proxy_container(fleet.hosts[0].docker_socket)
        assert attrs["Config"]["Image"] == f"{fleet.registry}/basecamp/kamal-proxy:v0.9.2"
        assert attrs["Config"]["Cmd"] == ["kamal-proxy", "run", "--debug", "--metrics-port", "9090"]
        assert attrs["Config"]["Labels"]["knb"] == "boot-config" and "9090/tcp" in attrs["Config"]["ExposedPorts"]
        assert attrs["HostConfig"]["LogConfig"]["Config"] == {"max-size": "5m"}
        assert attrs["HostConfig"]["PortBindings"]["80/tcp"] == [{"HostIp": "", "HostPort": "8080"}]
        assert served(h1, 8080) == "v1" and served(h2, 8080) == "v1"

        # a new boot config, and `proxy reboot` uses it (the routes survive in the config volume)
        result = run(
            session, ("proxy", "boot_config"), {"subcommand": "set", "http_port": 8081, "registry": fleet.registry}
        )
        assert result.ok
        assert proxy_files(fleet_control, "h1") == {
            "options": (b"--publish 8081:80 --publish 443:443 --log-opt max-size=10m", 0o644),
            "image": (f"{fleet.registry}/basecamp/kamal-proxy".encode(), 0o644),
        }
        run(session, ("proxy", "reboot"), version="v1").raise_on_failure()
        attrs = proxy_container(fleet.hosts[1].docker_socket)
        assert attrs["HostConfig"]["PortBindings"]["80/tcp"] == [{"HostIp": "", "HostPort": "8081"}]
        assert attrs["Config"]["Cmd"] == ["kamal-proxy", "run"]  # the image's own command: no run_command file
        assert "knb" not in (attrs["Config"]["Labels"] or {})
        assert served(h2, 8081) == "v1"

        # reset: the files are gone, and Kamal reads its defaults again
        result = run(session, ("proxy", "boot_config"), {"subcommand": "reset"})
        assert result.ok and proxy_files(fleet_control, "h1") == {} and proxy_files(fleet_control, "h2") == {}
        assert (fleet_control.node_dir("h1") / "root" / ".kamal" / "proxy" / "apps-config").is_dir()
        again = run(session, ("proxy", "boot_config"), {"subcommand": "reset"})
        assert again.ok  # nothing left to remove is not a failure
        defaults = "--publish 80:80 --publish 443:443 --log-opt max-size=10m basecamp/kamal-proxy:v0.9.2"
        assert f"Host {h1}: {defaults}" in kamal_ok(legacy_project, "proxy", "boot_config", "get")
        assert list(again.hosts) == [h1, h2]  # the proxy hosts only
    finally:
        session.close()
        fleet_control.reset_hosts()  # a reboot now would ask Docker Hub for basecamp/kamal-proxy


# -- the hidden removes -----------------------------------------------------------------------------

REMOVES: list[tuple[tuple[str, ...], dict[str, object], tuple[str, ...]]] = [
    (("app", "remove_container"), {"version": "v1"}, ("app", "remove_container", "v1")),
    (("app", "stop"), {}, ("app", "stop")),
    (("app", "remove_containers"), {}, ("app", "remove_containers")),
    (("app", "remove_images"), {}, ("app", "remove_images")),
    (("app", "remove_app_directories"), {}, ("app", "remove_app_directories")),
    (("proxy", "stop"), {}, ("proxy", "stop")),
    (("proxy", "remove_container"), {}, ("proxy", "remove_container")),
    (("proxy", "remove_image"), {}, ("proxy", "remove_image")),
    (("proxy", "remove_proxy_directory"), {}, ("proxy", "remove_proxy_directory")),
]


def _removals(fleet_control: Fleet, fleet: FleetInfo, directory: Path, *, by_kamal: bool) -> list[Any]:
    """Set up at v1, deploy v2 (v1 stays, stopped), then each remove in turn: the state after each."""
    project = set_up_with_kamal(fleet_control, fleet, directory)
    kamal_ok(project, "deploy", "-P", "--version", "v2")
    session = Session(root=project)
    states = []
    try:
        for path, args, words in REMOVES:

            def step(
                path: tuple[str, ...] = path, args: dict[str, object] = args, words: tuple[str, ...] = words
            ) -> object:
                if by_kamal:
                    return kamal_ok(project, *words)
                return run(session, path, args, version="v2").raise_on_failure()

            states.append(record(fleet_control, fleet, step))
    finally:
        session.close()
    return states


def test_hidden_removes_leave_what_kamals_leave(
    fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ours = _removals(fleet_control, fleet, tmp_path_factory.mktemp("removes-nb"), by_kamal=False)
    theirs = _removals(fleet_control, fleet, tmp_path_factory.mktemp("removes-kamal"), by_kamal=True)
    for (path, _, _), (state, audit), (kamal_state, kamal_audit) in zip(REMOVES, ours, theirs, strict=True):
        assert state == kamal_state, path
        assert audit == kamal_audit, path
    after_container = ours[0][0]["h1"]["containers"]
    assert ("demo-web-v1", "exited", "demo", "web") not in after_container
    assert ("demo-web-v2", "running", "demo", "web") in after_container
    end = ours[-1][0]
    assert all(not s["containers"] and not any(i.endswith("/demo") for i in s["images"]) for s in end.values())
    assert all(s["files"] == [".kamal/apps"] for s in end.values())  # only the (empty) apps directory is left
    fleet_control.reset_hosts()


# -- the 1.x -> 2.0 upgrade ---------------------------------------------------------------------------

TRAEFIK_DOCKERFILE = """ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN mkdir -p /www && echo traefik > /www/version
# Kamal 2 finds Kamal 1's Traefik container and image by this label
LABEL org.opencontainers.image.title=Traefik
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
"""


@pytest.fixture(scope="module")
def traefik_image(fleet: FleetInfo) -> str:
    """A busybox stand-in for Kamal 1's Traefik, in the fleet's registry."""
    repository, tag = f"{fleet.registry}/traefik-standin", "v2.10"
    client = local_engine(fleet)
    try:
        with tempfile.TemporaryDirectory() as directory:
            (Path(directory) / "Dockerfile").write_text(TRAEFIK_DOCKERFILE)
            build(
                client, Path(directory), f"{repository}:{tag}", {"BASE_IMAGE": f"{fleet.registry}/base/busybox:latest"}
            )
        push(client, fleet, repository, tag)
    finally:
        client.close()
    return f"{repository}:{tag}"


def kamal1_fleet(fleet_control: Fleet, fleet: FleetInfo, traefik: str, *, accessory: bool = False) -> None:
    """What Kamal 1 left: Traefik on :80 of the web hosts, app containers on Docker's default network
    (labelled as Kamal labels them), the image tagged latest; optionally a `db` accessory on h3."""
    fleet_control.reset_hosts()
    auth = {"username": fleet.registry_user, "password": fleet.registry_password}
    app = f"{fleet.registry}/demo"
    for index, host in enumerate(fleet.hosts):
        role = "web" if index < 2 else "jobs"
        with engine(host.docker_socket) as client:
            client.images.pull(app, tag="v1", auth_config=auth).tag(app, "latest")
            labels = {"service": "demo", "role": role, "destination": ""}
            command = ["/bin/sh", "/jobs.sh"] if role == "jobs" else None
            client.containers.run(
                f"{app}:v1", command, name=f"demo-{role}-v1", labels=labels, detach=True,
                restart_policy={"Name": "unless-stopped"},
            )  # fmt: skip
            if role == "web":
                repository, tag = traefik.rsplit(":", 1)
                client.images.pull(repository, tag=tag, auth_config=auth)
                client.containers.run(
                    traefik,
                    name="traefik",
                    ports={"80/tcp": 80},
                    detach=True,
                    restart_policy={"Name": "unless-stopped"},
                )
            elif accessory:
                busybox = f"{fleet.registry}/base/busybox"
                client.images.pull(busybox, tag="latest", auth_config=auth)
                client.containers.run(
                    f"{busybox}:latest", ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
                    name="demo-db", labels={"service": "demo-db"}, detach=True,
                    restart_policy={"Name": "unless-stopped"},
                )  # fmt: skip
    assert version_of(fleet.host_ips[0]) == "traefik"


def upgrade_config(fleet: FleetInfo) -> dict[str, object]:
    busybox = f"{fleet.registry}/base/busybox:latest"
    loop = "sh -c 'trap \"exit 0\" TERM; while :; do sleep 1; done'"
    return deploy_config(fleet, accessories={"db": {"image": busybox, "host": fleet.host_ips[2], "cmd": loop}})


def networks(socket: str, name: str) -> list[str]:
    with engine(socket) as client:
        return sorted(client.containers.get(name).attrs["NetworkSettings"]["Networks"])


def test_proxy_upgrade_replaces_traefik_with_kamal_proxy_as_kamal(
    fleet_control: Fleet, fleet: FleetInfo, traefik_image: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    h1, h2, _ = fleet.host_ips
    project = write_project(tmp_path_factory.mktemp("upgrade-proxy"), fleet)
    kamal1_fleet(fleet_control, fleet, traefik_image)
    with engine(fleet.hosts[0].docker_socket) as client:
        assert "kamal" not in [n.name for n in client.networks.list()]
    session = Session(root=project)
    try:
        assert isinstance(perform(session, ("proxy", "upgrade"), yes=False), Plan)  # nothing runs without yes
        state, audit = record(fleet_control, fleet, lambda: run(session, ("proxy", "upgrade")).raise_on_failure())
    finally:
        session.close()
    assert version_of(h1) == "v1" and version_of(h2) == "v1"  # kamal-proxy serves the app now
    web = state["h1"]["containers"]
    assert ("kamal-proxy", "running", "", "") in web and not any(c[0] == "traefik" for c in web)
    assert ("demo-web-latest", "running", "demo", "web") in web and ("demo-web-v1", "exited", "demo", "web") in web
    assert state["h1"]["routes"] == [("demo-web", "running")]
    assert not any("traefik" in image for image in state["h1"]["images"])
    assert networks(fleet.hosts[0].docker_socket, "demo-web-latest") == ["kamal"]
    assert audit["h1"][0] == "[operator@example.test] Rebooted proxy"

    kamal1_fleet(fleet_control, fleet, traefik_image)
    kamal_state, kamal_audit = record(fleet_control, fleet, lambda: kamal_ok(project, "proxy", "upgrade", "-y"))
    assert state == kamal_state
    assert audit == kamal_audit
    fleet_control.reset_hosts()


def test_accessory_upgrade_moves_the_accessory_into_the_kamal_network_as_kamal(
    fleet_control: Fleet, fleet: FleetInfo, traefik_image: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = write_project(tmp_path_factory.mktemp("upgrade-accessory"), fleet, upgrade_config(fleet))
    h3 = fleet.hosts[2].docker_socket
    kamal1_fleet(fleet_control, fleet, traefik_image, accessory=True)
    assert networks(h3, "demo-db") == ["bridge"]
    session = Session(root=project)
    try:
        assert isinstance(perform(session, ("accessory", "upgrade"), {"name": "db"}, yes=False), Plan)
        state, audit = record(
            fleet_control,
            fleet,
            lambda: run(session, ("accessory", "upgrade"), {"name": "db"}).raise_on_failure(),
        )
    finally:
        session.close()
    assert networks(h3, "demo-db") == ["kamal"]
    assert ("demo-db", "running", "demo-db", "") in state["h3"]["containers"]
    assert ".kamal/apps/demo/env/accessories/db.env" in state["h3"]["files"]
    assert audit["h3"] == [
        "[operator@example.test] Pull db accessory image",
        "[operator@example.test] Stopped db accessory",
        "[operator@example.test] Remove db accessory container",
        "[operator@example.test] Booted db accessory",
    ]

    kamal1_fleet(fleet_control, fleet, traefik_image, accessory=True)
    kamal_state, kamal_audit = record(
        fleet_control, fleet, lambda: kamal_ok(project, "accessory", "upgrade", "db", "-y")
    )
    assert state == kamal_state
    assert audit == kamal_audit
    fleet_control.reset_hosts()


def test_upgrade_rolling_moves_a_kamal1_fleet_host_by_host(
    fleet_control: Fleet, fleet: FleetInfo, traefik_image: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = write_project(tmp_path_factory.mktemp("upgrade-all"), fleet, upgrade_config(fleet))
    kamal1_fleet(fleet_control, fleet, traefik_image, accessory=True)
    session = Session(root=project)
    try:
        result = run(session, ("upgrade",), {"rolling": True}).raise_on_failure()
    finally:
        session.close()
    h1, h2, h3 = fleet.host_ips
    assert [m for m in result.messages if m.startswith(("Upgrading ", "Upgraded ")) and "proxy" not in m and "acc" not in m] == [
        f"Upgrading {h1}...", f"Upgraded {h1}", f"Upgrading {h2}...", f"Upgraded {h2}", f"Upgrading {h3}...", f"Upgraded {h3}",
    ]  # fmt: skip
    assert version_of(h1) == "v1" and version_of(h2) == "v1"
    assert networks(fleet.hosts[2].docker_socket, "demo-db") == ["kamal"]
    assert networks(fleet.hosts[2].docker_socket, "demo-jobs-latest") == ["kamal"]
    lock = fleet_control.node_dir("h1") / "root" / ".kamal" / "lock-demo"
    assert not lock.exists()
    fleet_control.reset_hosts()
