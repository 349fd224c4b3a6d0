"""Which app version a command targets: ``--version``, then ``$VERSION``, then the git commit.

Kamal's rule for the git fallback: the HEAD commit, plus ``_uncommitted_<16 hex>`` when the working
tree is dirty *and* the image is built from the working tree (``builder.context`` set). Without a
context Kamal builds from a clean clone of HEAD, so the commit alone names the image.
"""

from __future__ import annotations

import secrets as random_source
import subprocess
from collections.abc import Mapping

from kamal_nb.config.errors import ConfigError


def resolve_version(
    declared: str | None,
    env: Mapping[str, str],
    *,
    cwd: str,
    builds_from_working_tree: bool,
) -> str:
    if declared is not None and declared.strip():
        return declared
    if "VERSION" in env:  # even an empty $VERSION wins, as in Ruby (`ENV["VERSION"] || …`)
        return env["VERSION"]
    return git_version(cwd=cwd, builds_from_working_tree=builds_from_working_tree)


def git_version(*, cwd: str, builds_from_working_tree: bool) -> str:
    if _git(cwd, "rev-parse") is None:
        raise ConfigError(f"Can't use commit hash as version, no git repository found in {cwd}")
    revision = (_git(cwd, "rev-parse", "HEAD") or "").strip()
    dirty = bool((_git(cwd, "status", "--porcelain") or "").strip())
    if dirty and builds_from_working_tree:
        return f"{revision}_uncommitted_{random_source.token_hex(8)}"
    return revision


def _git(cwd: str, *args: str) -> str | None:
    try:
        completed = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout if completed.returncode == 0 else None


def abbreviated(version: str) -> str:
    """First 7 characters, except for ``<sha>_uncommitted_<hex>`` style versions (kept whole)."""
    return version if "_" in version else version[:7]
