"""Building from a clean git clone of HEAD when ``builder.context`` is unset
(``Kamal::Commands::Builder::Clone``).

Kamal reads the git root, HEAD and the working directory when building these commands; here they are
a ``GitCheckout`` the caller fills in, so the builders stay free of I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from kamal_nb.commands.command import Command, cmd
from kamal_nb.commands.quoting import ruby_file_join, shellescape
from kamal_nb.config import Config


@dataclass(frozen=True)
class GitCheckout:
    root: str  # git rev-parse --show-toplevel
    revision: str  # git rev-parse HEAD
    pwd: str  # the directory kamal runs in
    tmpdir: str = "/tmp"  # Ruby's Dir.tmpdir
    used: bool = True  # whether pwd is in a git repository at all


def git(*args: str, path: str | None = None) -> Command:
    return cmd("git", ["-C", path] if path is not None else None, args)


class Clone:
    def __init__(self, config: Config, checkout: GitCheckout) -> None:
        self.config = config
        self.checkout = checkout

    @property
    def clone_directory(self) -> str:
        pwd_sha = hashlib.sha256(self.checkout.pwd.encode("utf-8")).hexdigest()[:13]
        return ruby_file_join(self.checkout.tmpdir, "kamal-clones", f"{self.config.service}-{pwd_sha}")

    @property
    def git_clone(self) -> bool:
        return self.checkout.used and not self.config.builder.context_set

    @property
    def build_directory(self) -> str:
        if not self.git_clone:
            return "."
        basename = self.checkout.root.rstrip("/").rsplit("/", 1)[-1]
        relative_pwd = self.checkout.pwd.removeprefix(self.checkout.root)
        return ruby_file_join(self.clone_directory, basename, relative_pwd)

    def clone(self) -> Command:
        return git("clone", self.escaped_root(), "--recurse-submodules", path=shellescape(self.clone_directory))

    def clone_reset_steps(self) -> list[Command]:
        path = self.escaped_build_directory()
        return [
            git("remote", "set-url", "origin", self.escaped_root(), path=path),
            git("fetch", "origin", path=path),
            git("reset", "--hard", self.checkout.revision, path=path),
            git("clean", "-fdx", path=path),
            git("submodule", "update", "--init", path=path),
            git("gc", "--auto", "--quiet", path=path),
        ]

    def clone_status(self) -> Command:
        return git("status", "--porcelain", path=self.escaped_build_directory())

    def clone_revision(self) -> Command:
        return git("rev-parse", "HEAD", path=self.escaped_build_directory())

    def escaped_root(self) -> str:
        return shellescape(self.checkout.root)

    def escaped_build_directory(self) -> str:
        return shellescape(self.build_directory)
