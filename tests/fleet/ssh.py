"""A plain fabric connection to a test-fleet host, for tests that check the fleet itself."""

from __future__ import annotations

from typing import Any

from kamal_nb.testing.fleet import FleetInfo


def connect(fleet: FleetInfo, ip: str) -> Any:
    from fabric import Config, Connection

    # in_stream=False: under pytest, invoke would otherwise read the captured stdin and fail.
    config = Config(overrides={"run": {"in_stream": False, "hide": True, "warn": True}})
    return Connection(
        ip,
        user=fleet.ssh_user,
        config=config,
        connect_timeout=10,
        connect_kwargs={"key_filename": fleet.ssh_key, "look_for_keys": False, "allow_agent": False},
    )
