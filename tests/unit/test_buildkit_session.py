"""The BuildKit session kamal_nb serves to the engine: protobuf and gRPC framing, the answers, the
HTTP/2 server driven by a real h2 client (as the engine's gRPC client would), and the /session upgrade
against a stand-in engine on a Unix socket."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import pytest

from kamal_nb.build_engine.session import (
    CREDENTIALS,
    GET_SECRET,
    HEALTH_CHECK,
    INTERNAL,
    METHODS,
    NOT_FOUND,
    OK,
    UNIMPLEMENTED,
    BuildSession,
    GrpcServer,
    Services,
    SessionError,
    fields,
    frame,
    handle,
    length_field,
    string_field,
    unframe,
    varint,
    varint_field,
)

SECRET = "s3cr3t-build-value"


def services() -> Services:
    return Services(
        {"TOKEN": SECRET, "BIG": "x" * 300_000},
        lambda host: ("user", "pass") if host == "registry.test:5000" else None,
    )


# -- protobuf ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoded"), [(0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"), (300, b"\xac\x02")]
)
def test_varints_encode_as_protobuf_does(value: int, encoded: bytes) -> None:
    assert varint(value) == encoded
    assert fields(varint_field(1, value)) == {1: [value]}


def test_a_get_secret_request_is_read_with_its_annotations_map_skipped() -> None:
    # GetSecretRequest{ID: "TOKEN", annotations: {"k": "v"}}: a map entry is an embedded message
    entry = length_field(1, b"k") + length_field(2, b"v")
    request = length_field(1, b"TOKEN") + length_field(2, entry)
    assert string_field(request, 1) == "TOKEN"
    assert fields(request)[2] == [entry]
    # fixed 64/32-bit fields of a newer message version are skipped, not misread
    newer = request + bytes([3 << 3 | 1]) + b"\x00" * 8 + bytes([4 << 3 | 5]) + b"\x00" * 4
    assert string_field(newer, 1) == "TOKEN"


def test_proto3_takes_the_last_value_of_a_repeated_scalar_and_empty_when_absent() -> None:
    assert string_field(length_field(1, b"a") + length_field(1, b"b"), 1) == "b"
    assert string_field(b"", 1) == ""


@pytest.mark.parametrize("data", [b"\x0a\x05ab", b"\x80", b"\x0b"])
def test_truncated_or_unknown_wire_data_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        fields(data)


# -- gRPC framing ---------------------------------------------------------------------------------


def test_grpc_frames_are_length_prefixed_and_uncompressed() -> None:
    assert frame(b"abc") == b"\x00\x00\x00\x00\x03abc"
    assert unframe(frame(b"abc") + frame(b"")) == [b"abc", b""]
    with pytest.raises(ValueError, match="compressed"):
        unframe(b"\x01\x00\x00\x00\x00")
    with pytest.raises(ValueError, match="truncated"):
        unframe(b"\x00\x00\x00\x00\x05abc")


# -- answers --------------------------------------------------------------------------------------


def test_each_method_gets_its_answer() -> None:
    served = services()
    assert handle(served, HEALTH_CHECK, frame(b"")).message == b"\x08\x01"  # status SERVING
    answer = handle(served, GET_SECRET, frame(length_field(1, b"TOKEN")))
    assert (answer.status, fields(answer.message)) == (OK, {1: [SECRET.encode()]})
    missing = handle(served, GET_SECRET, frame(length_field(1, b"NOPE")))
    assert (missing.status, missing.detail) == (NOT_FOUND, "secret NOPE not found")
    login = handle(served, CREDENTIALS, frame(length_field(1, b"registry.test:5000")))
    assert fields(login.message) == {1: [b"user"], 2: [b"pass"]}
    assert handle(served, CREDENTIALS, frame(length_field(1, b"elsewhere"))).message == b""  # anonymous
    assert handle(served, "/moby.filesync.v1.FileSync/DiffCopy", frame(b"")).status == UNIMPLEMENTED
    assert handle(served, GET_SECRET, b"\x00\x00").status == INTERNAL
    # what was asked is kept for diagnostics, without values
    assert served.asked == ["secret TOKEN", "secret NOPE", "credentials registry.test:5000", "credentials elsewhere"]
    assert SECRET not in repr(served.asked)


# -- the HTTP/2 server, with a real h2 client in front ---------------------------------------------


class Client:
    """The engine's side: an HTTP/2 gRPC client, wired to a GrpcServer in memory."""

    def __init__(self, server: GrpcServer) -> None:
        self.server = server
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.to_client = server.start()
        self.streams: dict[int, dict[str, Any]] = {}

    def call(self, path: str, message: bytes) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        headers = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost")]
        headers += [("content-type", "application/grpc"), ("te", "trailers")]
        self.conn.send_headers(stream_id, headers)
        self.conn.send_data(stream_id, frame(message), end_stream=True)
        self.streams[stream_id] = {"headers": {}, "data": b"", "trailers": {}, "ended": False}
        return stream_id

    def pump(self) -> None:
        for _ in range(1000):
            to_server = self.conn.data_to_send()
            if not to_server and not self.to_client:
                return
            if to_server:
                self.to_client += self.server.receive(to_server)
            data, self.to_client = self.to_client, b""
            for event in self.conn.receive_data(data):
                stream = self.streams.get(getattr(event, "stream_id", 0))
                if isinstance(event, h2.events.ResponseReceived) and stream is not None:
                    stream["headers"] = dict(event.headers or [])
                elif isinstance(event, h2.events.DataReceived) and stream is not None:
                    stream["data"] += event.data or b""
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.TrailersReceived) and stream is not None:
                    stream["trailers"] = dict(event.headers or [])
                elif isinstance(event, h2.events.StreamEnded) and stream is not None:
                    stream["ended"] = True
        raise AssertionError("the connection never went quiet")

    def status(self, stream_id: int) -> str:
        stream = self.streams[stream_id]
        return str(stream["trailers"].get("grpc-status") or stream["headers"].get("grpc-status"))


def test_unary_calls_over_http2_get_framed_answers_and_trailers() -> None:
    client = Client(GrpcServer(services()))
    health = client.call(HEALTH_CHECK, b"")
    secret = client.call(GET_SECRET, length_field(1, b"TOKEN"))
    unknown = client.call("/moby.sshforward.v1.SSH/CheckAgent", b"")
    missing = client.call(GET_SECRET, length_field(1, b"NOPE"))
    client.pump()
    assert all(stream["ended"] for stream in client.streams.values())
    assert client.streams[health]["headers"][":status"] == "200"
    assert client.streams[health]["headers"]["content-type"] == "application/grpc"
    assert unframe(client.streams[health]["data"]) == [b"\x08\x01"]
    assert client.status(health) == "0"
    assert unframe(client.streams[secret]["data"]) == [length_field(1, SECRET.encode())]
    assert client.status(secret) == "0"
    # errors are trailers-only responses: no data, the status in the headers
    assert (client.status(unknown), client.streams[unknown]["data"]) == (str(UNIMPLEMENTED), b"")
    assert client.status(missing) == str(NOT_FOUND)
    assert client.streams[missing]["headers"]["grpc-message"] == "secret NOPE not found"


def test_a_secret_larger_than_the_flow_control_window_arrives_whole() -> None:
    client = Client(GrpcServer(services()))
    big = client.call(GET_SECRET, length_field(1, b"BIG"))
    client.pump()
    assert client.status(big) == "0"
    assert fields(unframe(client.streams[big]["data"])[0]) == {1: [b"x" * 300_000]}


# -- the /session upgrade, against a stand-in engine ----------------------------------------------


class Engine(threading.Thread):
    """Accepts one connection on a Unix socket, answers the upgrade with `reply`, and (on 101) calls
    GetSecret as the engine's gRPC client, its first bytes sent with the 101 as a real engine may."""

    def __init__(self, path: Path, reply: bytes) -> None:
        super().__init__(daemon=True)
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(path))
        self.listener.listen(1)
        self.reply = reply
        self.request = b""
        self.secret = b""
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            conn, _ = self.listener.accept()
            with conn:
                while b"\r\n\r\n" not in self.request:
                    self.request += conn.recv(4096)
                client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
                client.initiate_connection()
                if b" 101 " not in self.reply:
                    conn.sendall(self.reply)
                    return
                headers = [(":method", "POST"), (":scheme", "http"), (":path", GET_SECRET), (":authority", "x")]
                client.send_headers(1, [*headers, ("content-type", "application/grpc")])
                client.send_data(1, frame(length_field(1, b"TOKEN")), end_stream=True)
                conn.sendall(self.reply + client.data_to_send())
                while not self.secret:
                    data = conn.recv(65536)
                    if not data:
                        return
                    for event in client.receive_data(data):
                        if isinstance(event, h2.events.DataReceived):
                            self.secret = fields(unframe(event.data or b"")[0])[1][0]  # type: ignore[assignment]
                    conn.sendall(client.data_to_send())
        except BaseException as error:
            self.error = error
        finally:
            self.listener.close()


def test_the_session_is_opened_with_its_methods_and_serves_the_engine(tmp_path: Path) -> None:
    engine = Engine(
        tmp_path / "docker.sock", b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
    )
    engine.start()
    session = BuildSession(services(), name="demo", shared_key="key")
    with session.open(f"unix://{tmp_path / 'docker.sock'}", api_version="1.41"):
        engine.join(timeout=10)
    assert engine.error is None
    assert engine.secret == SECRET.encode()
    head = engine.request.decode()
    assert head.startswith("POST /v1.41/session HTTP/1.1\r\n")
    assert "Upgrade: h2c\r\n" in head and "Connection: Upgrade\r\n" in head
    assert f"X-Docker-Expose-Session-Uuid: {session.id}\r\n" in head
    assert "X-Docker-Expose-Session-Name: demo\r\n" in head
    assert "X-Docker-Expose-Session-Sharedkey: key\r\n" in head
    assert [line.split(": ")[1] for line in head.split("\r\n") if "Grpc-Method" in line] == list(METHODS)
    assert SECRET not in head
    assert session.error is None


def test_an_engine_refusing_the_session_is_reported_with_its_answer(tmp_path: Path) -> None:
    body = b'{"message":"protocol h2 not supported"}\n'
    reply = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    reply += body
    engine = Engine(tmp_path / "docker.sock", reply)
    engine.start()
    with pytest.raises(SessionError, match=r"400 Bad Request .*protocol h2 not supported"):
        BuildSession(services(), name="demo", shared_key="key").open(f"unix://{tmp_path / 'docker.sock'}")
    engine.join(timeout=10)


@pytest.mark.parametrize("host", ["ssh://user@builder", "npipe:////./pipe/docker_engine"])
def test_hosts_the_session_cannot_reach_are_named(host: str) -> None:
    with pytest.raises(SessionError, match="unix:// or tcp:// only"):
        BuildSession(services(), name="demo", shared_key="key").open(host)


def test_an_unreachable_engine_is_named(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="cannot reach the Docker engine at unix://"):
        BuildSession(services(), name="demo", shared_key="key").open(f"unix://{tmp_path / 'none.sock'}")
