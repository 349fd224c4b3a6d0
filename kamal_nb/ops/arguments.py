"""Typed arguments of the operations in a notebook's main path: what `kamal deploy -P`, `rollback
VERSION`, `lock acquire -m MSG`... take, as values (the catalog makes them from the parsed dict,
refusing a key they have no field for)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NoArguments:
    """details, state, env push, lock status: nothing beyond the global options."""


@dataclass(frozen=True)
class DeployArguments:
    """deploy, redeploy, setup."""

    skip_push: bool = False  # -P: pull the image built and pushed before, build nothing
    no_cache: bool = False  # build without the builder's cache


@dataclass(frozen=True)
class RollbackArguments:
    version: str = ""  # the version to roll back to (a container of it must exist everywhere)


@dataclass(frozen=True)
class LockArguments:
    """lock acquire."""

    message: str = ""  # required: why the lock is held (Kamal's -m)


@dataclass(frozen=True)
class ReleaseArguments:
    """lock release."""

    older_than: str = ""  # kamal_nb: release only a lock held longer than this (90s, 30m, 2h, 1d)
