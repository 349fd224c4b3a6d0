"""Parsing the state probe's output: docker's JSON, times, the base64 lock details, audit lines."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from kamal_nb.commands.lock import lock_details
from kamal_nb.commands.quoting import encode64
from kamal_nb.redaction import REDACTED, Secret
from kamal_nb.state.parse import (
    decode_lock_details,
    parse_audit,
    parse_audit_line,
    parse_containers,
    parse_images,
    parse_lock,
    parse_time,
    snapshot,
)
from kamal_nb.state.probe import ProbeOutput, SectionOutput

DATA = Path(__file__).parent / "data"
UTC = datetime.UTC


def recorded(name: str) -> dict[str, ProbeOutput]:
    outputs = [ProbeOutput.from_json(item) for item in json.loads((DATA / f"state_probe_{name}.json").read_text())]
    return {o.host: o for o in outputs}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T20:56:21.194342388Z", datetime.datetime(2026, 11, 26, 20, 56, 21, 194342, tzinfo=UTC)),
        ("2026-11-26T20:56:21.5Z", datetime.datetime(2026, 11, 26, 20, 56, 21, 500000, tzinfo=UTC)),
        ("2026-11-26 20:56:09 +0000 UTC", datetime.datetime(2026, 11, 26, 20, 56, 9, tzinfo=UTC)),
        ("2026-11-26 21:56:09 +0100 CET", None),  # not a form docker prints here: unreadable, not wrong
        ("2026-11-26T20:56:13Z", datetime.datetime(2026, 11, 26, 20, 56, 13, tzinfo=UTC)),
        ("2026-11-26T21:56:13+01:00", datetime.datetime(2026, 11, 26, 20, 56, 13, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),  # Go's zero time: never started / still running
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_parse_time(text: str | None, expected: datetime.datetime | None) -> None:
    assert parse_time(text) == expected


def test_containers_from_a_recorded_inspect() -> None:
    out = recorded("deployed_locked")["10.211.0.11"]
    containers = parse_containers(out.sections["containers"].stdout)
    assert [c.name for c in containers] == ["demo-web-v2", "demo-web-v1", "kamal-proxy"]
    web2, web1, proxy = containers
    assert web2.labels == {"destination": "", "role": "web", "service": "demo"}
    assert (web2.state, web2.exit_code, web2.health, web2.restart_count) == ("running", 0, None, 0)
    assert web2.image == "10.211.0.1:5000/demo:v2" and web2.image_id.startswith("sha256:982d767f")
    assert web2.started_at is not None and web2.finished_at is None and web2.active
    assert web1.state == "exited" and web1.finished_at is not None and not web1.active
    assert web1.created is not None and web2.created is not None and web1.created < web2.created
    assert proxy.labels.get("service") is None


def test_containers_health_duplicates_and_noise() -> None:
    base = {
        "id": "abc",
        "name": "/demo-web-v3",
        "image": "demo:v3",
        "image_id": "sha256:1",
        "labels": {"service": "demo", "role": "web", "destination": ""},
        "created": "2026-01-01T00:00:00Z",
        "restart_count": 4,
    }
    health = {"Status": "unhealthy", "FailingStreak": 3, "Log": [{"Output": "boom"}]}
    lines = [
        json.dumps({**base, "state": {"Status": "restarting", "ExitCode": 1, "Health": health}}),
        json.dumps({**base, "state": {"Status": "running"}}),  # the same id again: first kept
        "Error: No such container: 123",
        "{not json",
        json.dumps({**base, "id": "", "state": {}}),  # no id: skipped
    ]
    (only,) = parse_containers("\n".join(lines))
    assert (only.name, only.state, only.health, only.exit_code, only.restart_count) == (
        "demo-web-v3",
        "restarting",
        "unhealthy",
        1,
        4,
    )
    assert only.active


def test_images_from_a_recorded_listing() -> None:
    out = recorded("deployed_locked")["10.211.0.12"]
    images = parse_images(out.sections["images"].stdout)
    assert [(i.repository, i.tag) for i in images] == [
        ("10.211.0.1:5000/demo", "latest"),
        ("10.211.0.1:5000/demo", "v2"),
        ("10.211.0.1:5000/demo", "v1"),
    ]
    assert images[0].id == images[1].id != images[2].id
    assert images[0].created == datetime.datetime(2026, 11, 26, 20, 56, 9, tzinfo=UTC)
    assert images[0].size == "1.98MB"


def test_lock_as_the_real_kamal_wrote_it() -> None:
    out = recorded("deployed_locked")["10.211.0.11"]
    lock = parse_lock(out.sections["lock"].stdout)
    assert lock is not None and lock.readable
    assert lock.locked_by == "Test Operator"
    assert lock.locked_at == datetime.datetime(2026, 11, 26, 20, 56, 24, tzinfo=UTC)
    assert lock.version == "fec106c0cf75122beb684585b1be39c47e99dfba"
    assert lock.message == "investigating"
    assert lock.directory_time is not None and lock.time == lock.locked_at
    assert parse_lock(recorded("deployed_locked")["10.211.0.12"].sections["lock"].stdout) is None


def test_lock_written_by_kamal_nb_reads_back() -> None:
    details = lock_details("deploy\nwith two lines", "v9", locked_by="A. Person", locked_at="2026-01-02T03:04:05Z")
    lock = parse_lock("lock 1767323045\n" + encode64(details.encode()))
    assert lock is not None
    assert (lock.locked_by, lock.version, lock.message) == ("A. Person", "v9", "deploy\nwith two lines")
    assert lock.directory_time == datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_lock_without_readable_details() -> None:
    missing = parse_lock("lock 1767323045\n")
    assert missing is not None and not missing.readable and missing.details is None
    assert missing.time == datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    garbage = parse_lock("lock -\n!!!not base64!!!")
    assert garbage is not None and not garbage.readable and garbage.time is None
    odd = parse_lock("lock 1\n" + encode64(b"something else entirely"))
    assert odd is not None and odd.details == "something else entirely" and not odd.readable
    assert decode_lock_details(encode64(b"\xff\xfe")) is None


def test_lock_and_audit_text_is_redacted() -> None:
    secret = Secret("s3cr3t-value-in-a-message")
    details = lock_details(f"rotating {secret.reveal()}", "v1", locked_by="x", locked_at="2026-01-01T00:00:00Z")
    lock = parse_lock("lock 1\n" + encode64(details.encode()))
    assert lock is not None and lock.message == f"rotating {REDACTED}"
    (entry,) = parse_audit(f"[2026-01-01T00:00:00Z] [x] Executed cmd 'echo {secret.reveal()}' on app version 1\n")
    assert entry.message == f"Executed cmd 'echo {REDACTED}' on app version 1"


@pytest.mark.parametrize(
    ("line", "performer", "tags", "message"),
    [
        (
            "[2026-11-26T20:56:15Z] [operator@example.test] [web] Booted app version v1",
            "operator@example.test",
            ("web",),
            "Booted app version v1",
        ),
        (
            "[2026-11-26T20:56:15Z] [dev@x.com] [staging] [workers] Stopped app",
            "dev@x.com",
            ("staging", "workers"),
            "Stopped app",
        ),
        ("[2026-11-26T20:56:15Z] [root] Pruned images", "root", (), "Pruned images"),
        ("[2026-11-26T20:56:15Z] [root] [web] Renamed [x] to [y]", "root", ("web",), "Renamed [x] to [y]"),
    ],
)
def test_audit_lines(line: str, performer: str, tags: tuple[str, ...], message: str) -> None:
    entry = parse_audit_line(line)
    assert entry.parsed and entry.recorded_at == datetime.datetime(2026, 11, 26, 20, 56, 15, tzinfo=UTC)
    assert (entry.performer, entry.tags, entry.message) == (performer, tags, message)


def test_unparsable_audit_lines_are_kept() -> None:
    entries = parse_audit("garbage\n\n[2026-11-26T20:56:15Z] [root] ok\n")
    assert [(e.parsed, e.line) for e in entries] == [
        (False, "garbage"),
        (True, "[2026-11-26T20:56:15Z] [root] ok"),
    ]


def test_snapshot_of_a_healthy_host() -> None:
    snap = snapshot(recorded("deployed_locked")["10.211.0.13"])
    assert snap.reachable and snap.problems == ()
    assert snap.docker_version == "20.10.24+dfsg1"
    assert [c.name for c in snap.containers] == ["demo-jobs-v2", "demo-jobs-v1"]
    assert len(snap.images) == 3 and snap.lock is None
    assert len(snap.audit) == 10 and all(e.parsed for e in snap.audit)


def test_snapshot_of_failed_sections_and_unreachable_hosts() -> None:
    failed = ProbeOutput(
        "h",
        {
            "docker": SectionOutput(1, "\n", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock"),
            "containers": SectionOutput(1, "", "Cannot connect to the Docker daemon"),
            "images": SectionOutput(0, ""),
            "lock": SectionOutput(0, ""),
            "audit": SectionOutput(0, "[2026-11-26T20:56:15Z] [root] Pruned images\n"),
        },
    )
    snap = snapshot(failed)
    assert snap.reachable and snap.docker_version is None
    assert snap.problems == (
        "docker: exited 1: Cannot connect to the Docker daemon at unix:///var/run/docker.sock",
        "containers: exited 1: Cannot connect to the Docker daemon",
    )
    assert len(snap.audit) == 1
    gone = snapshot(ProbeOutput("h", {}, "h: connection refused"))
    assert not gone.reachable and gone.error == "h: connection refused" and gone.containers == ()
    cut = snapshot(ProbeOutput("h", {"docker": SectionOutput(0, "27.0\n")}, "h: command timed out after 5s"))
    assert not cut.reachable and cut.docker_version == "27.0" and "lock: not run" in cut.problems
