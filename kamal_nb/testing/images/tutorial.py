"""The tutorial system's images in the fleet's registry, built from the cached Debian root filesystem.

- ``mysql:8.0``: MariaDB behind the official mysql image's entrypoint contract (``debian-mysql/``);
- ``redis:7.0``: redis-server with its data in /data (``debian-redis/``);
- ``tutorial:v1`` and ``tutorial:v2``: the tutorial's app, web and jobs roles (``tutorial-app/``).

Built only when a test or the demo asks (``provide_tutorial_images``), never by a plain ``fleet up``:
the root filesystem comes from the cache (``debian.rootfs_tar``), is imported into the fleet's build
engine, and the three small Dockerfiles go on top. A fleet whose registry already holds this recipe's
images is left alone.

    python -m kamal_nb.testing.images.tutorial [--base DIR]   # build and push; print the timings
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kamal_nb.testing.fleet_info import FleetInfo
from kamal_nb.testing.images import HERE, build, local_engine, push
from kamal_nb.testing.images.debian import recipe_hash, rootfs_tar
from kamal_nb.testing.machine import log

SERVICE = "tutorial"
APP_VERSIONS = ("v1", "v2")
DIRECTORIES = ("debian-mysql", "debian-redis", "tutorial-app")
# repository:tag in the registry -> the directory it is built from
SERVICE_IMAGES: dict[str, str] = {"mysql:8.0": "debian-mysql", "redis:7.0": "debian-redis"}


@dataclass
class TutorialImages:
    images: dict[str, str]  # name -> pushed reference: db, redis, app-v1, app-v2
    rootfs_seconds: float = 0.0  # debootstrap (0 when the root filesystem came from the cache)
    total_seconds: float = 0.0
    reused: bool = False  # the registry already held them
    steps: dict[str, float] = field(default_factory=dict)


def images_hash() -> str:
    """The root filesystem's recipe and every file the images are built from."""
    digest = hashlib.sha256(recipe_hash().encode())
    for directory in DIRECTORIES:
        for path in sorted((HERE / directory).iterdir()):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def references(info: FleetInfo) -> dict[str, str]:
    refs = {"db": f"{info.registry}/mysql:8.0", "redis": f"{info.registry}/redis:7.0"}
    return refs | {f"app-{version}": f"{info.registry}/{SERVICE}:{version}" for version in APP_VERSIONS}


def _in_registry(info: FleetInfo, repository: str, tag: str) -> bool:
    request = urllib.request.Request(f"http://{info.registry}/v2/{repository}/manifests/{tag}", method="HEAD")
    token = base64.b64encode(f"{info.registry_user}:{info.registry_password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    request.add_header("Accept", "application/vnd.docker.distribution.manifest.v2+json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def provide_tutorial_images(info: FleetInfo) -> TutorialImages:
    """Build (or find) the tutorial's images in the fleet's registry; see the module's text."""
    started = time.monotonic()
    marker = images_hash()
    base_repository = "base/debian-services"
    if _in_registry(info, base_repository, marker):  # pushed last: the others are there
        return TutorialImages(references(info), reused=True, total_seconds=time.monotonic() - started)
    steps: dict[str, float] = {}
    tar, rootfs_seconds = rootfs_tar(info.base)
    steps["rootfs"] = time.monotonic() - started
    client = local_engine(info)
    try:
        base = f"{info.registry}/{base_repository}"
        client.api.import_image_from_file(
            str(tar), repository=base, tag=marker, changes=['CMD ["/bin/bash"]', "ENV LANG=C.UTF-8"]
        )
        steps["import"] = time.monotonic() - started - sum(steps.values())
        for reference, directory in SERVICE_IMAGES.items():
            build(client, HERE / directory, f"{info.registry}/{reference}", {"BASE_IMAGE": f"{base}:{marker}"})
        for version in APP_VERSIONS:
            build(
                client,
                HERE / "tutorial-app",
                f"{info.registry}/{SERVICE}:{version}",
                {"BASE_IMAGE": f"{base}:{marker}", "VERSION": version, "SERVICE": SERVICE},
            )
        steps["build"] = time.monotonic() - started - sum(steps.values())
        for reference in SERVICE_IMAGES:
            repository, tag = reference.split(":")
            push(client, info, f"{info.registry}/{repository}", tag)
        for version in APP_VERSIONS:
            push(client, info, f"{info.registry}/{SERVICE}", version)
        push(client, info, base, marker)
        steps["push"] = time.monotonic() - started - sum(steps.values())
    finally:
        client.close()
    total = time.monotonic() - started
    made = "built" if rootfs_seconds else "from the cached root filesystem"
    log(
        f"tutorial images {made} and pushed in {total:.1f}s ("
        + ", ".join(f"{step} {seconds:.1f}s" for step, seconds in steps.items())
        + ")"
    )
    return TutorialImages(references(info), rootfs_seconds=rootfs_seconds, total_seconds=total, steps=steps)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kamal_nb.testing.images.tutorial", description="Build and push the tutorial's images"
    )
    parser.add_argument("--base", default=".fleet", help="the running fleet's folder (fleet.json)")
    args = parser.parse_args(argv)
    try:
        info = FleetInfo.load(Path(args.base).resolve())
    except FileNotFoundError:
        print(f"no running fleet in {args.base}: start one with ./dev fleet up 3", file=sys.stderr)
        return 1
    result = provide_tutorial_images(info)
    for name, reference in result.images.items():
        print(f"{name}: {reference}")
    print(f"in {result.total_seconds:.1f}s" + (" (already in the registry)" if result.reused else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
