"""``registry:3`` for the local engine, built from Debian's docker-registry package (no Docker Hub).

Kamal's ``registry setup`` runs ``docker run … registry:3`` on the local engine for a local
registry (``registry.server: localhost:PORT``); here that tag is an image made ``FROM scratch`` of
``/usr/bin/docker-registry``, the shared libraries it loads (as ``ldd`` lists them) and a config
that serves ``:5000`` from ``/var/lib/registry`` without auth, as the upstream image does.
"""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import docker

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
TAG = "registry:3"
CONFIG = """\
version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
"""
DOCKERFILE = """\
FROM scratch
COPY rootfs/ /
EXPOSE 5000
VOLUME /var/lib/registry
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
"""


def _libraries(binary: Path) -> list[Path]:
    listed = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=30, check=False).stdout
    return [Path(p) for p in re.findall(r"(/\S+) \(0x", listed)]


def context() -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:

        def add(name: str, data: bytes, mode: int = 0o644) -> None:
            entry = tarfile.TarInfo(name)
            entry.size, entry.mode = len(data), mode
            tar.addfile(entry, io.BytesIO(data))

        add("Dockerfile", DOCKERFILE.encode())
        add("rootfs/bin/registry", REGISTRY_BINARY.read_bytes(), 0o755)
        add("rootfs/etc/docker/registry/config.yml", CONFIG.encode())
        for library in _libraries(REGISTRY_BINARY):
            add(f"rootfs{library}", library.read_bytes(), 0o755)
        for directory in ("rootfs/tmp", "rootfs/var/lib/registry"):
            entry = tarfile.TarInfo(directory)
            entry.type, entry.mode = tarfile.DIRTYPE, 0o1777 if directory.endswith("tmp") else 0o755
            tar.addfile(entry)
    buffer.seek(0)
    return buffer


def provide_registry_image(client: docker.DockerClient) -> str:
    """Build ``registry:3`` on ``client``'s engine (the classic builder: FROM scratch pulls nothing)."""
    client.images.build(fileobj=context(), custom_context=True, tag=TAG, rm=True, pull=False)
    return TAG
