"""A BuildKit session served to the Docker engine, so its built-in BuildKit can read build secrets.

This is what the `DOCKER_BUILDKIT=1 docker build` client did, without buildx: `POST /session` with
`Upgrade: h2c` hijacks the connection, and on it the engine is the HTTP/2 gRPC *client* and we are the
server. The engine only calls the methods we list in `X-Docker-Expose-Session-Grpc-Method` headers:

- `/moby.buildkit.secrets.v1.Secrets/GetSecret`: a `RUN --mount=type=secret,id=NAME` asks for NAME;
- `/grpc.health.v1.Health/Check`: the engine checks every second and drops a silent session;
- `/moby.filesync.v1.Auth/Credentials`: the registry login for a FROM image that is not local.

The messages are a few string/bytes fields, encoded by hand. A secret value lives only in this
object's memory and in the HTTP/2 frames sent to the engine: it is never logged nor written anywhere.
`h2` is imported lazily, only when a build needs a session.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    import h2.connection

GET_SECRET = "/moby.buildkit.secrets.v1.Secrets/GetSecret"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
CREDENTIALS = "/moby.filesync.v1.Auth/Credentials"
METHODS = (GET_SECRET, HEALTH_CHECK, CREDENTIALS)

# gRPC status codes (google.golang.org/grpc/codes)
OK, NOT_FOUND, INTERNAL, UNIMPLEMENTED = 0, 5, 13, 12
SERVING = 1  # grpc.health.v1.HealthCheckResponse.ServingStatus

DEFAULT_SOCKET = "/var/run/docker.sock"


class SessionError(Exception):
    """The engine did not open the session (the message has its answer) or the host is unsupported."""


# -- protobuf wire format (only what these messages use) ----------------------------------------


def varint(value: int) -> bytes:
    if value < 0:
        raise ValueError("negative varints are not used by these messages")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data):
            raise ValueError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def length_field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (string, bytes, embedded message)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def varint_field(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def fields(data: bytes) -> dict[int, list[int | bytes]]:
    """Every field of a message by number: varints as int, length-delimited as bytes; fixed skipped."""
    out: dict[int, list[int | bytes]] = {}
    at = 0
    while at < len(data):
        key, at = _read_varint(data, at)
        number, kind = key >> 3, key & 7
        value: int | bytes
        if kind == 0:
            value, at = _read_varint(data, at)
        elif kind == 2:
            size, at = _read_varint(data, at)
            if at + size > len(data):
                raise ValueError("truncated length-delimited field")
            value, at = data[at : at + size], at + size
        elif kind in (1, 5):
            at += 8 if kind == 1 else 4
            if at > len(data):
                raise ValueError("truncated fixed field")
            continue
        else:
            raise ValueError(f"unsupported wire type {kind}")
        out.setdefault(number, []).append(value)
    return out


def string_field(data: bytes, number: int) -> str:
    """The last value of a string field (proto3: the last one wins), "" when absent."""
    values = [v for v in fields(data).get(number, []) if isinstance(v, bytes)]
    return values[-1].decode("utf-8", errors="replace") if values else ""


# -- gRPC message framing ------------------------------------------------------------------------


def frame(message: bytes) -> bytes:
    """A gRPC length-prefixed message: not compressed, 4-byte big-endian length, the message."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def unframe(data: bytes) -> list[bytes]:
    """The messages of a request body; compressed or truncated frames are refused."""
    messages, at = [], 0
    while at < len(data):
        if len(data) - at < 5:
            raise ValueError("truncated gRPC frame header")
        if data[at] != 0:
            raise ValueError("compressed gRPC messages are not supported")
        size = int.from_bytes(data[at + 1 : at + 5], "big")
        if len(data) - at - 5 < size:
            raise ValueError("truncated gRPC message")
        messages.append(data[at + 5 : at + 5 + size])
        at += 5 + size
    return messages


# -- the methods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    message: bytes = b""
    detail: str = ""  # grpc-message: never holds a secret value


Credentials = Callable[[str], tuple[str, str] | None]


@dataclass
class Services:
    """What the session serves: secret values by id, registry logins by host (None: anonymous)."""

    secrets: Mapping[str, str] = field(default_factory=dict)
    credentials: Credentials | None = None
    asked: list[str] = field(default_factory=list)  # "GetSecret NAME" etc., for diagnostics, no values

    def answer(self, path: str, request: bytes) -> Answer:
        if path == HEALTH_CHECK:
            return Answer(OK, varint_field(1, SERVING))
        if path == GET_SECRET:
            name = string_field(request, 1)
            self.asked.append(f"secret {name}")
            if name not in self.secrets:
                # NOT_FOUND lets BuildKit skip an optional mount and name the id of a required one
                return Answer(NOT_FOUND, detail=f"secret {name} not found")
            return Answer(OK, length_field(1, self.secrets[name].encode()))
        if path == CREDENTIALS:
            host = string_field(request, 1)
            self.asked.append(f"credentials {host}")
            login = self.credentials(host) if self.credentials else None
            if not login:
                return Answer(OK)  # empty username and secret: pull anonymously
            return Answer(OK, length_field(1, login[0].encode()) + length_field(2, login[1].encode()))
        return Answer(UNIMPLEMENTED, detail=f"unknown method {path}")


def handle(services: Services, path: str, body: bytes) -> Answer:
    """One unary call: the request body's single message in, an answer out."""
    try:
        messages = unframe(body)
    except ValueError as error:
        return Answer(INTERNAL, detail=str(error))
    if len(messages) != 1:
        return Answer(INTERNAL, detail=f"expected one request message, got {len(messages)}")
    try:
        return services.answer(path, messages[0])
    except ValueError as error:
        return Answer(INTERNAL, detail=f"bad request message: {error}")


# -- HTTP/2 server on one connection -------------------------------------------------------------


class GrpcServer:
    """Serves `services` on an HTTP/2 connection where the peer is the client (h2c, no TLS)."""

    def __init__(self, services: Services) -> None:
        import h2.config
        import h2.connection

        self.services = services
        self.conn: h2.connection.H2Connection = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        self._requests: dict[int, tuple[str, bytearray]] = {}
        self._pending: dict[int, tuple[bytes, list[tuple[str, str]]]] = {}  # data + trailers awaiting window
        self.closed = False

    def start(self) -> bytes:
        self.conn.initiate_connection()
        return self.conn.data_to_send()

    def receive(self, data: bytes) -> bytes:
        """Feed bytes from the peer; returns the bytes to send back."""
        import h2.events

        for event in self.conn.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                self._requests[event.stream_id] = (_path(event.headers or []), bytearray())
            elif isinstance(event, h2.events.DataReceived):
                request = self._requests.get(event.stream_id)
                if request is not None and event.data:
                    request[1].extend(event.data)
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                request = self._requests.pop(event.stream_id, None)
                if request is not None:
                    self._respond(event.stream_id, handle(self.services, request[0], bytes(request[1])))
            elif isinstance(event, h2.events.StreamReset):
                self._requests.pop(event.stream_id, None)
                self._pending.pop(event.stream_id, None)
            elif isinstance(event, h2.events.WindowUpdated):
                for stream_id in list(self._pending):
                    self._flush(stream_id)
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.closed = True
        return self.conn.data_to_send()

    def _respond(self, stream_id: int, answer: Answer) -> None:
        head = [(":status", "200"), ("content-type", "application/grpc")]
        status = [("grpc-status", str(answer.status))]
        if answer.detail:
            status.append(("grpc-message", quote(answer.detail, safe=" /:")))
        if answer.status != OK:
            self.conn.send_headers(stream_id, head + status, end_stream=True)  # trailers-only
            return
        self.conn.send_headers(stream_id, head)
        self._pending[stream_id] = (frame(answer.message), status)
        self._flush(stream_id)

    def _flush(self, stream_id: int) -> None:
        data, trailers = self._pending[stream_id]
        while data:
            room = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
            if room <= 0:
                self._pending[stream_id] = (data, trailers)
                return
            self.conn.send_data(stream_id, data[:room])
            data = data[room:]
        del self._pending[stream_id]
        self.conn.send_headers(stream_id, trailers, end_stream=True)


def _path(headers: Iterable[tuple[bytes | str, bytes | str]]) -> str:
    for name, value in headers:
        if name in (":path", b":path"):
            return value.decode() if isinstance(value, bytes) else value
    return ""


# -- the session ---------------------------------------------------------------------------------


def engine_socket(docker_host: str | None, env: Mapping[str, str] | None = None) -> socket.socket:
    """A connected socket to the engine: unix:// or plain tcp:// (TLS and ssh:// are not handled here)."""
    env = os.environ if env is None else env
    host = docker_host or f"unix://{DEFAULT_SOCKET}"
    parts = urlsplit(host)
    if parts.scheme == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: Any = parts.path or DEFAULT_SOCKET
    elif parts.scheme in ("tcp", "http"):
        if env.get("DOCKER_TLS_VERIFY") or env.get("DOCKER_CERT_PATH"):
            raise SessionError(f"build secrets need a plain engine connection: TLS to {host} is not supported")
        try:
            return socket.create_connection((parts.hostname or "localhost", parts.port or 2375), timeout=30)
        except OSError as error:
            raise SessionError(f"cannot reach the Docker engine at {host}: {error}") from None
    else:
        raise SessionError(f"build secrets reach the engine over unix:// or tcp:// only, not {host}")
    sock.settimeout(30)
    try:
        sock.connect(target)
    except OSError as error:
        sock.close()
        raise SessionError(f"cannot reach the Docker engine at {host}: {error}") from None
    return sock


def upgrade_request(session_id: str, name: str, shared_key: str, api_version: str | None) -> bytes:
    path = f"/v{api_version}/session" if api_version else "/session"
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: docker",
        "User-Agent: kamal-nb",
        "Connection: Upgrade",
        "Upgrade: h2c",
        "Content-Length: 0",
        f"X-Docker-Expose-Session-Uuid: {session_id}",
        f"X-Docker-Expose-Session-Name: {name}",
        f"X-Docker-Expose-Session-Sharedkey: {shared_key}",
        *(f"X-Docker-Expose-Session-Grpc-Method: {method}" for method in METHODS),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_upgrade(sock: socket.socket) -> bytes:
    """Read the engine's answer up to the end of its headers; returns the bytes after them."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > 65536:
            break
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode(errors="replace").split("\r\n")
    if " 101 " in f"{status_line} ":
        return rest
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    length = int(headers["content-length"]) if headers.get("content-length", "").isdigit() else 4096
    while len(rest) < min(length, 4096):
        chunk = sock.recv(4096)
        if not chunk:
            break
        rest += chunk
    body = rest.decode(errors="replace").strip()
    raise SessionError(f"the engine refused the build session: {status_line or 'no answer'} {body}".strip())


class BuildSession:
    """An open session: `id` goes in the build's `session` parameter; close it after the build."""

    def __init__(self, services: Services, *, name: str, shared_key: str) -> None:
        self.services = services
        self.id = uuid.uuid4().hex
        self.name = name
        self.shared_key = shared_key
        self.error: str | None = None  # what broke the connection, if anything did
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def open(self, docker_host: str | None, *, api_version: str | None = None) -> BuildSession:
        sock = engine_socket(docker_host)
        try:
            sock.sendall(upgrade_request(self.id, self.name, self.shared_key, api_version))
            rest = read_upgrade(sock)
            server = GrpcServer(self.services)
            sock.sendall(server.start())
            if rest:
                sock.sendall(server.receive(rest))
        except BaseException:
            sock.close()
            raise
        sock.settimeout(None)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, args=(sock, server), name="kamal-nb-buildkit-session")
        self._thread.daemon = True
        self._thread.start()
        return self

    def _serve(self, sock: socket.socket, server: GrpcServer) -> None:
        try:
            while not server.closed:
                data = sock.recv(65536)
                if not data:
                    return
                out = server.receive(data)
                if out:
                    sock.sendall(out)
        except OSError as error:
            if self._sock is not None:  # not closed by us
                self.error = str(error)
        except Exception as error:  # a protocol error from h2: the engine sees the session end
            self.error = f"{type(error).__name__}: {error}"

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> BuildSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
