"""The remote builder's URL, the engine check, and the bridge from a unix socket to SSH channels
(here channels of a socketpair standing in for `docker system dial-stdio`'s stdin/stdout)."""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

import pytest

from kamal_nb.build_engine.remote import EngineBridge, RemoteEngineError, SshEngine, check_engine, parse_ssh_url


def test_ssh_urls_name_user_host_and_port() -> None:
    assert parse_ssh_url("ssh://builder@10.0.0.9") == SshEngine("builder", "10.0.0.9", 22)
    assert parse_ssh_url("ssh://10.0.0.9:2222", default_user="deploy") == SshEngine("deploy", "10.0.0.9", 2222)
    assert parse_ssh_url("tcp://10.0.0.9:2375") is None
    with pytest.raises(RemoteEngineError, match="no host"):
        parse_ssh_url("ssh://")


class _Engine:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def version(self) -> dict[str, Any]:
        return self.answer


def test_an_engine_too_old_for_buildkit_sessions_is_named_in_one_line() -> None:
    old = _Engine({"ApiVersion": "1.38", "Version": "18.06.3", "Os": "linux", "Arch": "amd64"})
    with pytest.raises(RemoteEngineError) as raised:
        check_engine(old, "root@builder")  # type: ignore[arg-type]
    assert "root@builder is too old" in str(raised.value) and "API 1.38" in str(raised.value)
    assert "\n" not in str(raised.value)
    windows = _Engine({"ApiVersion": "1.43", "Os": "windows"})
    with pytest.raises(RemoteEngineError, match="no BuildKit"):
        check_engine(windows, "root@builder")  # type: ignore[arg-type]
    assert check_engine(_Engine({"ApiVersion": "1.41", "Os": "linux"}), "x")["ApiVersion"] == "1.41"  # type: ignore[arg-type]


class _PairChannel:
    """One end of a socketpair with a paramiko Channel's methods; the other end echoes upper-cased."""

    def __init__(self) -> None:
        self.mine, theirs = socket.socketpair()
        threading.Thread(target=self._echo, args=(theirs,), daemon=True).start()

    @staticmethod
    def _echo(sock: socket.socket) -> None:
        with sock:
            while data := sock.recv(4096):
                sock.sendall(data.upper())

    def recv(self, nbytes: int) -> bytes:
        return self.mine.recv(nbytes)

    def recv_stderr(self, nbytes: int) -> bytes:
        return b""

    def sendall(self, data: bytes) -> None:
        self.mine.sendall(data)

    def shutdown_write(self) -> None:
        self.mine.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.mine.close()

    def settimeout(self, timeout: float | None) -> None:
        self.mine.settimeout(timeout)


def test_each_connection_to_the_bridge_is_a_channel_of_its_own_and_nothing_is_left() -> None:
    opened: list[_PairChannel] = []

    def open_channel() -> _PairChannel:
        opened.append(_PairChannel())
        return opened[-1]

    with EngineBridge(open_channel, "root@builder") as bridge:
        assert bridge.url.startswith("unix://")
        for word in (b"ping", b"pong"):
            client = socket.socket(socket.AF_UNIX)
            client.settimeout(5)
            client.connect(bridge.path)
            client.sendall(word)
            client.shutdown(socket.SHUT_WR)
            got = b""
            while data := client.recv(4096):
                got += data
            client.close()
            assert got == word.upper()
        path = bridge.path
    assert len(opened) == 2
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))


def test_image_references_split_into_server_repository_and_tag() -> None:
    from kamal_nb.build_engine.registry_api import split_image

    assert split_image("10.0.0.1:5000/demo:v1") == ("10.0.0.1:5000", "demo", "v1")
    assert split_image("localhost:5555/team/app:v2") == ("localhost:5555", "team/app", "v2")
    assert split_image("ghcr.io/org/app:v3") == ("ghcr.io", "org/app", "v3")
    assert split_image("dhh/app:v4") == ("registry-1.docker.io", "dhh/app", "v4")
    assert split_image("app:v5") == ("registry-1.docker.io", "library/app", "v5")


def test_the_manifest_list_is_dockers_for_docker_manifests_and_ocis_for_oci_ones() -> None:
    import json

    from kamal_nb.build_engine.registry_api import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, Entry, index

    body, media_type = index(
        [Entry("amd64", "sha256:a", 10, DOCKER_MANIFEST), Entry("arm64", "sha256:b", 11, DOCKER_MANIFEST)]
    )
    document = json.loads(body)
    assert media_type == DOCKER_LIST == document["mediaType"]
    assert [(m["digest"], m["size"], m["platform"]) for m in document["manifests"]] == [
        ("sha256:a", 10, {"architecture": "amd64", "os": "linux"}),
        ("sha256:b", 11, {"architecture": "arm64", "os": "linux"}),
    ]
    assert index([Entry("amd64", "sha256:a", 10, OCI_MANIFEST)])[1] == OCI_INDEX
