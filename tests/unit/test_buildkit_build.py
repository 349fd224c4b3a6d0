"""The BuildKit build's request and progress: /build parameters from the classic build's arguments, and
StatusResponse traces (built here with the protobuf field numbers of BuildKit's control.proto) turned
into plain progress lines."""

from __future__ import annotations

import base64
import json
from typing import Any

from kamal_nb.build_engine.buildkit import Progress, build_params, translate
from kamal_nb.build_engine.session import length_field, varint_field


def timestamp(seconds: int, nanos: int = 0) -> bytes:
    return varint_field(1, seconds) + varint_field(2, nanos)


def vertex(digest: str, name: str = "", *, cached: bool = False, started: int | None = None, **more: Any) -> bytes:
    data = length_field(1, digest.encode()) + length_field(3, name.encode())
    if cached:
        data += varint_field(4, 1)
    if started is not None:
        data += length_field(5, timestamp(started))
    if "completed" in more:
        data += length_field(6, timestamp(*more["completed"]))
    if "error" in more:
        data += length_field(7, more["error"].encode())
    return length_field(1, data)


def log(digest: str, text: str) -> bytes:
    return length_field(3, length_field(1, digest.encode()) + varint_field(3, 1) + length_field(4, text.encode()))


def status(digest: str, name: str, *, completed: bool) -> bytes:
    data = length_field(1, name.encode()) + length_field(2, digest.encode()) + length_field(3, name.encode())
    return length_field(2, data + (length_field(8, timestamp(10)) if completed else b""))


def test_build_params_carry_the_classic_arguments_plus_version_2_and_the_session() -> None:
    kwargs = {
        "tag": "r/demo:v1",
        "dockerfile": "Dockerfile.prod",
        "buildargs": {"A": "1"},
        "labels": {"service": "demo"},
        "nocache": True,
        "pull": False,
        "target": "runtime",
        "platform": "linux/amd64",
    }
    params = build_params(kwargs, "sess-1")
    assert params == {
        "version": "2",
        "session": "sess-1",
        "t": "r/demo:v1",
        "dockerfile": "Dockerfile.prod",
        "buildargs": '{"A": "1"}',
        "labels": '{"service": "demo"}',
        "rm": "1",
        "nocache": "1",
        "target": "runtime",
        "platform": "linux/amd64",
    }
    assert "nocache" not in build_params({"tag": "t"}, "s")


def test_vertices_are_numbered_named_once_and_closed_with_their_outcome() -> None:
    progress = Progress()
    assert progress.lines(vertex("sha256:a", "[1/2] FROM base", started=100)) == ["#1 [1/2] FROM base"]
    # the same vertex again, now done: its name is not repeated
    assert progress.lines(vertex("sha256:a", "[1/2] FROM base", started=100, completed=(101, 500_000_000))) == [
        "#1 DONE 1.5s"
    ]
    assert progress.lines(vertex("sha256:b", "[2/2] RUN make", cached=True, started=5, completed=(5,))) == [
        "#2 [2/2] RUN make",
        "#2 CACHED",
    ]
    assert progress.lines(vertex("sha256:c", "[3/3] RUN false", started=7, completed=(8,), error="exit code: 1")) == [
        "#3 [3/3] RUN false",
        "#3 ERROR: exit code: 1",
    ]
    assert progress.lines(vertex("sha256:c", "[3/3] RUN false", started=7, completed=(8,), error="x")) == []


def test_logs_come_out_whole_lines_even_when_a_line_is_split_across_messages() -> None:
    progress = Progress()
    progress.lines(vertex("sha256:r", "RUN echo", started=1))
    assert progress.lines(log("sha256:r", "first line\nsecond ha")) == ["#1 first line"]
    assert progress.lines(log("sha256:r", "lf\r\n")) == ["#1 second half"]
    assert progress.lines(log("sha256:r", "unterminated")) == []
    # the vertex ending flushes what is left, before its DONE
    assert progress.lines(vertex("sha256:r", "RUN echo", started=1, completed=(2,))) == [
        "#1 unterminated",
        "#1 DONE 1.0s",
    ]


def test_statuses_say_done_once_when_completed() -> None:
    progress = Progress()
    progress.lines(vertex("sha256:e", "exporting to image", started=1))
    assert progress.lines(status("sha256:e", "exporting layers", completed=False)) == []
    assert progress.lines(status("sha256:e", "exporting layers", completed=True)) == ["#1 exporting layers done"]
    assert progress.lines(status("sha256:e", "exporting layers", completed=True)) == []


def test_the_engine_stream_becomes_classic_chunks() -> None:
    trace = base64.b64encode(vertex("sha256:a", "[1/1] FROM base", started=1) + log("sha256:a", "half")).decode()
    chunks: list[dict[str, Any]] = [
        {"id": "moby.buildkit.trace", "aux": trace},
        {"id": "moby.buildkit.trace", "aux": "!!not base64!!"},
        {"id": "moby.image.id", "aux": {"ID": "sha256:img"}},
        {"errorDetail": {"message": "boom"}, "error": "boom"},
    ]
    out = list(translate(iter(chunks), Progress()))
    assert out == [
        {"stream": "#1 [1/1] FROM base\n"},
        {"stream": "#1 half\n"},  # flushed before the error, so the log shows what led to it
        {"errorDetail": {"message": "boom"}, "error": "boom"},
    ]
    ok: list[dict[str, Any]] = [{"stream": "Successfully tagged r/demo:v1\n"}]
    assert list(translate(iter(ok), Progress())) == ok
    assert json.dumps(out)  # plain JSON-able chunks, as the classic build yields
