"""A build on the Docker engine's built-in BuildKit (`POST /build?version=2`) with a session beside it.

Used only when the build needs what the classic builder cannot do (build secrets). The engine reads
the context from the request body; its BuildKit decides whether that body is an archive from its
first 1024 bytes, which a tar whose first entry carries a pax header overflows, so the context is
sent gzipped (the gzip magic is recognised at once). Progress comes back as `aux` messages with id
`moby.buildkit.trace`, each a base64 `StatusResponse` protobuf; `Progress` turns them into the
plain lines `docker build --progress=plain` prints, so the caller's log looks as it does for the
classic builder: chunks of `{"stream": line}`, and `{"error": ...}` when the build fails.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kamal_nb.build_engine.session import BuildSession, Services, fields

if TYPE_CHECKING:
    import docker

TRACE_ID = "moby.buildkit.trace"


def _text(value: int | bytes) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else ""


def _seconds(timestamp: int | bytes | None) -> float | None:
    """A google.protobuf.Timestamp (seconds=1, nanos=2) as float seconds."""
    if not isinstance(timestamp, bytes):
        return None
    parts = fields(timestamp)
    seconds = parts.get(1, [0])[-1]
    nanos = parts.get(2, [0])[-1]
    return (seconds if isinstance(seconds, int) else 0) + (nanos if isinstance(nanos, int) else 0) / 1e9


def _last(parts: Mapping[int, list[int | bytes]], number: int) -> int | bytes | None:
    values = parts.get(number)
    return values[-1] if values else None


@dataclass
class Progress:
    """Turns StatusResponse messages into lines: `#N name`, `#N <log line>`, `#N DONE 0.3s`, ..."""

    numbers: dict[str, int] = field(default_factory=dict)
    said: set[tuple[str, str]] = field(default_factory=set)
    partial: dict[str, str] = field(default_factory=dict)  # a vertex's log line not ended yet

    def _number(self, digest: str) -> int:
        return self.numbers.setdefault(digest, len(self.numbers) + 1)

    def _once(self, digest: str, what: str) -> bool:
        if (digest, what) in self.said:
            return False
        self.said.add((digest, what))
        return True

    def lines(self, status: bytes) -> list[str]:
        out: list[str] = []
        parts = fields(status)
        for raw in parts.get(1, []):  # vertexes
            if isinstance(raw, bytes):
                out += self._vertex(fields(raw))
        for raw in parts.get(2, []):  # statuses (pulls, exports)
            if isinstance(raw, bytes):
                out += self._status(fields(raw))
        for raw in parts.get(3, []):  # logs
            if isinstance(raw, bytes):
                out += self._log(fields(raw))
        return out

    def _vertex(self, vertex: Mapping[int, list[int | bytes]]) -> list[str]:
        digest = _text(_last(vertex, 1) or b"")
        number = self._number(digest)
        out: list[str] = []
        if self._once(digest, "name"):
            out.append(f"#{number} {_text(_last(vertex, 3) or b'')}")
        if _last(vertex, 4) and self._once(digest, "cached"):
            out.append(f"#{number} CACHED")
        error = _text(_last(vertex, 7) or b"")
        started, completed = _seconds(_last(vertex, 5)), _seconds(_last(vertex, 6))
        if (error or completed is not None) and self._once(digest, "end"):
            out += self.flush(digest)
            if error:
                out.append(f"#{number} ERROR: {error}")
            elif not _last(vertex, 4):
                took = f" {completed - started:.1f}s" if started is not None and completed is not None else ""
                out.append(f"#{number} DONE{took}")
        return out

    def _status(self, status: Mapping[int, list[int | bytes]]) -> list[str]:
        digest = _text(_last(status, 2) or b"")
        name = _text(_last(status, 3) or _last(status, 1) or b"")
        if _last(status, 8) is None or not self._once(digest, f"status {name}"):
            return []
        return [f"#{self._number(digest)} {name} done"]

    def _log(self, log: Mapping[int, list[int | bytes]]) -> list[str]:
        digest = _text(_last(log, 1) or b"")
        message = _last(log, 4)
        text = self.partial.pop(digest, "") + (_text(message) if isinstance(message, bytes) else "")
        *complete, rest = text.replace("\r\n", "\n").split("\n")
        if rest:
            self.partial[digest] = rest
        number = self._number(digest)
        return [f"#{number} {line}" for line in complete]

    def flush(self, digest: str | None = None) -> list[str]:
        """The unfinished log lines of one vertex (or of all of them)."""
        digests = [digest] if digest is not None else list(self.partial)
        return [f"#{self._number(d)} {self.partial.pop(d)}" for d in digests if d in self.partial]


def build_params(kwargs: Mapping[str, Any], session_id: str) -> dict[str, str]:
    """The /build query of `APIClient.build(**kwargs)`'s arguments, for BuildKit (`version=2`)."""
    params = {
        "version": "2",
        "session": session_id,
        "t": str(kwargs["tag"]),
        "dockerfile": str(kwargs.get("dockerfile") or "Dockerfile"),
        "buildargs": json.dumps(dict(kwargs.get("buildargs") or {})),
        "labels": json.dumps(dict(kwargs.get("labels") or {})),
        "rm": "1",
    }
    if kwargs.get("nocache"):
        params["nocache"] = "1"
    if kwargs.get("pull"):
        params["pull"] = "1"
    for name in ("target", "platform"):
        if kwargs.get(name):
            params[name] = str(kwargs[name])
    return params


def _chunks(lines: Iterator[bytes]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.strip():
            try:
                chunk = json.loads(line)
            except ValueError:
                yield {"stream": line.decode(errors="replace") + "\n"}
                continue
            if isinstance(chunk, dict):
                yield chunk


def translate(chunks: Iterator[dict[str, Any]], progress: Progress) -> Iterator[dict[str, Any]]:
    """The engine's JSON stream with BuildKit traces as `{"stream": line}` chunks."""
    for chunk in chunks:
        if chunk.get("id") == TRACE_ID:
            try:
                status = base64.b64decode(str(chunk.get("aux") or ""))
                lines = progress.lines(status)
            except (binascii.Error, ValueError):
                continue  # progress only: a message we cannot read must not fail the build
            for line in lines:
                yield {"stream": line + "\n"}
        elif chunk.get("id") == "moby.image.id":
            continue
        else:
            if "error" in chunk:
                for line in progress.flush():
                    yield {"stream": line + "\n"}
            yield chunk
    for line in progress.flush():
        yield {"stream": line + "\n"}


def buildkit_build(
    client: docker.DockerClient,
    docker_host: str | None,
    kwargs: Mapping[str, Any],
    services: Services,
    *,
    name: str,
    shared_key: str,
) -> Iterator[dict[str, Any]]:
    """Build as `APIClient.build(**kwargs, decode=True)` would, but on BuildKit with a session.

    `kwargs["fileobj"]` holds the context tar. Yields the same kind of chunks as the classic build.
    """
    api = client.api
    context = kwargs["fileobj"].getvalue()
    with BuildSession(services, name=name, shared_key=shared_key) as session:
        session.open(docker_host, api_version=api.api_version)
        response = api.post(
            f"{api.base_url}/v{api.api_version}/build",
            params=build_params(kwargs, session.id),
            data=gzip.compress(context, compresslevel=1, mtime=0),
            headers={"Content-Type": "application/x-tar"},
            stream=True,
            timeout=None,
        )
        try:
            if response.status_code >= 400:
                try:
                    message = str(response.json().get("message") or response.text)
                except ValueError:
                    message = response.text
                yield {"error": f"the engine refused the BuildKit build ({response.status_code}): {message.strip()}"}
                return
            for chunk in translate(_chunks(response.iter_lines()), Progress()):
                if "error" in chunk and session.error:
                    chunk = {**chunk, "error": f"{chunk['error']} (the build session broke: {session.error})"}
                yield chunk
        finally:
            response.close()
