"""Images the test fleet provides in its registry, all built from busybox (there is no Docker Hub).

- ``base/busybox:latest``: a busybox root filesystem imported with ``docker import``;
- ``basecamp/kamal-proxy:v0.9.2``: the kamal-proxy stand-in, where Kamal's ``proxy.run`` finds it;
- ``demo:v1`` and ``demo:v2``: the test app (service label ``demo``).

Builds go to the fleet's local engine through the Docker SDK and are pushed with the fleet's login.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import docker

    from kamal_nb.testing.fleet_info import FleetInfo

HERE = Path(__file__).parent
BUSYBOX = Path("/bin/busybox")
# Kamal refuses a kamal-proxy older than its minimum; the stand-in is tagged with that version.
PROXY_VERSION = "v0.9.2"
APP_SERVICE = "demo"
APP_VERSIONS = ("v1", "v2")


def local_engine(info: FleetInfo) -> docker.DockerClient:
    import docker

    return docker.DockerClient(base_url=info.local_docker_socket, timeout=120)


def busybox_rootfs_tar() -> bytes:
    """A root filesystem with busybox and a link for each of its applets, as an uncompressed tar."""
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout.split()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:

        def add_dir(name: str, mode: int = 0o755) -> None:
            entry = tarfile.TarInfo(name)
            entry.type, entry.mode = tarfile.DIRTYPE, mode
            tar.addfile(entry)

        def add_file(name: str, data: bytes, mode: int = 0o644) -> None:
            entry = tarfile.TarInfo(name)
            entry.size, entry.mode = len(data), mode
            tar.addfile(entry, io.BytesIO(data))

        for name in ("bin", "etc", "root", "proc", "sys", "dev", "var", "usr", "usr/local", "usr/local/bin"):
            add_dir(name)
        add_dir("tmp", 0o1777)
        add_file("bin/busybox", BUSYBOX.read_bytes(), 0o755)
        for applet in applets:
            if applet != "busybox":
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type, link.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(link)
        add_file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
        add_file("etc/group", b"root:x:0:\n")
    return buffer.getvalue()


def context_tar(directory: Path) -> io.BytesIO:
    """The build context of ``directory`` (its files, with their modes)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(directory.iterdir()):
            if path.is_file() and path.suffix != ".py":
                tar.add(path, arcname=path.name)
    buffer.seek(0)
    return buffer


def build(client: docker.DockerClient, directory: Path, tag: str, buildargs: dict[str, str]) -> None:
    """Build with the classic builder; raise with the build log's tail when it fails."""
    import docker

    try:
        client.images.build(
            fileobj=context_tar(directory), custom_context=True, tag=tag, buildargs=buildargs, rm=True, pull=False
        )
    except docker.errors.BuildError as error:
        tail = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in error.build_log)[-2000:]
        raise RuntimeError(f"building {tag} from {directory} failed: {error.msg}\n{tail}") from error


def push(client: docker.DockerClient, info: FleetInfo, repository: str, tag: str) -> None:
    auth = {"username": info.registry_user, "password": info.registry_password}
    for status in client.images.push(repository, tag=tag, auth_config=auth, stream=True, decode=True):
        if "error" in status:
            raise RuntimeError(f"pushing {repository}:{tag} failed: {status['error']}")


def build_app(info: FleetInfo, version: str, *, healthy: bool = True, service: str = APP_SERVICE) -> str:
    """Build and push the test app at ``version``; returns the pushed image reference.

    ``healthy=False`` builds a version whose /up answers 404, for deploys that must fail.
    """
    client = local_engine(info)
    repository = f"{info.registry}/{service}"
    base = f"{info.registry}/base/busybox:latest"
    build(
        client,
        HERE / "app",
        f"{repository}:{version}",
        {"BASE_IMAGE": base, "VERSION": version, "HEALTHY": "1" if healthy else "0", "SERVICE": service},
    )
    push(client, info, repository, version)
    return f"{repository}:{version}"


def provide_images(info: FleetInfo) -> dict[str, str]:
    """Import the base image, build the stand-in proxy and the app, push all of them."""
    started = time.monotonic()
    client = local_engine(info)
    base_repo = f"{info.registry}/base/busybox"
    client.api.import_image_from_data(
        busybox_rootfs_tar(), repository=base_repo, tag="latest", changes=['CMD ["/bin/sh"]', "ENV PATH=/bin"]
    )
    push(client, info, base_repo, "latest")
    proxy_repo = f"{info.registry}/basecamp/kamal-proxy"
    build(client, HERE / "kamal-proxy", f"{proxy_repo}:{PROXY_VERSION}", {"BASE_IMAGE": f"{base_repo}:latest"})
    push(client, info, proxy_repo, PROXY_VERSION)
    images: dict[str, Any] = {"base": f"{base_repo}:latest", "kamal-proxy": f"{proxy_repo}:{PROXY_VERSION}"}
    for version in APP_VERSIONS:
        images[f"app-{version}"] = build_app(info, version)
    from kamal_nb.testing.machine import log

    log(f"images built and pushed in {time.monotonic() - started:.2f}s")
    return images
