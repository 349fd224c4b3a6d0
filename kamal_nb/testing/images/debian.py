"""A Debian root filesystem with the tutorial's services, built with debootstrap and cached.

The tutorial's system needs real MySQL and Redis images, and there is no Docker Hub here. Debian's own
packages can be installed, though, from the archive apt already uses: ``debootstrap --variant=minbase``
with MariaDB (MySQL-compatible), Redis and Python with the two client libraries gives one root
filesystem that serves all three images (database, cache, app). It is built once per recipe and kept
as a tar under a cache directory, named by a content hash of the recipe, so that later fleets only
``docker import`` it. Building needs root (debootstrap chroots) and the network path to the archive.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PACKAGES = ("mariadb-server", "mariadb-client", "redis-server", "python3", "python3-pymysql", "python3-redis")
# What the images never use; dropping it keeps the layer (and every push and pull of it) small.
# /var/lib/mysql is emptied so that the database entrypoint initialises a fresh data directory.
PRUNED = (
    "var/cache/apt",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/lib/mysql",
)
RECIPE_VERSION = 1  # bump when the steps below change in a way the recipe's fields do not show
BUILD_TIMEOUT = 900  # seconds debootstrap may take (about two minutes on a quiet machine)


class ImageBuildError(RuntimeError):
    """The root filesystem could not be built; the message says which step and why."""


def apt_source() -> tuple[str, str]:
    """The Debian mirror and suite this machine's apt uses (deb822 or one-line sources)."""
    suite = ""
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("VERSION_CODENAME="):
                suite = line.split("=", 1)[1].strip().strip('"')
    sources = [Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")]
    sources += sorted(Path("/etc/apt/sources.list.d").glob("*.list"))
    for path in sources:
        with contextlib.suppress(OSError):
            text = path.read_text()
            match = re.search(r"^URIs:\s*(\S+)", text, re.M) or re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.M)
            if match and "security" not in match.group(1):
                if not suite:
                    found = re.search(r"^Suites:\s*(\S+)", text, re.M) or re.search(r"^deb\s+\S+\s+(\S+)", text, re.M)
                    suite = found.group(1) if found else ""
                if suite:
                    return match.group(1).rstrip("/"), suite
    raise ImageBuildError("no Debian archive found in /etc/apt/sources.list{,.d}: the service images need one")


def recipe() -> dict[str, object]:
    mirror, suite = apt_source()
    return {
        "tool": "debootstrap --variant=minbase",
        "mirror": mirror,
        "suite": suite,
        "packages": sorted(PACKAGES),
        "pruned": list(PRUNED),
        "version": RECIPE_VERSION,
    }


def recipe_hash() -> str:
    return hashlib.sha256(json.dumps(recipe(), sort_keys=True).encode()).hexdigest()[:16]


def cache_dir(fleet_base: str | Path) -> Path:
    """$KAMAL_NB_IMAGE_CACHE, else ``image-cache`` under the fleet's base (fleet up/down keep it)."""
    return Path(os.environ.get("KAMAL_NB_IMAGE_CACHE") or Path(fleet_base) / "image-cache")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder per cache at a time (test runs side by side share nothing else)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def rootfs_tar(fleet_base: str | Path) -> tuple[Path, float]:
    """The cached root filesystem's tar for the current recipe, built when missing.

    Returns its path and the seconds spent building it (0 when it came from the cache).
    """
    digest = recipe_hash()
    cache = cache_dir(fleet_base)
    tar = cache / f"debian-services-{digest}.tar"
    with _locked(cache / ".lock"):
        if tar.is_file():
            return tar, 0.0
        if shutil.which("debootstrap") is None:
            _apt_install("debootstrap")
        started = time.monotonic()
        mirror, suite = apt_source()
        with tempfile.TemporaryDirectory(prefix="rootfs-", dir=cache) as work:
            root = Path(work) / "rootfs"
            argv = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite, str(root), mirror]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
            if done.returncode != 0:
                tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
                raise ImageBuildError(f"{' '.join(argv)} failed ({done.returncode}):\n{tail}")
            for relative in PRUNED:
                target = root / relative
                if target.is_dir():
                    for child in target.iterdir():
                        if child.is_dir() and not child.is_symlink():
                            shutil.rmtree(child)
                        else:
                            child.unlink()
            partial = tar.with_suffix(".partial")
            subprocess.run(
                ["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."],
                check=True,
                capture_output=True,
                timeout=300,
            )
            partial.rename(tar)
        for stale in cache.glob("debian-services-*.tar"):  # earlier recipes' builds
            if stale != tar:
                stale.unlink(missing_ok=True)
        return tar, time.monotonic() - started


def _apt_install(package: str) -> None:
    if shutil.which("apt-get") is None:
        raise ImageBuildError(f"{package} is missing and there is no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise ImageBuildError(f"apt-get install {package} failed: {done.stderr.strip()[-500:]}")
