"""proxy `error_pages_path`, custom `ssl` certificates and `asset_path` on the real fleet, beside the
real Kamal 2.11: from the same hosts set up by Kamal at a1, a deploy of a2 by Kamal and one by kamal_nb
leave the same files (paths, modes, contents) and tell kamal-proxy the same thing. The kamal-proxy
stand-in records each deploy's arguments and what it finds at the paths it is given.

Run with its own fleet: `KAMAL_NB_TEST_FLEET=7 .venv/bin/pytest tests/fleet/test_proxy_options.py -q`.
"""

from __future__ import annotations

import hashlib
import io
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.engine.plan import Plan
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.images import local_engine, push
from kamal_nb.testing.project import deploy_config, write_project
from tests.fleet.helpers import kamal_ok, perform, run

pytestmark = pytest.mark.fleet

HOST = "app.example.test"
PAGES = {"404.html": ("<h1>Not here</h1>\n", 0o644), "503.html": ("<h1>Back soon</h1>\n", 0o640)}
CONFIG_DIR = ".kamal/proxy/apps-config/demo"
ASSETS_DIR = ".kamal/apps/demo/assets"
ROUTES = "/home/kamal-proxy/.config/kamal-proxy/routes"


def build_asset_version(fleet: FleetInfo, version: str) -> None:
    """demo:<version>: the test app with /www/assets holding app-<version>.css and a shared.css."""
    client = local_engine(fleet)
    repository = f"{fleet.registry}/demo"
    dockerfile = (
        f"FROM {repository}:v1\n"
        f"RUN mkdir -p /www/assets && echo {version} > /www/version && echo {version} > /www/assets/app-{version}.css"
        f" && echo shared-{version} > /www/assets/shared.css\n"
        f"ENV APP_VERSION={version}\n"
    )
    client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=f"{repository}:{version}", rm=True, pull=False)
    push(client, fleet, repository, version)


def certificate_pair() -> tuple[str, str]:
    """A self-signed certificate for HOST and its key, as PEM."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def write_proxy_project(directory: Path, fleet: FleetInfo, certificate: str, key: str) -> Path:
    """The demo app with error pages, custom certificates (one secret a multi-line quoted value, the
    other `$(cat …)`) and an asset path."""
    config = deploy_config(fleet, asset_path="/www/assets", error_pages_path="errors")
    proxy = dict(config["proxy"])  # type: ignore[call-overload]
    proxy.update(host=HOST, ssl={"certificate_pem": "CERT_PEM", "private_key_pem": "KEY_PEM"})
    config["proxy"] = proxy
    secrets = {"CERT_PEM": f'"{certificate}"', "KEY_PEM": "$(cat config/key.pem)"}
    (directory / "config").mkdir(parents=True)
    (directory / "config" / "key.pem").write_text(key)
    errors = directory / "errors"
    errors.mkdir()
    for name, (text, mode) in PAGES.items():
        (errors / name).write_text(text)
        (errors / name).chmod(mode)
    (errors / "index.html").write_text("not an error page\n")  # only 4??.html and 5??.html are sent
    return write_project(directory, fleet, config, secrets)


def _docker(fleet: FleetInfo, index: int) -> Any:
    import docker

    return docker.DockerClient(base_url=fleet.hosts[index].docker_socket, timeout=30)


def _files(home: Path, top: str) -> dict[str, tuple[str, bytes | None]]:
    root = home / top
    return {
        str(p.relative_to(home)): (f"{p.stat().st_mode & 0o777:o}", p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def _routes(fleet: FleetInfo, index: int) -> dict[str, dict[str, str]]:
    """What the kamal-proxy stand-in recorded for each route, the container ids and times masked."""
    client = _docker(fleet, index)
    try:
        proxies = [c for c in client.containers.list() if c.name == "kamal-proxy"]
        if not proxies:
            return {}
        listing = proxies[0].exec_run(["sh", "-c", f"cd {ROUTES} && grep -H '' *"]).output.decode()
    finally:
        client.close()
    routes: dict[str, dict[str, str]] = {}
    for line in listing.splitlines():
        service, entry = line.split(":", 1)
        key, value = entry.split("=", 1)
        if key != "deployed_at":
            routes.setdefault(service, {})[key] = re.sub(r"--target=\S+:", "--target=*:", value)
    for route in routes.values():
        route["target"] = "*:" + route["target"].rsplit(":", 1)[1]
    return routes


def fetch(ip: str, path: str) -> str:
    with urllib.request.urlopen(f"http://{ip}{path}", timeout=5) as response:
        return str(response.read().decode()).strip()


def snapshot(fleet_control: Fleet, fleet: FleetInfo) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for index, host in enumerate(fleet.hosts):
        home = fleet_control.node_dir(host.name) / "root"
        state[host.name] = {
            "files": {**_files(home, ".kamal/proxy"), **_files(home, ".kamal/apps/demo/assets")},
            "routes": _routes(fleet, index),
        }
    h1 = fleet.hosts[0].ip
    state["served"] = {path: fetch(h1, path) for path in ("/version", "/assets/app-a1.css", "/assets/app-a2.css")}
    state["served"]["/assets/shared.css"] = fetch(h1, "/assets/shared.css")
    client = _docker(fleet, 0)
    try:
        (web,) = [c for c in client.containers.list() if c.labels.get("role") == "web"]
        state["mounts"] = sorted((m["Source"].split("/root/", 1)[1], m["Destination"]) for m in web.attrs["Mounts"])
    finally:
        client.close()
    return state


@pytest.fixture(scope="module")
def states(
    fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    """From hosts set up by the real Kamal at a1: the state after Kamal's deploy of a2, and after
    kamal_nb's; and kamal_nb's deploy result and plan."""
    for version in ("a1", "a2"):
        build_asset_version(fleet, version)
    certificate, key = certificate_pair()
    project = write_proxy_project(tmp_path_factory.mktemp("proxy-options"), fleet, certificate, key)
    found: dict[str, dict[str, Any]] = {"local": {"certificate": certificate, "key": key, "project": project}}

    fleet_control.reset_hosts()
    kamal_ok(project, "setup", "-P", "--version", "a1")
    kamal_ok(project, "deploy", "-P", "--version", "a2")
    found["kamal"] = snapshot(fleet_control, fleet)

    fleet_control.reset_hosts()
    kamal_ok(project, "setup", "-P", "--version", "a1")
    session = Session(root=project)
    try:
        found["local"]["plan"] = perform(session, ("deploy",), {"skip_push": True}, yes=False, version="a2")
        result = run(session, ("deploy",), {"skip_push": True}, version="a2")
        assert result.ok, str(result)
    finally:
        session.close()
    found["ours"] = snapshot(fleet_control, fleet)
    fleet_control.reset_hosts()
    return found


def test_the_hosts_hold_the_files_the_real_kamal_leaves(states: dict[str, dict[str, Any]]) -> None:
    for host in ("h1", "h2", "h3"):
        kamal, ours = states["kamal"][host]["files"], states["ours"][host]["files"]
        assert sorted(ours) == sorted(kamal), host
        for path, (mode, content) in kamal.items():
            assert ours[path] == (mode, content), f"{host}:{path}: kamal {mode}, kamal_nb {ours[path][0]}"


def test_kamal_proxy_was_told_what_the_real_kamal_tells_it(states: dict[str, dict[str, Any]]) -> None:
    for host in ("h1", "h2", "h3"):
        assert states["ours"][host]["routes"] == states["kamal"][host]["routes"], host
    args = states["ours"]["h1"]["routes"]["demo-web"]["args"]
    assert args.startswith("demo-web --target=*:3000 --host=app.example.test --tls ")


def test_error_pages_are_on_every_app_host_and_kamal_proxy_finds_them(states: dict[str, dict[str, Any]]) -> None:
    for host in ("h1", "h2", "h3"):  # the jobs host too: Kamal sends them to every app host
        files = states["ours"][host]["files"]
        pages = {p: v for p, v in files.items() if p.startswith(f"{CONFIG_DIR}/error_pages/")}
        assert pages == {
            f"{CONFIG_DIR}/error_pages/a2": ("755", None),
            **{
                f"{CONFIG_DIR}/error_pages/a2/{name}": (f"{mode:o}", text.encode())
                for name, (text, mode) in PAGES.items()
            },
        }, host  # the pages of a1 are gone, and so is index.html, which is no error page
    for host in ("h1", "h2"):
        route = states["ours"][host]["routes"]["demo-web"]
        assert "--error-pages=/home/kamal-proxy/.apps-config/demo/error_pages/a2" in route["args"].split()
        assert route["error_pages"].split() == sorted(PAGES)  # seen from inside the proxy container


def test_custom_certificates_are_uploaded_from_the_secrets_and_kamal_proxy_reads_them(
    states: dict[str, dict[str, Any]],
) -> None:
    certificate, key = states["local"]["certificate"], states["local"]["key"]
    for host in ("h1", "h2"):
        files, route = states["ours"][host]["files"], states["ours"][host]["routes"]["demo-web"]
        cert_pem, key_pem = files[f"{CONFIG_DIR}/tls/web/cert.pem"], files[f"{CONFIG_DIR}/tls/web/key.pem"]
        assert cert_pem == ("644", certificate.encode())
        assert key_pem == ("644", key.rstrip("\n").encode())  # `$(cat …)` drops the final newline
        args = route["args"].split()
        assert "--tls-certificate-path=/home/kamal-proxy/.apps-config/demo/tls/web/cert.pem" in args
        assert "--tls-private-key-path=/home/kamal-proxy/.apps-config/demo/tls/web/key.pem" in args
        assert route["tls_certificate"] == hashlib.md5(cert_pem[1]).hexdigest()  # as the proxy read it
        assert route["tls_private_key"] == hashlib.md5(key_pem[1]).hexdigest()
    assert not any("/tls" in path for path in states["ours"]["h3"]["files"])  # jobs runs no proxy


def test_assets_of_the_old_and_new_versions_are_served_together(states: dict[str, dict[str, Any]]) -> None:
    for name in ("kamal", "ours"):
        state = states[name]
        assert state["served"] == {
            "/version": "a2",
            "/assets/app-a1.css": "a1",  # bridged from the old version
            "/assets/app-a2.css": "a2",
            "/assets/shared.css": "shared-a2",  # the new version's copy wins
        }, name
        assert (f"{ASSETS_DIR}/volumes/web-a2", "/www/assets") in state["mounts"], name
        files = state["h1"]["files"]
        assert sorted(p for p in files if p.startswith(f"{ASSETS_DIR}/volumes/")) == [
            f"{ASSETS_DIR}/volumes/web-a2",
            f"{ASSETS_DIR}/volumes/web-a2/app-a1.css",
            f"{ASSETS_DIR}/volumes/web-a2/app-a2.css",
            f"{ASSETS_DIR}/volumes/web-a2/shared.css",
        ], name  # the old version's directories are cleaned up once it stopped
        assert not any(p.startswith(ASSETS_DIR) for p in state["h3"]["files"]), name  # jobs: no proxy, no assets


def test_the_plan_lists_the_uploads_and_the_asset_steps(states: dict[str, dict[str, Any]], fleet: FleetInfo) -> None:
    plan = states["local"]["plan"]
    assert isinstance(plan, Plan)
    text = str(plan)
    h1, _, h3 = fleet.host_ips
    for name, (content, mode) in PAGES.items():
        assert f"upload {CONFIG_DIR}/error_pages/a2/{name} ({len(content)} bytes, mode {mode:04o})" in text
    assert f"upload {CONFIG_DIR}/tls/web/cert.pem" in text and f"upload {CONFIG_DIR}/tls/web/key.pem" in text
    assert "docker container cp -L demo-web-assets:/www/assets/. .kamal/apps/demo/assets/extracted/web-a2" in text
    assert "cp -rnT .kamal/apps/demo/assets/extracted/web-a2 .kamal/apps/demo/assets/volumes/web-a2" in text
    extracts = [s.host for s in plan.steps if "docker container create --name demo-web-assets" in s.text]
    assert h1 in extracts and h3 not in extracts
    assert states["local"]["certificate"].splitlines()[1] not in text and "PRIVATE KEY" not in text
