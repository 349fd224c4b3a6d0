"""Tokens Kamal sends unquoted (names, hosts, versions, keys, volumes…) are refused when they could run
as shell, with an error naming the key; values Kamal quotes pass and are quoted as Kamal quotes them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.commands import App
from kamal_nb.config import Config, Source, ValidationError, build_config
from kamal_nb.config.secrets import Secrets

HOSTILE = ("a;touch /tmp/pwned", "$(id)", "`id`", "a b", "a'b", 'a"b', "a\nb", "a|b", "a&b", "a>b", "é;x")


def config(tmp_path: Path, version: str | None = "999", **extra: Any) -> Config:
    (tmp_path / ".kamal").mkdir(exist_ok=True)
    (tmp_path / ".kamal" / "secrets").write_text("S=1\n")
    raw: dict[object, object] = {
        "service": "app",
        "image": "dhh/app",
        "registry": {"username": "dhh", "password": "p"},
        "servers": {"web": ["1.1.1.1"]},
        "builder": {"arch": "amd64"},
    }
    raw.update(extra)
    return build_config(
        raw,
        secrets=Secrets(".kamal/secrets", None, {}, cwd=tmp_path),
        version=version,
        source=Source(root=str(tmp_path), environment={}),
    )


CASES: dict[str, tuple[Callable[[str], dict[str, Any]], str]] = {
    "role name": (lambda v: {"servers": {v: ["1.1.1.1"]}, "primary_role": v}, "servers/"),
    "host": (lambda v: {"servers": {"web": [f"1.1.1.1{v}"]}}, "servers/web"),
    "accessory name": (lambda v: {"accessories": {f"db{v}": {"image": "db", "host": "1.1.1.1"}}}, "accessories/db"),
    "accessory host": (lambda v: {"accessories": {"db": {"image": "db", "host": v}}}, "accessories/db"),
    "volume": (lambda v: {"volumes": [f"/data{v}:/data"]}, "volumes"),
    "label name": (lambda v: {"labels": {f"k{v}": "x"}}, "labels"),
    "env name": (lambda v: {"env": {"clear": {f"K{v}": "x"}}}, "env/clear"),
    "secret env name": (lambda v: {"env": {"secret": [f"K{v}"]}}, "env/secret"),
    "option name": (lambda v: {"servers": {"web": {"hosts": ["1.1.1.1"], "options": {f"o{v}": 1}}}}, "options"),
    "image": (lambda v: {"image": f"app{v}"}, "image"),
}


@pytest.mark.parametrize("what", sorted(CASES))
@pytest.mark.parametrize("value", HOSTILE)
def test_unquoted_tokens_are_refused_naming_the_key(tmp_path: Path, what: str, value: str) -> None:
    make, key = CASES[what]
    with pytest.raises(ValidationError) as raised:
        config(tmp_path, **make(value))
    assert key in raised.value.key_path and "unquoted" in str(raised.value)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_version_is_refused(tmp_path: Path, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match=r"^version: version .* unquoted") as raised:
        config(tmp_path, version=f"v1{value}")
    assert raised.value.key_path == "version"
    # $VERSION too: it is read when the version is first needed
    loaded = build_config(
        {
            "service": "app",
            "image": "a",
            "servers": ["1.1.1.1"],
            "registry": {"username": "u", "password": "p"},
            "builder": {"arch": "amd64"},
        },
        secrets=Secrets(".kamal/secrets", None, {}, cwd=tmp_path),
        source=Source(root=str(tmp_path), environment={"VERSION": f"v1{value}"}),
    )
    with pytest.raises(ValidationError, match="unquoted"):
        _ = loaded.version


def test_legitimate_tokens_pass(tmp_path: Path) -> None:
    loaded = config(
        tmp_path,
        version="0123abc_uncommitted_0123456789abcdef",
        servers={"web": ["1.1.1.1", "app-1.example.com", "deploy@[::1]"], "jobs_2": ["host.internal"]},
        volumes=["/data:/data:ro", "${HOME}/cache:/cache", "named:/x"],
        labels={"traefik.http/x-y": "anything ; goes $(here)"},
        env={"clear": {"A.B-c_1": "v"}, "secret": ["KEY:ALIAS"]},
        accessories={
            "db-1": {"image": "ghcr.io/org/mysql:8.0@sha256:abc", "host": "1.1.1.1", "port": "127.0.0.1:3306:3306"}
        },
    )
    assert sorted(r.name for r in loaded.roles) == ["jobs_2", "web"]


def test_values_kamal_quotes_pass_and_are_quoted(tmp_path: Path) -> None:
    value = "a;b $(id) `id` 'q' \"d\" é"
    loaded = config(tmp_path, env={"clear": {"K": value}}, labels={"l": value})
    wire = App(loaded, role="web", host="1.1.1.1").run(hostname="h").wire()
    assert '--env K="a;b \\$(id) \\`id\\` \'q\' \\"d\\" "é' in wire
    assert '--label l="a;b \\$(id) \\`id\\` \'q\' \\"d\\" "é' in wire
