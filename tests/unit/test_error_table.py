"""Every failure a user can cause or meet, provoked for real, read as the user reads it.

Each row provokes one failure kind (a sandbox fleet, or real SSH to servers on loopback that refuse,
stall or show a changed host key) and runs the command twice: ``kamal-nb`` in this process and
``%kamal`` in an IPython shell with ``%xmode Verbose``. Both must say it in at most three lines, with
no Python traceback and no secret value; the CLI exits non-zero; the notebook's exception keeps
the original error (and its traceback) as ``__cause__`` for whoever asks.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from kamal_nb import cli
from kamal_nb.notebook.errors import KamalError
from kamal_nb.ops.session import Session
from kamal_nb.sandbox.fleet import create_sandbox, set_host_down

Shell = Any  # IPython's InteractiveShell: its methods are untyped
SECRET = "pw-SEKRET-4711"  # put into the secrets file of every project below


@dataclass
class World:
    """Where a case runs: a sandbox fleet (root) with its project, or a project reaching loopback."""

    project: Path
    sandbox: Path | None
    env: dict[str, str] = field(default_factory=dict)

    def write(self, relative: str, text: str, mode: int = 0o644) -> None:
        path = self.project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)

    def edit_config(self, change: Callable[[str], str]) -> None:
        path = self.project / "config" / "deploy.yml"
        path.write_text(change(path.read_text()))

    def secret_values(self) -> list[str]:
        values = [SECRET]
        secrets = self.project / ".kamal" / "secrets"
        if secrets.exists():
            for line in secrets.read_text().splitlines():
                _, _, value = line.partition("=")
                if value and not value.startswith("$"):
                    values.append(value.strip().strip("'\""))
        return [v for v in values if len(v) >= 6]


Setup = Callable[[World], None]


@dataclass(frozen=True)
class Case:
    kind: str
    command: str
    says: str  # a phrase the short form must contain (a regular expression)
    setup: Setup | None = None
    where: str = "sandbox"  # or "refused", "silent", "changed key", "no docker": SSH/Docker on loopback


def _hook(name: str, body: str, mode: int = 0o755) -> Setup:
    return lambda world: world.write(f".kamal/hooks/{name}", f"#!/bin/sh\n{body}\n", mode)


def _adapter_failing(world: World) -> None:
    path = world.project / ".kamal" / "secrets"
    path.write_text(re.sub(r"DEMO_SECRET=.*", "DEMO_SECRET=$(kamal secrets fetch --adapter nope X)", path.read_text()))


def _wrong_registry_password(world: World) -> None:
    path = world.project / ".kamal" / "secrets"
    path.write_text(re.sub(r"KAMAL_REGISTRY_PASSWORD=.*", f"KAMAL_REGISTRY_PASSWORD={SECRET}", path.read_text()))


def _lock_held(world: World) -> None:
    assert run_cli(world, "lock acquire -m held-for-the-test --yes")[0] == 0


def _two_hosts_down(world: World) -> None:
    assert world.sandbox is not None
    set_host_down(world.sandbox, "10.200.0.12")
    set_host_down(world.sandbox, "10.200.0.13")


CASES = [
    Case("unknown command", "frobnicate", r"unknown command 'frobnicate'"),
    Case("unknown option", "deploy --bogus", r"unrecognized arguments: --bogus"),
    Case("bad option value", "app logs --lines x", r"invalid int value: 'x'"),
    Case("bad destination name", "details -d ../x", r"deploy\.\.\./x\.yml"),
    Case("unknown destination", "details -d nowhere", r"Configuration file not found .*deploy\.nowhere\.yml"),
    Case("no deploy.yml", "details -c config/missing.yml", r"Configuration file not found .*missing\.yml"),
    Case("YAML syntax error", "details", r"YAML syntax error", lambda w: w.edit_config(lambda t: t + "oops: [\n")),
    Case(
        "unknown config key",
        "details",
        r"unknown key: bogus_key",
        lambda w: w.edit_config(lambda t: t + "bogus: 1\n".replace("bogus", "bogus_key")),
    ),
    Case("unknown role", "details -r nope", r"No --roles match for nope"),
    Case("unknown host", "details -h 10.9.9.9", r"No --hosts match for 10\.9\.9\.9"),
    Case(
        "hook not executable",
        "details",
        r"pre-connect.*not executable.*chmod \+x",
        _hook("pre-connect", "exit 0", 0o644),
    ),
    Case(
        "hook failing (long output)",
        "details",
        r"Hook `pre-connect` failed.*VPN is down",
        _hook(
            "pre-connect",
            'for i in 1 2 3 4 5 6; do echo line $i; done; echo "$KAMAL_REGISTRY_PASSWORD"; echo VPN is down >&2; exit 3',
        ),
    ),
    Case("secret adapter failing", "env push --yes", r"adapter", _adapter_failing),
    Case("unreachable hosts (sandbox)", "details", r"2 of 3 hosts.*connection refused", _two_hosts_down),
    Case(
        "registry login refused",
        "deploy -P --version v1 --yes",
        r"3 of 3 hosts.*docker login.*unauthorized",
        _wrong_registry_password,
    ),
    Case(
        "registry unreachable",
        "deploy -P --version v1 --yes",
        r"3 of 3 hosts.*docker login",
        lambda w: w.edit_config(lambda t: t.replace("server: 10.200.0.1:5000", "server: 10.200.0.1:5999")),
    ),
    Case("lock held", "deploy -P --version v1 --yes", r"Deploy lock found.*held-for-the-test", _lock_held),
    Case("command failing on every host", "server exec 'exit 3' --yes", r"3 of 3 hosts.*exit(ed)? 3"),
    Case("interrupted", "details", r"interrupted", _hook("pre-connect", "kill -INT $PPID; sleep 2")),
    Case(
        "interrupted mid-deploy",
        "deploy -P --version v1 --yes",
        r"kamal deploy was interrupted; the deploy lock was released",
        _hook("pre-deploy", "kill -INT $PPID; sleep 2"),
    ),
    Case("SSH connection refused", "details", r"connection refused", where="refused"),
    Case("SSH timeout", "details", r"timed out|banner", where="silent"),
    Case("SSH host key changed", "details", r"host key.*changed|changed.*key", where="changed key"),
    Case(
        "no local Docker engine",
        "build push --version v1 --yes",
        r"local Docker engine .* does not answer",
        where="no docker",
    ),
]


# -- the places a case runs ------------------------------------------------------------------------


@pytest.fixture
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    case: Case = request.param
    if case.where == "sandbox":
        info = create_sandbox(tmp_path / "sandbox", hosts=3)
        yield World(info.project, info.root, {"KAMAL_NB_BACKEND": "sandbox", "KAMAL_NB_SANDBOX_DIR": str(info.root)})
        return
    with _loopback_server(case.where) as (port, ssh_config):
        project = tmp_path / "project"
        ssh = f"  port: {port}\n  keys_only: true\n  config: {ssh_config}\n"
        (project / "config").mkdir(parents=True)
        (project / "config" / "deploy.yml").write_text(
            "service: demo\nimage: demo\nservers:\n  - 127.0.0.1\n"
            f"ssh:\n{ssh}"
            "registry:\n  server: 127.0.0.1:1\n  username: testuser\n  password:\n    - KAMAL_REGISTRY_PASSWORD\n"
            "builder:\n  arch: amd64\n"
        )
        (project / ".kamal").mkdir()
        (project / ".kamal" / "secrets").write_text(f"KAMAL_REGISTRY_PASSWORD={SECRET}\n")
        (project / "Dockerfile").write_text("FROM scratch\n")
        env = {"KAMAL_NB_BACKEND": "ssh", "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
        yield World(project, None, env)


class _Quiet(paramiko.ServerInterface):
    pass


def _serve(kind: str, listener: socket.socket, stop: threading.Event, key: paramiko.PKey) -> None:
    held: list[Any] = []
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        if kind == "silent":
            held.append(conn)  # accepted, never a byte: the client's banner wait runs out
            continue
        transport = paramiko.Transport(conn)
        transport.add_server_key(key)
        with contextlib.suppress(paramiko.SSHException, EOFError, OSError):  # the client hangs up: fine
            transport.start_server(server=_Quiet())
        held.append(transport)
    for item in held:
        item.close()


class _loopback_server:
    """A server on 127.0.0.1 for one case: none listening (refused), one that accepts and stays
    silent, one whose SSH host key differs from the recorded one; or none needed (no docker)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __enter__(self) -> tuple[int, str]:
        import tempfile

        self.dir = tempfile.TemporaryDirectory()
        ssh_config = Path(self.dir.name) / "ssh_config"
        known_hosts = Path(self.dir.name) / "known_hosts"
        ssh_config.write_text(f"Host *\n  UserKnownHostsFile {known_hosts}\n  StrictHostKeyChecking accept-new\n")
        self.stop = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        port = self.listener.getsockname()[1]
        self.thread: threading.Thread | None = None
        if self.kind in ("refused", "no docker"):
            self.listener.close()  # nothing listens on the port
            return port, str(ssh_config)
        key, recorded = paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()  # throwaway host keys
        known_hosts.write_text(f"[127.0.0.1]:{port} {recorded.get_name()} {recorded.get_base64()}\n")
        self.listener.listen(8)
        self.thread = threading.Thread(target=_serve, args=(self.kind, self.listener, self.stop, key), daemon=True)
        self.thread.start()
        return port, str(ssh_config)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
            self.listener.close()
        self.dir.cleanup()


# -- running a case both ways ----------------------------------------------------------------------


def run_cli(world: World, command: str) -> tuple[int, str, str]:
    """`kamal-nb COMMAND` in this process, in the project directory, with the world's environment."""
    import shlex

    out, err = io.StringIO(), io.StringIO()
    with _environment(world):
        rc = cli.main(shlex.split(command), out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


class _environment:
    def __init__(self, world: World) -> None:
        self.world = world

    def __enter__(self) -> None:
        self.saved = {k: os.environ.get(k) for k in self.world.env}
        self.cwd = os.getcwd()
        os.environ.update(self.world.env)
        os.chdir(self.world.project)

    def __exit__(self, *exc: object) -> None:
        os.chdir(self.cwd)
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def ip() -> Iterator[Shell]:
    shell: Shell = InteractiveShell.instance()
    shell.config.pop("KamalMagics", None)
    if "kamal_nb" in shell.extension_manager.loaded:
        shell.run_line_magic("reload_ext", "kamal_nb")
    else:
        shell.run_line_magic("load_ext", "kamal_nb")
    shell.run_line_magic("config", "KamalMagics.widgets = 'off'")
    shell.run_line_magic("config", "KamalMagics.connect_timeout = 1.5")
    shell.run_line_magic("xmode", "Verbose")
    yield shell
    shell.run_line_magic("xmode", "Context")
    shell.run_line_magic("unload_ext", "kamal_nb")
    shell.config.pop("KamalMagics", None)


FAILURE_START = re.compile(r"^(UsageError|Kamal\w+|kamal(-nb)? [^:]*: |\s*ERROR \()")


def short_form(text: str) -> list[str]:
    """The failure as shown: from its first line (the error's name, or `kamal-nb X:`) to the end."""
    lines = text.rstrip("\n").splitlines()
    for index, line in enumerate(lines):
        if FAILURE_START.match(_plain(line)) and "ok (" not in line:
            return lines[index:]
    return lines


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.mark.slow
@pytest.mark.parametrize("world", CASES, indirect=True, ids=[c.kind for c in CASES])
def test_a_failure_is_short_in_kamal_nb_and_in_a_notebook(
    world: World, ip: Shell, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    case: Case = request.node.callspec.params["world"]
    if case.setup is not None:
        case.setup(world)
    secrets = world.secret_values()

    # the command line: a non-zero exit, one to three lines saying it
    # the command line has no connect-timeout option: its sessions get a short one for the test
    original = Session.__post_init__

    def short_connect_timeout(session: Session) -> None:
        original(session)
        session.connect_timeout = 1.5

    monkeypatch.setattr(Session, "__post_init__", short_connect_timeout)
    rc, out, err = run_cli(world, case.command)
    shown = out + err
    said = short_form(err) if err.strip() else short_form(out)
    assert rc != 0, shown
    assert "Traceback" not in shown, shown
    assert 1 <= len(said) <= 3, f"{len(said)} lines:\n" + "\n".join(said)
    assert re.search(case.says, _plain(" ".join(said)), re.IGNORECASE | re.DOTALL), "\n".join(said)
    assert not [s for s in secrets if s in shown], shown

    # the notebook: no traceback even in verbose mode, the same few lines, the cause kept
    with _environment(world), capture_output() as captured:
        outcome = ip.run_cell(f"%kamal {case.command}")
    shown = _plain(captured.stdout + captured.stderr)
    error = outcome.error_in_exec
    assert error is not None, shown
    said = short_form(shown)
    assert "Traceback" not in shown and "most recent call" not in shown, shown
    assert 1 <= len(said) <= 3, f"{len(said)} lines:\n" + "\n".join(said)
    assert re.search(case.says, " ".join(said), re.IGNORECASE | re.DOTALL), "\n".join(said)
    assert not [s for s in secrets if s in shown], shown
    if isinstance(error, KamalError) and not hasattr(error, "result"):
        assert error.__cause__ is not None, "the original error (and its traceback) stays on the exception"


def test_the_table_covers_fifteen_kinds() -> None:
    assert len({c.kind for c in CASES}) >= 15
