"""``kamal init`` (``Kamal::Cli::Main#init``): config/deploy.yml, .kamal/secrets and the sample hooks.

The same files as Kamal 2.12's ``init``, under the same names and modes, with kamal_nb's own
contents (kamal_nb/kamal_files/init): ``config/deploy.yml`` only when it is missing (else Kamal's
message), ``.kamal/secrets`` only when missing, the sample hooks only when ``.kamal/hooks`` is
missing. The two files get mode 0644 less the umask (as Ruby's ``FileUtils.cp_r`` gives them); the
hooks get 0755 whatever the umask (``FileUtils.cp preserve: true``).
``--bundle`` runs Ruby's bundler (``bundle add kamal``, ``bundle binstubs kamal``), which kamal_nb
does not: it is refused before anything is written.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from kamal_nb.ops.catalog import Args
from kamal_nb.ops.local_result import LocalCommandError, LocalResult, local_result, puts, register_local
from kamal_nb.ops.session import Context

TEMPLATES = Path(__file__).resolve().parents[2] / "kamal_files" / "init"

DEPLOY_FILE = "config/deploy.yml"
SECRETS_FILE = ".kamal/secrets"
HOOKS_DIR = ".kamal/hooks"

BUNDLE_UNSUPPORTED = (
    "--bundle is not supported: it adds Kamal to the Gemfile with Ruby's bundler "
    "(Kamal runs `bundle add kamal` and `bundle binstubs kamal`), and kamal_nb runs no Ruby; "
    "run init without --bundle"
)


def init(root: Path) -> list[str]:
    """Write what ``kamal init`` writes under ``root``; the lines Kamal prints, in order."""
    said: list[str] = []
    deploy_file = root / DEPLOY_FILE
    if deploy_file.exists():
        said.append("Config file already exists in config/deploy.yml (remove first to create a new one)")
    else:
        deploy_file.parent.mkdir(parents=True, exist_ok=True)
        _copy(TEMPLATES / "deploy.yml", deploy_file)
        said.append("Created configuration file in config/deploy.yml")
    secrets_file = root / SECRETS_FILE
    if not secrets_file.exists():
        secrets_file.parent.mkdir(parents=True, exist_ok=True)
        _copy(TEMPLATES / "secrets", secrets_file)
        said.append("Created .kamal/secrets file")
    hooks_dir = root / HOOKS_DIR
    if not hooks_dir.exists():
        hooks_dir.mkdir(parents=True)
        for sample in sorted((TEMPLATES / "sample_hooks").iterdir()):
            target = hooks_dir / sample.name
            shutil.copy2(sample, target)
            # preserve: the template's mode, 0755, whatever the umask (an install may have lost the x bits)
            os.chmod(target, 0o755)
        said.append("Created sample hooks in .kamal/hooks")
    return said


def _copy(template: Path, target: Path) -> None:
    """Ruby's ``File.open(dest, "wb", source_mode)``: the template's mode (0644) less the umask."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(descriptor, "wb") as out:
        out.write(template.read_bytes())


def _run(ctx: Context, args: Args) -> LocalResult:
    if args.get("bundle"):
        raise LocalCommandError(BUNDLE_UNSUPPORTED)
    said = init(ctx.session.root)
    return local_result("init", puts(*said), data=said)


def _notes(ctx: Context, args: Args) -> Sequence[str]:
    if args.get("bundle"):
        return (BUNDLE_UNSUPPORTED,)
    return (f"writes {DEPLOY_FILE} (unless it exists), {SECRETS_FILE} (unless it exists) and {HOOKS_DIR}/*.sample",)


register_local(("init",), "Create config stub in config/deploy.yml and secrets stub in .kamal", _run, _notes)
