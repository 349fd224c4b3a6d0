"""`builder.secrets` on the fleet's build engine: BuildKit reads each secret through kamal_nb's session
(`RUN --mount=type=secret`), the image is pushed and deployed, and the value is nowhere but in the
mount: not in the image, the plan, the result, the build log or the run log.

Run with its own fleet: `KAMAL_NB_TEST_FLEET=4 .venv/bin/pytest tests/fleet/test_build_secrets.py`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from pathlib import Path

import pytest

from kamal_nb.config.errors import ConfigError
from kamal_nb.engine.plan import Plan
from kamal_nb.fleet.events import HostEvent, Output
from kamal_nb.ops.build.deliver import BuildError
from kamal_nb.ops.session import Session
from kamal_nb.testing import images
from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.helpers import perform, run
from tests.fleet.project import deploy_config, write_project

pytestmark = pytest.mark.fleet

APP = Path(images.__file__).parent / "app"
BUILD_TOKEN = "build-token-value-7c6b5a4d3e"
# several lines, as a key file would be: each line must stay out of the logs too
OTHER_TOKEN = "first-line-of-other-9a8b\nsecond-line-of-other-1c2d"
DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG VERSION=dev
ARG SERVICE=demo
RUN mkdir -p /www && echo "$VERSION" > /www/version && echo ok > /www/up
# what the image keeps of the secrets: their digests and lengths, never the values
RUN --mount=type=secret,id=BUILD_TOKEN --mount=type=secret,id=OTHER_TOKEN \\
    sha256sum /run/secrets/BUILD_TOKEN | cut -d' ' -f1 > /www/token-sha \\
 && wc -c < /run/secrets/BUILD_TOKEN | tr -d ' ' > /www/token-length \\
 && sha256sum /run/secrets/OTHER_TOKEN | cut -d' ' -f1 > /www/other-sha \\
 && echo "the build sees $(cat /run/secrets/BUILD_TOKEN)" \\
 && cat /run/secrets/OTHER_TOKEN
COPY web.sh jobs.sh /
EXPOSE 3000
LABEL service=$SERVICE
CMD ["/bin/sh", "/web.sh"]
"""


def _project(tmp_path: Path, fleet: FleetInfo, dockerfile: str, secret_names: list[str], **secrets: str) -> Path:
    """A git project whose HEAD holds the app and `dockerfile` (the build context is its archive)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "Dockerfile").write_text(dockerfile)
    for script in ("web.sh", "jobs.sh"):
        shutil.copy(APP / script, tmp_path / script)
    builder = {
        "arch": "amd64",
        "args": {"BASE_IMAGE": f"{fleet.registry}/base/busybox:latest", "SERVICE": "demo", "VERSION": "s1"},
        "secrets": secret_names,
    }
    return write_project(tmp_path, fleet, deploy_config(fleet, builder=builder), secrets)


def _session(project: Path, fleet: FleetInfo) -> Session:
    return Session(root=project, env={**os.environ, "DOCKER_HOST": fleet.local_docker_socket})


def _get(ip: str, path: str) -> str:
    with urllib.request.urlopen(f"http://{ip}/{path}", timeout=5) as response:
        return str(response.read().decode()).strip()


def _tags(socket: str) -> set[str]:
    import docker

    client = docker.DockerClient(base_url=socket, timeout=60)
    try:
        return {tag for image in client.images.list() for tag in image.tags}
    finally:
        client.close()


def test_build_secrets_are_mounted_in_the_build_and_appear_nowhere_else(
    fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet_control.reset_hosts()
    run_log = tmp_path / "runs.jsonl"
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(run_log))
    project = _project(
        tmp_path / "app",
        fleet,
        DOCKERFILE,
        ["BUILD_TOKEN", "OTHER_TOKEN"],
        BUILD_TOKEN=BUILD_TOKEN,
        OTHER_TOKEN=f'"{OTHER_TOKEN}"',  # a double-quoted dotenv value spans lines
    )
    session = _session(project, fleet)
    seen: list[HostEvent] = []
    session.events.subscribe(seen.append)
    try:
        plan = perform(session, ("build", "push"), yes=False, version="s1")
        assert isinstance(plan, Plan)
        assert '--secret id="BUILD_TOKEN" --secret id="OTHER_TOKEN"' in str(plan)
        assert "refused" not in str(plan)
        result = run(session, ("setup",), version="s1")
        assert result.ok, str(result)
    finally:
        session.close()

    # the image holds what the build computed from the mounted secrets, on every web host
    for host in fleet.hosts[:2]:
        assert _get(host.ip, "version") == "s1"
        assert _get(host.ip, "token-sha") == hashlib.sha256(BUILD_TOKEN.encode()).hexdigest()
        assert _get(host.ip, "token-length") == str(len(BUILD_TOKEN))
        assert _get(host.ip, "other-sha") == hashlib.sha256(OTHER_TOKEN.encode()).hexdigest()

    # the BuildKit progress reached the build log, with the echoed secret masked
    log = "".join(event.text + "\n" for event in seen if isinstance(event, Output) and event.host == "local")
    assert "RUN --mount=type=secret,id=BUILD_TOKEN" in log
    assert "the build sees [REDACTED]" in log

    # nowhere else: plan, result (every view of it), events, run log, nor the image's layers
    produced = [str(plan), str(result), repr(result), result.df.to_string(), log, run_log.read_text()]
    produced += [result.output(host) for host in result.hosts]
    produced += [repr(event) for event in seen]
    bundle = getattr(result, "_repr_mimebundle_", None)
    if callable(bundle):
        produced += [str(v) for v in bundle().values()]
    everything = "\n".join(produced)
    for value in (BUILD_TOKEN, *OTHER_TOKEN.split("\n")):
        assert value not in everything, f"a build secret leaked: {value[:6]}..."
    import docker

    client = docker.DockerClient(base_url=fleet.local_docker_socket, timeout=120)
    try:
        saved = b"".join(client.images.get(f"{fleet.registry}/demo:s1").save())
    finally:
        client.close()
    assert b"www/token-sha" in saved  # the layers are in the scanned bytes, uncompressed
    for value in (BUILD_TOKEN, *OTHER_TOKEN.split("\n")):
        assert value.encode() not in saved, "a build secret was written into the image"


def test_a_build_secret_missing_from_the_secrets_files_stops_the_deploy_before_the_build(
    fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(tmp_path / "runs.jsonl"))
    fleet_control.reset_hosts()
    project = _project(tmp_path / "app", fleet, DOCKERFILE, ["BUILD_TOKEN", "GEM_TOKEN"], BUILD_TOKEN=BUILD_TOKEN)
    session = _session(project, fleet)
    try:
        with pytest.raises(ConfigError, match=r"Secret 'GEM_TOKEN' not found in \.kamal/secrets"):
            perform(session, ("deploy",), version="m1")
    finally:
        session.close()
    image = f"{fleet.registry}/demo:m1"
    assert image not in _tags(fleet.local_docker_socket), "the build ran"
    assert image not in _tags(fleet.hosts[0].docker_socket), "the hosts were touched"
    assert not (Path(fleet.base) / "nodes" / fleet.hosts[0].name / "root" / ".kamal").exists()


def test_a_required_secret_not_in_builder_secrets_fails_the_build_naming_it(
    fleet: FleetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(tmp_path / "runs.jsonl"))
    dockerfile = DOCKERFILE.replace(
        "COPY web.sh", "RUN --mount=type=secret,id=NOT_LISTED,required cat /run/secrets/NOT_LISTED\nCOPY web.sh"
    )
    project = _project(
        tmp_path / "app", fleet, dockerfile, ["BUILD_TOKEN", "OTHER_TOKEN"], BUILD_TOKEN=BUILD_TOKEN, OTHER_TOKEN="x"
    )
    session = _session(project, fleet)
    try:
        with pytest.raises(BuildError, match="NOT_LISTED") as raised:
            perform(session, ("build", "push"), version="r1")
    finally:
        session.close()
    assert BUILD_TOKEN not in str(raised.value)
    assert f"{fleet.registry}/demo:r1" not in _tags(fleet.local_docker_socket)
