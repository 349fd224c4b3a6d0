"""The sandbox's docker emulator, command by command: output formats as docker prints them, state kept
in the host's JSON, registry access rules, kamal-proxy routes, and loud failures for the unsupported."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Protocol

import pytest

from kamal_nb.sandbox.docker.args import SERVER_VERSION
from kamal_nb.sandbox.docker_emulator import execute
from kamal_nb.sandbox.fleet import REGISTRY_PASSWORD, REGISTRY_USER, SandboxInfo, create_sandbox
from kamal_nb.sandbox.gotemplate import GoMap, Struct, TemplateError, go_json, render
from kamal_nb.sandbox.layout import engine_file, read_json, registry_file

REG = "10.200.0.1:5000"
APP = f"{REG}/demo"
PROXY_IMAGE = f"{REG}/basecamp/kamal-proxy:v0.9.2"


class Docker(Protocol):
    def __call__(self, command: str, stdin: str = "") -> tuple[int, str, str]: ...


@pytest.fixture
def sandbox(tmp_path: Path) -> SandboxInfo:
    return create_sandbox(tmp_path / "sbx", hosts=2, project=False)


@pytest.fixture
def docker(sandbox: SandboxInfo) -> Docker:
    """`docker ARGS` on the first host (the arguments as the shell would split them)."""
    host_dir = sandbox.root / "hosts" / sandbox.hosts[0]

    def run(command: str, stdin: str = "") -> tuple[int, str, str]:
        return execute(shlex.split(command), host_dir, sandbox.root, stdin)

    return run


def ok(docker: Docker, command: str) -> str:
    code, out, err = docker(command)
    assert code == 0, f"docker {command} -> {code}: {err}"
    return out


@pytest.fixture
def booted(docker: Docker) -> Docker:
    """Logged in, the kamal network, the proxy and demo-web-v1 running (as Kamal leaves a web host)."""
    ok(docker, f"login {REG} -u {REGISTRY_USER} -p {REGISTRY_PASSWORD}")
    ok(docker, "network create kamal")
    ok(docker, f"pull {APP}:v1")
    ok(
        docker,
        "run --name kamal-proxy --network kamal --detach --restart unless-stopped "
        "--volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy --publish 80:80 --publish 443:443 "
        f"--log-opt max-size=10m {PROXY_IMAGE} kamal-proxy run",
    )
    ok(docker, run_app("v1"))
    return docker


def run_app(version: str, role: str = "web", cmd: str = "") -> str:
    name = f"demo-{role}-{version}"
    return (
        f"run --detach --restart unless-stopped --name {name} --network kamal --hostname 10.200.0.11-abc "
        f'--env KAMAL_CONTAINER_NAME="{name}" --env KAMAL_VERSION="{version}" --log-opt max-size="10m" '
        f'--label service="demo" --label role="{role}" --label destination {APP}:{version} {cmd}'
    )


# -- engine, registry, login -------------------------------------------------------------------------


def test_versions(docker: Docker) -> None:
    assert ok(docker, "-v") == "Docker version 28.2.2, build sandbox\n"
    assert ok(docker, "version --format '{{.Server.Version}}'") == SERVER_VERSION + "\n"
    assert ok(docker, "buildx version").startswith("github.com/docker/buildx ")
    code, _, err = docker("info --format '{{index .RegistryConfig.Mirrors 0}}'")
    assert code == 1 and "error calling index: reflect: slice index out of range" in err  # no mirror


def test_pull_needs_login_and_the_image_in_the_registry(docker: Docker, sandbox: SandboxInfo) -> None:
    code, _, err = docker(f"pull {APP}:v1")
    assert (code, err) == (
        1,
        f'Error response from daemon: Head "http://{REG}/v2/demo/manifests/v1": no basic auth credentials\n',
    )
    code, _, err = docker(f"login {REG} -u {REGISTRY_USER} -p wrong")
    assert code == 1 and "401 Unauthorized" in err
    code, out, err = docker(f'login {REG} -u "{REGISTRY_USER}" -p "{REGISTRY_PASSWORD}"')
    assert code == 0 and out.endswith("Login Succeeded\n")
    assert err == "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n"
    config = json.loads((sandbox.root / "hosts" / sandbox.hosts[0] / ".docker/config.json").read_text())
    assert list(config["auths"]) == [REG]
    out = ok(docker, f"pull {APP}:v1")
    assert out.startswith("v1: Pulling from demo\n") and out.endswith(
        f"Status: Downloaded newer image for {APP}:v1\n{APP}:v1\n"
    )
    assert f"Status: Image is up to date for {APP}:v1" in ok(docker, f"image pull {APP}:v1")
    code, _, err = docker(f"pull {APP}:v9")
    assert code == 1 and "manifest unknown" in err
    code, _, err = docker("pull busybox:1.36")
    assert code == 1 and "no such host" in err
    assert ok(docker, f"logout {REG}") == f"Removing login credentials for {REG}\n"
    assert docker(f"pull {APP}:v2")[0] == 1


def test_login_with_password_stdin(docker: Docker) -> None:
    code, out, err = docker(f"login {REG} -u {REGISTRY_USER} --password-stdin", REGISTRY_PASSWORD + "\n")
    assert code == 0 and "Login Succeeded" in out and err == ""


# -- containers: run, ps, filters, rename, stop, prune --------------------------------------------------


def test_run_needs_the_network_and_a_free_name(docker: Docker) -> None:
    ok(docker, f"login {REG} -u {REGISTRY_USER} -p {REGISTRY_PASSWORD}")
    code, _, err = docker(run_app("v1"))  # pulls the image first (progress on stderr), then fails
    assert code == 125 and f"Unable to find image '{APP}:v1' locally" in err and "network kamal not found" in err
    ok(docker, "network create kamal")
    code, out, err = docker(run_app("v1"))
    assert code == 0 and re.fullmatch(r"[0-9a-f]{64}\n", out) and err == ""
    code, _, err = docker(run_app("v1"))
    assert code == 125 and 'The container name "/demo-web-v1" is already in use' in err
    code, _, err = docker("network create kamal")
    assert (code, err) == (1, "Error response from daemon: network with name kamal already exists\n")


def test_run_reads_env_files(booted: Docker, sandbox: SandboxInfo) -> None:
    code, _, err = booted(run_app("v2").replace("--log-opt", "--env-file .kamal/apps/demo/env/roles/web.env --log-opt"))
    assert code == 125 and "open .kamal/apps/demo/env/roles/web.env: no such file or directory" in err
    env_file = sandbox.root / "hosts" / sandbox.hosts[0] / ".kamal/apps/demo/env/roles/web.env"
    env_file.parent.mkdir(parents=True)
    env_file.write_text("DEMO_SECRET=s3cret\n# comment\n")
    ok(booted, f"pull {APP}:v2")
    ok(booted, run_app("v2").replace("--log-opt", "--env-file .kamal/apps/demo/env/roles/web.env --log-opt"))
    assert ok(booted, "exec demo-web-v2 printenv").count("DEMO_SECRET=s3cret") == 1


def test_ps_table_and_formats(booted: Docker) -> None:
    table = ok(booted, "ps")
    header, *rows = table.splitlines()
    assert re.split(r"\s{3,}", header) == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert header.startswith("CONTAINER ID   IMAGE ")  # tabwriter: padding 3
    assert [re.split(r"\s{3,}", r)[-1] for r in rows] == ["demo-web-v1", "kamal-proxy"]  # newest first
    web = next(r for r in rows if r.endswith("demo-web-v1"))
    assert f"{APP}:v1" in web and '"/bin/sh /web.sh"' in web and "Up " in web and "3000/tcp" in web
    proxy = next(r for r in rows if r.endswith("kamal-proxy"))
    assert "0.0.0.0:80->80/tcp, [::]:80->80/tcp, 0.0.0.0:443->443/tcp, [::]:443->443/tcp" in proxy
    ids = ok(booted, "ps -q").split()
    assert all(re.fullmatch(r"[0-9a-f]{12}", i) for i in ids)
    assert (
        ok(booted, "ps --no-trunc -q").split()[0].startswith(ids[0])
        and len(ok(booted, "ps --no-trunc -q").split()[0]) == 64
    )
    # the image's labels are the container's too
    shown = ok(booted, "ps --filter 'name=^kamal-proxy$' --format '{{.Names}} {{.State}} {{.Labels}}'")
    assert shown.startswith("kamal-proxy running org.opencontainers.image.description=")
    assert shown.endswith(",org.opencontainers.image.title=kamal-proxy\n")
    line = json.loads(ok(booted, "ps --filter name=demo --format '{{json .}}'"))
    assert sorted(line) == [
        "Command",
        "CreatedAt",
        "ID",
        "Image",
        "Labels",
        "LocalVolumes",
        "Mounts",
        "Names",
        "Networks",
        "Ports",
        "RunningFor",
        "Size",
        "State",
        "Status",
    ]
    assert line["Labels"] == "destination=,role=web,service=demo"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC", line["CreatedAt"])


def test_ps_filters_as_kamal_uses_them(booted: Docker) -> None:
    ok(booted, f"pull {APP}:v2")
    ok(booted, run_app("v2"))
    ok(booted, "stop demo-web-v1")
    labels = "--filter label=service=demo --filter label=destination= --filter label=role=web"
    assert ok(booted, f"ps {labels} --format '{{{{.Names}}}}'") == "demo-web-v2\n"
    assert ok(booted, f"ps -a {labels} --format '{{{{.Names}}}}'") == "demo-web-v2\ndemo-web-v1\n"
    assert (
        ok(booted, f"ps {labels} --filter status=exited --format '{{{{.Names}}}}'") == "demo-web-v1\n"
    )  # status implies -a
    running = f"{labels} --filter status=running --filter status=restarting"
    assert ok(booted, f"ps --latest --format '{{{{.Names}}}}' {running}") == "demo-web-v2\n"
    assert ok(booted, f"ps --latest --quiet {running} --filter ancestor=") == ""  # no image: nothing matches
    ok(booted, f"tag {APP}:v1 {APP}:latest")
    image_id = ok(booted, f"image ls --filter reference={APP}:latest --format '{{{{.ID}}}}'").strip()
    assert re.fullmatch(r"[0-9a-f]{12}", image_id)
    assert ok(booted, f"ps --latest --format '{{{{.Names}}}}' {running} --filter ancestor={image_id}") == ""
    assert ok(booted, f"ps -a --format '{{{{.Names}}}}' --filter ancestor={image_id}") == "demo-web-v1\n"
    assert ok(booted, "ps --filter label=destination=staging -q") == ""
    assert ok(booted, "ps -a --filter label=role -q").count("\n") == 2


def test_container_ls_name_filter_is_an_anchored_regex(booted: Docker) -> None:
    ok(booted, f"pull {APP}:v2")
    ok(booted, run_app("v2").replace("demo-web-v2", "demo-web-v10"))
    short = ok(booted, "container ls --all --filter 'name=^demo-web-v1$' --quiet").strip()
    assert re.fullmatch(r"[0-9a-f]{12}", short)
    assert ok(booted, "container ls --all --filter name=demo-web-v1 --quiet").count("\n") == 2
    assert ok(booted, "container ls --filter 'name=^demo-web-v1$' --quiet") == short + "\n"
    assert (
        ok(booted, "container ls --all --filter label=service=demo --filter label=role=web --format '{{ .Names }}'")
        == "demo-web-v10\ndemo-web-v1\n"
    )


def test_rename_stop_start_and_errors(booted: Docker) -> None:
    assert booted("rename demo-web-v1 demo-web-v1_replaced_0123456789abcdef")[0] == 0
    assert ok(booted, "ps --format '{{.Names}}'") == "demo-web-v1_replaced_0123456789abcdef\nkamal-proxy\n"
    assert booted("rename nope other") == (1, "", "Error response from daemon: No such container: nope\n")
    code, _, err = booted("rename kamal-proxy demo-web-v1_replaced_0123456789abcdef")
    assert code == 1 and "is already in use" in err
    assert ok(booted, "stop -t 10 demo-web-v1_replaced_0123456789abcdef") == "demo-web-v1_replaced_0123456789abcdef\n"
    status = "inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}'"
    assert ok(booted, f"{status} demo-web-v1_replaced_0123456789abcdef") == "exited\n"
    assert ok(booted, "ps -a --filter name=replaced --format '{{.Status}}'").startswith("Exited (0) ")
    assert ok(booted, "start demo-web-v1_replaced_0123456789abcdef") == "demo-web-v1_replaced_0123456789abcdef\n"
    assert booted("stop nope") == (1, "", "Error response from daemon: No such container: nope\n")
    code, _, err = booted("stop")  # what `… | xargs docker stop` runs when nothing matched
    assert code == 1 and "requires at least 1 argument" in err
    code, _, err = booted("rm kamal-proxy")
    assert code == 1 and "container is running: stop the container before removing or force remove" in err


def test_container_prune_removes_stopped_matching_containers(booted: Docker) -> None:
    ok(booted, f"pull {APP}:v2")
    ok(booted, run_app("v2"))
    ok(booted, "stop demo-web-v1 kamal-proxy")
    out = ok(
        booted,
        "container prune --force --filter label=service=demo --filter label=destination= --filter label=role=web",
    )
    lines = out.splitlines()
    assert (
        lines[0] == "Deleted Containers:"
        and re.fullmatch(r"[0-9a-f]{64}", lines[1])
        and lines[2:] == ["", "Total reclaimed space: 0B"]
    )
    assert ok(booted, "ps -a --format '{{.Names}}'") == "demo-web-v2\nkamal-proxy\n"
    assert ok(booted, "container prune --force --filter label=service=demo") == "Total reclaimed space: 0B\n"


def test_images_ls_prune_rmi_tag(booted: Docker) -> None:
    ok(booted, f"pull {APP}:v2")
    table = ok(booted, f"image ls {APP}").splitlines()
    assert re.split(r"\s{3,}", table[0]) == ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
    assert [re.split(r"\s{3,}", r)[1] for r in table[1:]] == ["v2", "v1"]  # newest first
    assert re.split(r"\s{3,}", table[1])[4] == "4.26MB"
    row = json.loads(ok(booted, f"image ls --no-trunc --format '{{{{json .}}}}' {APP}").splitlines()[0])
    assert sorted(row) == [
        "Containers",
        "CreatedAt",
        "CreatedSince",
        "Digest",
        "ID",
        "Repository",
        "SharedSize",
        "Size",
        "Tag",
        "UniqueSize",
        "VirtualSize",
    ]
    assert row["ID"].startswith("sha256:") and row["Repository"] == APP and row["Tag"] == "v2"
    assert (
        ok(booted, "image ls --filter label=service=demo --format '{{.Repository}}:{{.Tag}}'")
        == f"{APP}:v2\n{APP}:v1\n"
    )
    assert ok(booted, f"image ls --filter 'reference={REG}/demo:v*' -q").count("\n") == 2
    # Kamal's tagged-images prune: images no container uses go, the others stay
    in_use = ok(booted, "container ls -a --format '{{.Image}}\\|' --filter label=service=demo")
    assert in_use == f"{APP}:v1\\|\n"
    ok(booted, f"tag {APP}:v2 {APP}:latest")
    assert ok(booted, f"rmi {APP}:latest") == f"Untagged: {APP}:latest\n"
    out = ok(booted, "image prune --all --force --filter label=service=demo")
    assert out.splitlines()[:3] == ["Deleted Images:", f"untagged: {APP}:v2", out.splitlines()[2]] and out.splitlines()[
        2
    ].startswith("deleted: sha256:")
    assert out.endswith("Total reclaimed space: 4.26MB\n")
    assert ok(booted, f"image ls {APP} --format '{{{{.Tag}}}}'") == "v1\n"
    code, _, err = booted(f"rmi {APP}:v1")
    assert code == 1 and "(must force) - container" in err
    assert booted(f"image rm --force {APP}:v9") == (0, "", "")
    assert booted(f"rmi {APP}:v9") == (1, "", f"Error response from daemon: No such image: {APP}:v9\n")
    assert booted(f"tag {APP}:v9 x:y") == (1, "", f"Error response from daemon: No such image: {APP}:v9\n")


def test_inspect_formats_and_objects(booted: Docker) -> None:
    assert ok(booted, f"inspect -f '{{{{ .Config.Labels.service }}}}' {APP}:v1") == "demo\n"
    assert ok(booted, f"inspect -f '{{{{ .Config.Labels.other }}}}' {APP}:v1") == "<no value>\n"
    assert ok(booted, "inspect kamal-proxy --format '{{.Config.Image}}'") == PROXY_IMAGE + "\n"
    assert ok(booted, "inspect --format '{{json .State.Health}}' demo-web-v1") == "null\n"
    assert (
        ok(booted, "inspect --format '{{.Name}} {{.RestartCount}} {{.HostConfig.RestartPolicy.Name}}' demo-web-v1")
        == "/demo-web-v1 0 unless-stopped\n"
    )
    full = json.loads(ok(booted, "inspect demo-web-v1"))
    assert full[0]["Config"]["Labels"] == {"destination": "", "role": "web", "service": "demo"}
    assert "Health" not in full[0]["State"]  # omitempty, as docker's JSON
    code, out, err = booted("inspect --format '{{.Name}}' demo-web-v1 nope")
    assert (code, out, err) == (1, "/demo-web-v1\n", "Error: No such object: nope\n")
    code, _, err = booted("inspect --format '{{.Nope}}' demo-web-v1")
    assert code == 1 and "can't evaluate field Nope" in err
    code, _, err = booted("container inspect --format '{{.Id}}' " + APP + ":v1")
    assert (code, err) == (1, f"Error: No such container: {APP}:v1\n")


def test_state_probe_inspect_format_round_trips(booted: Docker) -> None:
    """kamal_nb.state's probe reads containers with one JSON object per container."""
    parse = pytest.importorskip("kamal_nb.state.parse")
    probe = pytest.importorskip("kamal_nb.state.probe")
    ids = ok(booted, "container ls --all --quiet --filter label=service=demo --filter label=destination=").split()
    ids += ok(booted, "container ls --all --quiet --filter 'name=^kamal-proxy$'").split()
    ok(booted, "stop kamal-proxy")
    out = ok(booted, f"container inspect --format {shlex.quote(probe.INSPECT_FORMAT)} {' '.join(ids)}")
    containers = {c.name: c for c in parse.parse_containers(out)}
    assert set(containers) == {"demo-web-v1", "kamal-proxy"}
    web, proxy = containers["demo-web-v1"], containers["kamal-proxy"]
    assert (web.state, web.image, web.labels["role"], web.exit_code, web.health) == (
        "running",
        f"{APP}:v1",
        "web",
        0,
        None,
    )
    assert web.started_at is not None and web.created is not None and web.finished_at is None
    assert proxy.state == "exited" and proxy.finished_at is not None
    images = parse.parse_images(ok(booted, f"image ls --no-trunc --format '{{{{json .}}}}' {APP}"))
    assert [(i.repository, i.tag) for i in images] == [(APP, "v1")] and images[0].created is not None


def test_exec_and_logs(booted: Docker) -> None:
    assert ok(booted, "exec demo-web-v1 cat /www/version") == "v1\n"
    assert booted("exec demo-web-v1 bin/rails db:migrate")[0] == 127
    code, _, err = booted("exec demo-web-v1 sh -c 'cat /www/version | wc -l'")
    assert code == 126 and "cannot run shell code" in err
    ok(
        booted,
        f"run --detach --name demo-jobs-v1 --network kamal --label service=demo --label role=jobs {APP}:v1 /bin/sh /jobs.sh",
    )
    ok(booted, "stop demo-jobs-v1")
    assert ok(booted, "logs demo-jobs-v1") == "jobs started version=v1\njobs stopping\n"
    assert ok(booted, "logs demo-jobs-v1 --tail 1") == "jobs stopping\n"
    stamped = ok(booted, "logs demo-jobs-v1 --timestamps --since 1h")
    assert re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z jobs (started version=v1|stopping)\n){2}", stamped)
    code, _, err = booted("exec demo-jobs-v1 true")
    assert code == 1 and "is not running" in err
    assert ok(booted, f"run --rm {APP}:v1 cat /www/version") == "v1\n"
    assert ok(booted, "ps -a --format '{{.Names}}'").count("\n") == 3  # --rm left nothing behind


# -- kamal-proxy --------------------------------------------------------------------------------------


def test_proxy_routes(booted: Docker) -> None:
    short = ok(booted, "container ls --all --filter 'name=^demo-web-v1$' --quiet").strip()
    deploy = (
        f'exec kamal-proxy kamal-proxy deploy demo-web --target="{short}:3000" --deploy-timeout="30s" '
        '--drain-timeout="1s" --health-check-interval="1s" --health-check-path="/up" --buffer-requests '
        '--buffer-responses --log-request-header="Cache-Control" --log-request-header="User-Agent"'
    )
    assert booted(deploy) == (0, "", "")
    listing = ok(booted, "exec kamal-proxy kamal-proxy list").splitlines()
    assert listing[0] == "Service              Host                 Path   Target                   State    TLS"
    assert listing[1].split() == ["demo-web", "*", "/", f"{short}:3000", "running", "no"]
    assert ok(booted, "exec kamal-proxy kamal-proxy stop demo-web --message=Back") == ""
    assert ok(booted, "exec kamal-proxy kamal-proxy list").splitlines()[1].split()[4] == "stopped"
    ok(booted, "exec kamal-proxy kamal-proxy resume demo-web")
    logs = ok(booted, "logs kamal-proxy").splitlines()
    assert json.loads(logs[0])["msg"].startswith("Server started") and "Deployed service=demo-web" in logs[1]
    # an image without /up never becomes healthy; a target that is not running neither
    ok(booted, f"pull {APP}:unhealthy")
    ok(booted, run_app("unhealthy"))
    bad = ok(booted, "container ls --all --filter 'name=^demo-web-unhealthy$' --quiet").strip()
    code, _, err = booted(f'exec kamal-proxy kamal-proxy deploy demo-web --target="{bad}:3000" --deploy-timeout="7s"')
    assert (code, err) == (1, "Error: target failed to become healthy within configured timeout (7s)\n")
    assert (
        booted("exec kamal-proxy kamal-proxy deploy demo-web --target=nothere:3000 --frobnicate")[2]
        == "Error: unknown flag: --frobnicate\n"
    )
    ok(booted, "exec kamal-proxy kamal-proxy remove demo-web")
    assert booted("exec kamal-proxy kamal-proxy remove demo-web") == (1, "", "Error: service not found\n")
    # routes live in the config volume: a new proxy container sees them
    ok(booted, f"exec kamal-proxy kamal-proxy deploy demo-web --target={short}:3000")
    ok(booted, "stop kamal-proxy")
    ok(booted, "container prune --force --filter label=org.opencontainers.image.title=kamal-proxy")
    ok(
        booted,
        f"run --name kamal-proxy --network kamal --detach --volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy {PROXY_IMAGE} kamal-proxy run",
    )
    assert "demo-web" in ok(booted, "exec kamal-proxy kamal-proxy list")


# -- builds ------------------------------------------------------------------------------------------


def test_buildx_build_pushes_to_the_sandbox_registry(sandbox: SandboxInfo, docker: Docker, tmp_path: Path) -> None:
    local = sandbox.root / "local"
    context = tmp_path / "app"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {REG}/base/sandbox-app:1\nARG VERSION=dev\n# sandbox-file /www/version ${{VERSION}}\\n\nLABEL service=demo\n"
    )

    def build(command: str) -> tuple[int, str, str]:
        return execute(shlex.split(command), local, sandbox.root)

    tags = f"-t {APP}:v3 -t {APP}:latest"
    command = f'buildx build --output=type=registry --platform linux/amd64 --builder kamal-local-docker-container {tags} --label service="demo" --build-arg VERSION=v3 --file {context}/Dockerfile {context}'
    code, _, err = build(command)
    assert code == 1 and 'no builder "kamal-local-docker-container"' in err
    assert build("buildx create --name kamal-local-docker-container --driver=docker-container")[0] == 0
    assert "Driver:        docker-container" in build("buildx inspect kamal-local-docker-container")[1]
    code, _, err = build(command)
    assert code == 1 and "failed to solve" in err  # the FROM image needs a login too
    assert build(f"login {REG} -u {REGISTRY_USER} -p {REGISTRY_PASSWORD}")[0] == 0
    code, _, err = build(command)
    assert code == 0, err
    registry = read_json(registry_file(sandbox.root), {})
    assert registry["images"][f"{APP}:v3"]["labels"] == {"service": "demo"}
    ok(docker, f"login {REG} -u {REGISTRY_USER} -p {REGISTRY_PASSWORD}")
    ok(docker, f"pull {APP}:v3")
    ok(docker, "network create kamal")
    ok(docker, run_app("v3"))
    assert ok(docker, "exec demo-web-v3 cat /www/version") == "v3\n"
    assert ok(docker, f"inspect -f '{{{{ .Config.Labels.service }}}}' {APP}:v3") == "demo\n"


# -- what the emulator does not do fails loudly ---------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "named"),
    [
        ("ps --frobnicate", "--frobnicate"),
        ("run --pids-limit2 x", "--pids-limit2"),
        ("frob", "docker frob"),
        ("image frob", "docker image frob"),
        ("--context remote ps", "--context"),
        ("ps --filter before=abc", "before="),
        ("ps -z", "'z'"),
        ("container prune", "without --force"),
    ],
)
def test_unsupported_fails_loudly(docker: Docker, command: str, named: str) -> None:
    code, out, err = docker(command)
    assert code == 125 and out == "" and named in err and "does not support it" in err


def test_invalid_filters_are_daemon_errors(docker: Docker) -> None:
    assert docker("ps --filter colour=red") == (1, "", "Error response from daemon: invalid filter 'colour'\n")
    assert docker("ps --filter status=sleeping")[0] == 1


def test_state_lives_in_the_host_json(booted: Docker, sandbox: SandboxInfo) -> None:
    state = read_json(engine_file(sandbox.root / "hosts" / sandbox.hosts[0]), {})
    assert sorted(c["name"] for c in state["containers"].values()) == ["demo-web-v1", "kamal-proxy"]
    assert "kamal" in state["networks"] and "kamal-proxy-config" in state["volumes"]
    other = read_json(engine_file(sandbox.root / "hosts" / sandbox.hosts[1]), {})
    assert other["containers"] == {}


# -- Go templates -------------------------------------------------------------------------------------


def test_go_template_subset() -> None:
    container = Struct(
        "*types.ContainerJSON",
        {"State": Struct("*State", {"Status": "running", "Health": None}), "Labels": GoMap({"b": "2", "a": "1"})},
    )
    assert (
        render("{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}", container) == "running"
    )
    assert (
        render("{{json .Labels}} {{.Labels}} {{.Labels.c}}", container) == '{"a":"1","b":"2"} map[a:1 b:2] <no value>'
    )
    assert render("{{- .State.Status -}} !", container) == "running!"
    assert render('{{index .Labels "a"}}{{range .Labels}}<{{.}}>{{end}}', container) == "1<1><2>"
    assert render("{{.State.Status | upper}}", container) == "RUNNING"
    assert go_json({"x": "<&>"}) == '{"x":"\\u003c\\u0026\\u003e"}'
    for bad in (
        "{{.Nope}}",
        "{{.State.Health.Status}}",
        "{{frob .}}",
        "{{with .State}}x{{end}}",
        "{{if .State}}",
        "{{$x := 1}}",
    ):
        with pytest.raises(TemplateError):
            render(bad, container)
