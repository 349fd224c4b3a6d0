"""Hints for configs written for Kamal 1, shown after Kamal's own (unchanged) error message.

Most tutorials still show a Kamal 1 deploy.yml. Kamal 2 rejects it with terse messages
(``unknown key: traefik``, ``builder: Builder arch not set``); each hint says how to move one
difference over (reference: kamal-2.12.md section 4.11).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def kamal1_hints(raw: Mapping[object, object], project: Path) -> list[str]:
    hints: list[str] = []
    if "traefik" in raw:
        hints.append(
            "`traefik:` is Kamal 1. Kamal 2 routes through kamal-proxy: replace it with `proxy:` "
            "(host, app_port, ssl, healthcheck), or delete it for the defaults."
        )
    if "healthcheck" in raw:
        hints.append(
            "root `healthcheck:` is Kamal 1. In Kamal 2 kamal-proxy checks health: move `path`/`interval` "
            "to `proxy: { healthcheck: { path: /up, interval: 3 } }` and the port to `proxy: { app_port: … }`."
        )
    if "stop_wait_time" in raw:
        hints.append("`stop_wait_time` is Kamal 1: use `drain_timeout` (proxy roles) or `stop_timeout`.")
    builder = raw.get("builder")
    if not isinstance(builder, Mapping) or not builder.get("arch"):
        hints.append("Kamal 2 needs the image architecture: add `builder: { arch: amd64 }` (or arm64, or both).")
    if isinstance(builder, Mapping) and "multiarch" in builder:
        hints.append("`builder.multiarch` is Kamal 1: list the architectures in `builder.arch` instead.")
    env = raw.get("env")
    if (project / ".env").is_file() and not (project / ".kamal" / "secrets").is_file():
        hints.append(
            "Kamal 2 ignores .env: move the secrets to .kamal/secrets (KEY=value, or KEY=$(command)); "
            "`env.secret` names are looked up there."
        )
    elif isinstance(env, Mapping) and env.get("secret") and not (project / ".kamal").is_dir():
        hints.append("`env.secret` names are read from .kamal/secrets in Kamal 2 (not from .env).")
    return hints
