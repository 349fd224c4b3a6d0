"""The SSH transport on real hosts: parallel runs, capture, events, uploads, failures, host keys."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kamal_nb.fleet import (
    EventStream,
    Failed,
    Finished,
    FleetRunner,
    HostEvent,
    HostFailures,
    HostKeyError,
    Output,
    SshSettings,
    Started,
    Upload,
)
from kamal_nb.redaction import Secret
from kamal_nb.testing.fleet import Fleet, FleetInfo

pytestmark = pytest.mark.fleet


def settings_for(fleet: FleetInfo, known_hosts: Path, **overrides: object) -> SshSettings:
    base: dict[str, object] = {
        "user": fleet.ssh_user,
        "keys": (fleet.ssh_key,),
        "keys_only": True,
        "config_files": False,
        "known_hosts": str(known_hosts),
        "connect_timeout": 5.0,
    }
    return SshSettings(**{**base, **overrides})  # type: ignore[arg-type]


@pytest.fixture
def events() -> tuple[EventStream, list[HostEvent]]:
    stream, seen = EventStream(), []
    lock = threading.Lock()

    def record(event: HostEvent) -> None:
        with lock:
            seen.append(event)

    stream.subscribe(record)
    return stream, seen


@pytest.fixture
def runner(fleet: FleetInfo, tmp_path: Path, events: tuple[EventStream, list[HostEvent]]) -> Iterator[FleetRunner]:
    with FleetRunner(settings_for(fleet, tmp_path / "known_hosts"), events[0]) as runner:
        yield runner


def test_runs_on_every_host_and_captures_each_command(
    fleet: FleetInfo, runner: FleetRunner, events: tuple[EventStream, list[HostEvent]]
) -> None:
    result = runner.run_all(fleet.host_ips, "hostname", "echo out; echo err >&2; exit 3")
    assert list(result) == fleet.host_ips
    for host in fleet.hosts:
        first, second = result[host.ip].commands
        assert (first.stdout, first.exit_code) == (f"{host.name}\n", 0)
        assert (second.stdout, second.stderr, second.exit_code) == ("out\n", "err\n", 3)
        assert second.duration > 0
        assert result[host.ip].failure == "`echo out; echo err >&2; exit 3` exited 3: err"
    assert not result.ok and set(result.failed) == set(fleet.host_ips)
    mine = [e for e in events[1] if e.host == fleet.hosts[0].ip]
    assert [type(e) for e in mine] == [Started, Output, Finished, Started, Output, Output, Finished]
    assert {(e.stream, e.text) for e in mine if isinstance(e, Output)} == {
        ("stdout", "h1"),
        ("stdout", "out"),
        ("stderr", "err"),
    }


def test_hosts_run_in_parallel_and_each_stops_at_its_first_failure(fleet: FleetInfo, runner: FleetRunner) -> None:
    # each host notes when its command started and ended: the intervals must overlap
    stamp = "date +%s.%N; sleep 1; date +%s.%N"
    result = runner.run({ip: [stamp, "false", "echo never"] for ip in fleet.host_ips})
    spans = [tuple(map(float, result[ip].commands[0].stdout.split())) for ip in fleet.host_ips]
    assert max(start for start, _ in spans) < min(end for _, end in spans)
    for ip in fleet.host_ips:
        assert [c.exit_code for c in result[ip].commands] == [0, 1]


def test_connections_are_reused_across_runs(fleet: FleetInfo, runner: FleetRunner) -> None:
    for _ in range(3):
        assert runner.run_all(fleet.host_ips, "true").ok
    assert runner.pool.opened == len(fleet.hosts)


def test_every_connection_sends_small_packets_at_once(fleet: FleetInfo, runner: FleetRunner) -> None:
    """Nagle's algorithm is off on each host's socket from the first packet (key exchange included):
    with it on, a channel open or exec request can wait for the host's delayed ACK (40 ms)."""
    assert runner.run_all(fleet.host_ips, "true").ok
    for ip in fleet.host_ips:
        transport = runner.pool.get(ip).transport
        assert transport is not None
        assert transport.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_upload_sets_the_mode_before_writing(fleet: FleetInfo, runner: FleetRunner) -> None:
    ip = fleet.hosts[0].ip
    content = b"SECRET=value with spaces\nOTHER='x'\n"
    result = runner.run_all(
        [ip],
        "mkdir -p .kamal/test && rm -f .kamal/test/app.env",
        Upload(".kamal/test/app.env", content, 0o600),
        "stat -c %a .kamal/test/app.env && cat .kamal/test/app.env",
        Upload("no/such/dir/file", b"x"),
    )
    commands = result[ip].commands
    assert commands[1].command == "upload .kamal/test/app.env (35 bytes, mode 0600)"
    assert commands[2].stdout == "600\n" + content.decode()
    assert commands[3].exit_code == 1 and "no/such/dir/file" in commands[3].stderr


def test_an_upload_is_two_round_trips_and_fixes_an_existing_files_mode(fleet: FleetInfo, runner: FleetRunner) -> None:
    """open, then the mode, the bytes (several write requests) and the close sent together: the client
    waits twice (it waited four times: open, chmod, write, close)."""
    ip = fleet.hosts[0].ip
    path = ".kamal/test/rt.env"
    assert runner.run_all([ip], f"mkdir -p .kamal/test && echo old > {path} && chmod 644 {path}").ok
    assert runner.run_all([ip], Upload(".kamal/test/warm", b"w", 0o600)).ok  # the SFTP session is open
    sftp = runner.pool.get(ip).sftp()
    seen: list[str] = []
    send, read = sftp._send_packet, sftp._read_packet

    def sending(*args: object) -> object:
        seen.append("send")
        return send(*args)

    def reading(*args: object) -> object:
        seen.append("read")
        return read(*args)

    content = bytes(range(256)) * 400  # 100 KiB: four write requests
    sftp._send_packet, sftp._read_packet = sending, reading
    try:
        assert runner.run_all([ip], Upload(path, content, 0o600)).ok
    finally:
        del sftp._send_packet, sftp._read_packet
    waits = sum(1 for before, now in zip(["read", *seen], seen, strict=False) if before == "send" and now == "read")
    assert waits == 2, seen
    assert seen.count("send") == 1 + 1 + 4 + 1  # open; mode, 4 writes, close
    check = runner.run_all([ip], f"stat -c %a {path} && sha256sum {path}")[ip].stdout.split()
    assert check[:2] == ["600", hashlib.sha256(content).hexdigest()]


def test_secrets_are_redacted_in_output_events_and_results(
    fleet: FleetInfo, runner: FleetRunner, events: tuple[EventStream, list[HostEvent]]
) -> None:
    secret = Secret("hunter2-very-secret")
    secret.reveal()  # revealing registers the value for redaction

    class Echo:
        def wire(self) -> str:
            return f"echo {secret.reveal()}"

        def __str__(self) -> str:
            return f"echo {secret}"

    ip = fleet.hosts[0].ip
    result = runner.run_all([ip], Echo())
    assert result[ip].stdout == "[REDACTED]\n"
    assert result[ip].commands[0].command == "echo [REDACTED]"
    assert "hunter2-very-secret" not in repr(events[1])


def test_a_host_without_sshd_fails_alone(
    fleet_control: Fleet, fleet: FleetInfo, runner: FleetRunner, events: tuple[EventStream, list[HostEvent]]
) -> None:
    down = fleet.hosts[2]
    fleet_control.stop_sshd(down.name)
    try:
        result = runner.run_all(fleet.host_ips, "hostname")
    finally:
        fleet_control.start_sshd(down.name)
    assert set(result.succeeded) == set(fleet.host_ips) - {down.ip}
    failure = result[down.ip].failure or ""
    assert failure.startswith(f"root@{down.ip}: connection refused")
    assert [e for e in events[1] if isinstance(e, Failed)] == [Failed(down.ip, 0, failure)]
    with pytest.raises(HostFailures, match=f"1 of 3 hosts failed:\n  {down.ip}: root@{down.ip}: connection refused"):
        result.raise_on_failure()
    # the host is back: the same runner reaches it again
    assert runner.run_all([down.ip], "hostname")[down.ip].stdout == f"{down.name}\n"


def test_a_connection_lost_between_runs_is_replaced(
    fleet_control: Fleet, fleet: FleetInfo, runner: FleetRunner
) -> None:
    host = fleet.hosts[1]
    assert runner.run_all([host.ip], "true").ok
    fleet_control.stop_sshd(host.name)  # kills the session our connection was using, too
    fleet_control.start_sshd(host.name)
    result = runner.run_all([host.ip], "hostname")
    assert result[host.ip].stdout == f"{host.name}\n"
    assert runner.pool.opened == 2


def test_a_command_past_its_timeout_fails_its_host_only(fleet: FleetInfo, tmp_path: Path) -> None:
    slow = fleet.hosts[0].ip
    with FleetRunner(settings_for(fleet, tmp_path / "kh", command_timeout=2.0)) as runner:
        plan = {ip: ["sleep 30" if ip == slow else "hostname"] for ip in fleet.host_ips}
        result = runner.run(plan)
        assert set(result.succeeded) == set(fleet.host_ips) - {slow}
        assert result[slow].failure == f"{slow}: command timed out after 2s"
        assert runner.run_all([slow], "hostname")[slow].stdout == "h1\n"  # a fresh connection


def test_a_host_that_stops_answering_fails_with_a_timeout(
    fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path
) -> None:
    hung = fleet.hosts[1]
    with FleetRunner(settings_for(fleet, tmp_path / "kh", connect_timeout=2.0, command_timeout=2.0)) as runner:
        assert runner.run_all(fleet.host_ips, "true").ok  # connections are open and warm
        fleet_control.drop_ssh_packets(hung.name)
        try:
            result = runner.run_all(fleet.host_ips, "hostname")
        finally:
            fleet_control.drop_ssh_packets(hung.name, drop=False)
        assert set(result.succeeded) == set(fleet.host_ips) - {hung.ip}
        assert result[hung.ip].failure == f"root@{hung.ip}: connection timed out after 2s"
        assert runner.run_all([hung.ip], "hostname")[hung.ip].stdout == f"{hung.name}\n"


def test_new_host_keys_are_recorded_and_changed_ones_refused(fleet: FleetInfo, tmp_path: Path) -> None:
    known_hosts = tmp_path / "ssh" / "known_hosts"
    ip = fleet.hosts[0].ip
    with FleetRunner(settings_for(fleet, known_hosts)) as runner:
        assert runner.run_all([ip], "true").ok
    recorded = known_hosts.read_text().split()
    assert recorded[:2] == [ip, "ssh-ed25519"]
    assert recorded[2] in Path(fleet.known_hosts).read_text()
    with FleetRunner(settings_for(fleet, known_hosts, host_key_policy="strict")) as runner:
        assert runner.run_all([ip], "true").ok  # known now, so strict accepts it

    import paramiko

    impostor = paramiko.Ed25519Key.from_private_key_file(fleet.ssh_key)  # any other ed25519 key
    known_hosts.write_text(f"{ip} ssh-ed25519 {impostor.get_base64()}\n")
    with FleetRunner(settings_for(fleet, known_hosts)) as runner:
        failure = runner.run_all([ip], "true")[ip].failure or ""
    assert failure.startswith(f"host key of {ip} has CHANGED")
    assert str(known_hosts) in failure

    with FleetRunner(settings_for(fleet, tmp_path / "empty", host_key_policy="strict")) as runner:
        failure = runner.run_all([ip], "true")[ip].failure or ""
    assert failure.startswith(f"host key of {ip} is unknown and unknown keys are refused")
    assert not (tmp_path / "empty").exists()


def test_host_key_errors_are_exceptions_of_their_own() -> None:
    assert issubclass(HostKeyError, Exception)


def test_a_batch_is_one_round_trip_with_a_result_per_command(
    fleet: FleetInfo, runner: FleetRunner, events: tuple[EventStream, list[HostEvent]]
) -> None:
    from kamal_nb.fleet import Batch

    ip = fleet.hosts[0].ip
    batch = Batch(("echo one; echo two", "printf 'no newline'", "echo oops >&2; exit 7", "exit 0", "hostname"))
    result = runner.run_all([ip], batch)
    commands = result[ip].commands
    assert [(c.exit_code, c.stdout, c.stderr) for c in commands] == [
        (0, "one\ntwo\n", ""),
        (0, "no newline", ""),
        (7, "", "oops\n"),
        (0, "", ""),
        (0, "h1\n", ""),
    ]
    assert [c.command for c in commands] == list(batch.commands)
    assert len([e for e in events[1] if isinstance(e, Started)]) == 1
    # each stream keeps its order; how stdout and stderr interleave is up to the network
    outputs = [e for e in events[1] if isinstance(e, Output)]
    assert [line for e in outputs if e.stream == "stdout" for line in e.lines] == ["one", "two", "no newline", "h1"]
    assert [line for e in outputs if e.stream == "stderr" for line in e.lines] == ["oops"]


def test_a_batch_times_each_command_and_says_when_each_one_ends(fleet: FleetInfo, runner: FleetRunner) -> None:
    import time
    from dataclasses import dataclass, field

    from kamal_nb.fleet import Batch

    @dataclass(frozen=True)
    class Watched(Batch):
        ended: list[tuple[int, int, float]] = field(default_factory=list, compare=False)

        def part_done(self, part: int, exit_code: int) -> None:
            self.ended.append((part, exit_code, time.monotonic()))

    ip = fleet.hosts[0].ip
    batch = Watched(("sleep 0.2", "exit 3", "sleep 1"))
    began = time.monotonic()
    commands = runner.run_all([ip], batch)[ip].commands
    returned = time.monotonic()
    # told of each end as it happens: the first two long before the round trip is over
    assert [(part, code) for part, code, _ in batch.ended] == [(0, 0), (1, 3), (2, 0)]
    assert returned - batch.ended[1][2] > 0.8
    # each command's own time, not a share of the round trip's
    first, second, third = (c.duration for c in commands)
    assert 0.2 <= first < 0.6 and second < 0.2 and 1.0 <= third < 1.5
    assert commands[0].started_at < commands[1].started_at < commands[2].started_at
    assert commands[2].started_at - commands[0].started_at >= 0.2
    assert abs(sum(c.duration for c in commands) - (returned - began)) < 0.3


def test_uploads_to_one_host_from_several_threads_all_land(fleet: FleetInfo, runner: FleetRunner) -> None:
    """Two roles of one host booting at once (boot.parallel_roles) upload their env files at the same
    time over the host's one connection: once its SFTP session existed, this used to hang for ever."""
    ip = fleet.hosts[0].ip
    assert runner.run_all([ip], "mkdir -p .kamal/test", Upload(".kamal/test/warm", b"w", 0o600)).ok
    done: dict[int, bool] = {}

    def upload(index: int) -> None:
        content = str(index).encode() * 5000
        done[index] = runner.run_all([ip], Upload(f".kamal/test/up-{index}", content, 0o600)).ok

    threads = [threading.Thread(target=upload, args=(i,), daemon=True) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not [t for t in threads if t.is_alive()], "uploads still waiting after 30 s"
    assert done == dict.fromkeys(range(8), True)
    sizes = runner.run_all([ip], "cat .kamal/test/up-* | wc -c")[ip].stdout.split()
    assert sizes == [str(5000 * 8)]
