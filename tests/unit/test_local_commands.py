"""Kamal's local commands from `kamal-nb` and from `%kamal`: init, docs, secrets, build create|remove|details|dev.

`init` and `docs` write and print kamal_nb's own templates and examples: they are checked by loading
them with kamal_nb.config (and running the sample hooks), never against Kamal's text.

`build ...` drives `docker buildx`: a stand-in `docker` (tests/unit/standin_cli) answers as Docker
does with or without its buildx plugin and records every call, so the tests see exactly which
commands ran (none, when buildx is missing). One test also uses this machine's real docker CLI
when it has no buildx plugin.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from kamal_nb.cli import main
from kamal_nb.commands import Hook
from kamal_nb.config import load_config, schema
from kamal_nb.notebook.errors import KamalError
from kamal_nb.ops import catalog
from kamal_nb.ops.local_result import LocalResult
from kamal_nb.ops.main.docs import DOCS, SECTIONS, docs, titlecase
from kamal_nb.ops.main.init import TEMPLATES
from kamal_nb.redaction import REDACTED, Secret
from tests.unit.standin_cli import StandIns

Shell = Any  # IPython's InteractiveShell: untyped

HOOKS = [
    "docker-setup.sample",
    "post-app-boot.sample",
    "post-deploy.sample",
    "post-proxy-reboot.sample",
    "pre-app-boot.sample",
    "pre-build.sample",
    "pre-connect.sample",
    "pre-deploy.sample",
    "pre-proxy-reboot.sample",
]
CREATED = "Created configuration file in config/deploy.yml\nCreated .kamal/secrets file\nCreated sample hooks in .kamal/hooks\n"
EXISTS = "Config file already exists in config/deploy.yml (remove first to create a new one)\n"

DEPLOY_YML = """service: app
image: app
servers: [1.1.1.1]
registry:
  username: u
  password: [KAMAL_REGISTRY_PASSWORD]
builder:
  arch: amd64
"""


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def ip(project: Path) -> Iterator[Shell]:
    shell: Shell = InteractiveShell.instance()
    shell.config.pop("KamalMagics", None)
    if "kamal_nb" in shell.extension_manager.loaded:
        shell.run_line_magic("reload_ext", "kamal_nb")
    else:
        shell.run_line_magic("load_ext", "kamal_nb")
    yield shell
    shell.run_line_magic("unload_ext", "kamal_nb")


def test_local_commands_are_in_the_catalog_and_need_no_yes() -> None:
    operations = catalog.catalog()
    for path in [("init",), ("docs",), ("secrets", "fetch"), ("secrets", "extract"), ("secrets", "print")]:
        assert operations[path].local and not operations[path].changes_hosts({}), path
    for path in [("build", "create"), ("build", "remove"), ("build", "details"), ("build", "dev")]:
        assert not operations[path].local and not operations[path].changes_hosts({}), path


# -- init ------------------------------------------------------------------------------------------

# A commented-out setting in our templates: `# key: …` or `# - item`, indented like the YAML it stands
# for (prose comments never start with `word:` or `- `).
COMMENTED_SETTING = re.compile(r"^([ \t]*)# ([ \t]*(?:[A-Za-z0-9_-]+:(?=[ \t]|$)|- ).*)$", re.MULTILINE)


def uncomment_settings(text: str) -> str:
    return COMMENTED_SETTING.sub(r"\1\2", text)


def test_init_writes_kamals_file_names_with_kamals_modes(project: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    assert run_cli("init") == (0, CREATED, "")
    deploy, secrets = project / "config" / "deploy.yml", project / ".kamal" / "secrets"
    assert deploy.read_bytes() == (TEMPLATES / "deploy.yml").read_bytes()
    assert secrets.read_bytes() == (TEMPLATES / "secrets").read_bytes()
    assert stat.S_IMODE(deploy.stat().st_mode) == stat.S_IMODE(secrets.stat().st_mode) == 0o644 & ~umask
    hooks = project / ".kamal" / "hooks"
    assert sorted(p.name for p in hooks.iterdir()) == HOOKS
    for hook in hooks.iterdir():
        assert stat.S_IMODE(hook.stat().st_mode) == 0o755, hook.name
        assert hook.read_bytes() == (TEMPLATES / "sample_hooks" / hook.name).read_bytes(), hook.name


def test_the_deploy_template_loads_as_written_and_once_filled_in(project: Path) -> None:
    run_cli("init")
    config = load_config(root=project, env={}, version="v1")
    assert (config.service, config.image, config.primary_role_name) == ("my-app", "my-org/my-app", "web")
    assert config.primary_host == "203.0.113.10" and config.proxy.hosts == ("app.example.com",)
    deploy = project / "config" / "deploy.yml"
    filled = (
        deploy.read_text()
        .replace("my-app", "shop")
        .replace("203.0.113.10", "10.9.8.7")
        .replace("app.example.com", "shop.example.org")
        .replace("registry.example.com", "ghcr.io")
        .replace("my-registry-user", "shop-bot")
    )
    deploy.write_text(filled)
    (project / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=ghp_token\n")
    config = load_config(root=project, env={}, version="v1")
    assert config.absolute_image == "ghcr.io/my-org/shop:v1" and config.service == "shop"
    web = config.role("web")
    assert web is not None and web.hosts == ("10.9.8.7",)
    assert config.proxy.hosts == ("shop.example.org",) and config.proxy.ssl
    assert config.registry.username(config.secrets) == "shop-bot"
    password = config.registry.password(config.secrets)
    assert password is not None and password.reveal() == "ghp_token"


def test_every_optional_setting_in_the_deploy_template_loads(project: Path) -> None:
    run_cli("init")
    deploy = project / "config" / "deploy.yml"
    deploy.write_text(uncomment_settings(deploy.read_text()))
    config = load_config(root=project, env={}, version="v1")
    workers = config.role("workers")
    assert config.role_names == ("web", "workers") and workers is not None and workers.cmd == "bin/worker"
    assert config.proxy.app_port == 3000 and dict(config.builder.args) == {"APP_ENV": "production"}
    assert config.env.clear["DB_HOST"] == "203.0.113.20" and config.env.secret_keys == ("APP_SECRET",)
    assert dict(config.aliases) == {"console": 'app exec --interactive --reuse "sh"'}
    assert config.ssh.user == "deploy" and config.volumes == ("app_data:/app/data",)
    assert config.asset_path == "/app/public/build" and (config.boot.limit, config.boot.wait) == (2, 5)
    db = config.accessory("db")
    assert db is not None and db.hosts == ("203.0.113.20",) and db.env.secret_keys == ("POSTGRES_PASSWORD",)


def test_the_secrets_template_password_manager_lines_work(project: Path) -> None:
    run_cli("init")
    secrets = project / ".kamal" / "secrets"
    lines = secrets.read_text().splitlines(keepends=True)
    fetch = [line for line in lines if "kamal secrets" in line and "=$(" in line]
    assert len(fetch) == 3 and all(line.startswith("# ") for line in fetch)
    # the test adapter answers each name with its reverse, as a password manager would answer
    enabled = [line[2:].replace("--adapter 1password", "--adapter test") for line in fetch]
    secrets.write_text("".join(line for line in lines if line not in fetch) + "".join(enabled))
    code, out, _ = run_cli("secrets", "print")
    assert code == 0
    assert "KAMAL_REGISTRY_PASSWORD=DROWSSAP_YRTSIGER_LAMAK/ppa-ym/tluaV\n" in out
    assert out.endswith("APP_SECRET=TERCES_PPA/ppa-ym/tluaV\n")


# What each hook gets beyond the common KAMAL_* variables, as kamal_nb's operations call run_hook.
HOOK_CALLS: dict[str, dict[str, Any]] = {
    "docker-setup": {"command": "setup"},
    "pre-connect": {"command": "deploy", "secrets": True},
    "pre-build": {"command": "build", "subcommand": "push"},
    "pre-deploy": {"command": "deploy", "secrets": True},
    "post-deploy": {"command": "deploy", "secrets": True, "runtime": "42"},
    "pre-app-boot": {"command": "app", "subcommand": "boot", "hosts": "203.0.113.10"},
    "post-app-boot": {"command": "app", "subcommand": "boot", "hosts": "203.0.113.10"},
    "pre-proxy-reboot": {"command": "proxy", "subcommand": "reboot", "hosts": "203.0.113.10"},
    "post-proxy-reboot": {"command": "proxy", "subcommand": "reboot", "hosts": "203.0.113.10"},
}


@pytest.mark.parametrize("hook", sorted(HOOK_CALLS))
def test_each_sample_hook_runs_on_the_environment_it_gets(project: Path, hook: str) -> None:
    run_cli("init")
    (project / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=hunter2-secret\n")
    config = load_config(root=project, env={}, version="0123456789abcdef")
    details = {"hosts": "203.0.113.10", "lock": "true", **HOOK_CALLS[hook]}
    env = Hook(config).env(recorded_at="2026-01-01T00:00:00Z", performer="me@example.com", **details)
    plain = {k: v.reveal() if isinstance(v, Secret) else v for k, v in env.items()}
    sample = project / ".kamal" / "hooks" / f"{hook}.sample"
    text = sample.read_text()
    assert text.startswith(f"#!/bin/sh\n# {hook}: ")
    # -u: a variable the sample uses but this hook does not get is an error
    done = subprocess.run(
        ["sh", "-eu", str(sample)], env={**plain, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (0, ""), hook
    assert done.stdout.startswith("[my-app] ") and "hunter2" not in done.stdout
    assert ("KAMAL_RUNTIME" in text) == ("runtime" in details)
    assert ("every secret" in text) == bool(details.get("secrets")) == ("KAMAL_REGISTRY_PASSWORD" in plain)
    assert ("KAMAL_HOSTS is that group" in text) == (details["command"] in ("app", "proxy"))


def test_init_keeps_what_exists_with_kamals_message(project: Path) -> None:
    (project / "config").mkdir()
    (project / "config" / "deploy.yml").write_text("service: mine\n")
    assert run_cli("init") == (0, EXISTS + "Created .kamal/secrets file\nCreated sample hooks in .kamal/hooks\n", "")
    assert (project / "config" / "deploy.yml").read_text() == "service: mine\n"
    (project / ".kamal" / "secrets").write_text("A=1\n")
    (project / ".kamal" / "hooks" / "pre-build.sample").unlink()
    assert run_cli("init") == (0, EXISTS, "")
    assert (project / ".kamal" / "secrets").read_text() == "A=1\n"
    assert not (project / ".kamal" / "hooks" / "pre-build.sample").exists()  # the hooks directory exists: untouched


def test_init_bundle_is_refused_before_writing_anything(project: Path) -> None:
    code, out, err = run_cli("init", "--bundle")
    assert (code, out) == (1, "")
    assert err.startswith("kamal-nb init: --bundle is not supported: it adds Kamal to the Gemfile with Ruby's bundler")
    assert err.count("\n") == 1
    assert list(project.iterdir()) == []


def test_init_and_plan_from_the_notebook(ip: Shell, project: Path) -> None:
    plan = ip.run_line_magic("kamal", "plan init")
    assert "nothing is sent to any host" in str(plan) and not (project / "config").exists()
    result = ip.run_line_magic("kamal", "init")
    assert isinstance(result, LocalResult)
    assert result.text == CREATED and str(result) == CREATED.rstrip("\n")
    assert (project / ".kamal" / "hooks" / "pre-deploy.sample").exists()
    assert ip.run_line_magic("kamal", "init").text == EXISTS
    with pytest.raises(KamalError, match="--bundle is not supported"):
        ip.run_line_magic("kamal", "init --bundle")


# -- docs ------------------------------------------------------------------------------------------

# The base a section's example is merged over (as a destination file is), to load it as a whole config.
DOCS_BASE = """service: app
image: app
servers: [10.0.0.1]
registry:
  server: registry.example.com
  username: u
  password: [KAMAL_REGISTRY_PASSWORD]
builder:
  arch: amd64
"""

# Each doc's section, and the example kamal_nb validates that section against: every key the
# validator accepts must be documented.
DOCUMENTED_KEYS: dict[str, schema.Example] = {
    "configuration": schema.ROOT,
    "accessory": schema.ACCESSORY,
    "builder": schema.BUILDER,
    "proxy": schema.PROXY,
    "registry": schema.REGISTRY,
    "role": schema.ROLE,
    "ssh": schema.SSH,
    "sshkit": schema.SSHKIT,
    "boot": schema.BOOT,
    "logging": schema.LOGGING,
    "output": schema.OUTPUT,
    "env": {"clear": {}, "secret": [], "tags": {}},
}
FREE_FORM = {"options", "args", "labels", "hooks_output", "hosts"}  # keys of the user's choosing (hosts: host names)


def accepted_keys(example: schema.Example) -> set[str]:
    keys: set[str] = set()
    if isinstance(example, list):
        for item in example:
            keys |= accepted_keys(item)
    elif isinstance(example, dict):
        for key, value in example.items():
            keys.add(key)
            if key not in FREE_FORM:
                keys |= accepted_keys(value)
    return keys


def test_docs_prints_our_section_documents(project: Path) -> None:
    assert run_cli("docs") == (0, (DOCS / "configuration.yml").read_text(), "")
    for name in SECTIONS.values():
        code, out, _ = run_cli("docs", name)
        assert code == 0 and out == (DOCS / f"{name}.yml").read_text(), name
    assert run_cli("docs", "proxy")[1].startswith("# proxy: kamal-proxy, in front of the app containers\n")
    assert sorted(p.stem for p in DOCS.iterdir()) == sorted([*SECTIONS.values(), "configuration"])


@pytest.mark.parametrize("name", ["configuration", *SECTIONS.values()])
def test_each_docs_example_loads_with_kamal_nbs_config(tmp_path: Path, name: str) -> None:
    doc = (DOCS / f"{name}.yml").read_text()
    (tmp_path / "config").mkdir()
    if name == "configuration":
        (tmp_path / "config" / "deploy.yml").write_text(doc)
    else:
        (tmp_path / "config" / "deploy.yml").write_text(DOCS_BASE)
        (tmp_path / "config" / "deploy.doc.yml").write_text(doc)
    # registry.yml shows an ERB line calling the aws CLI (ERB runs in comments too): a stand-in answers
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text("#!/bin/sh\necho ecr-token\n")
    (bin_dir / "aws").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    config = load_config(root=tmp_path, destination=None if name == "configuration" else "doc", env=env)
    section_key = {"configuration": "service", "accessory": "accessories", "alias": "aliases", "role": "servers"}
    assert section_key.get(name, name) in config.raw
    words = set(re.findall(r"(?<![\w/-])([a-z][a-z0-9_]*):(?=\s|$)", doc, flags=re.MULTILINE))
    missing = accepted_keys(DOCUMENTED_KEYS.get(name, {})) - words
    assert not missing, f"{name}.yml does not document {sorted(missing)}"


def test_docs_examples_mean_what_they_say(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(DOCS_BASE)
    merged = "".join((DOCS / f"{name}.yml").read_text() for name in ("role", "env", "accessory"))
    (tmp_path / "config" / "deploy.doc.yml").write_text(merged)
    config = load_config(root=tmp_path, destination="doc", env={})
    workers = config.role("workers")
    assert workers is not None and not workers.running_proxy and workers.stop_timeout == 60
    assert workers.hosts == ("10.0.0.3", "10.0.0.4") and workers.host_tags["10.0.0.4"] == ("canary",)
    assert config.env_tag("eu") is not None and config.env.secret_keys[1] == "DB_PASSWORD:MAIN_DB_PASSWORD"
    cache = config.accessory("cache")
    assert cache is not None and cache.service_name == "my-app-valkey" and cache.hosts == ("10.0.0.1", "10.0.0.2")


@pytest.mark.parametrize(
    ("section", "found"),
    [
        ("PROXY", "proxy"),
        (" proxy", "proxy"),
        ("proxy_id", "proxy"),
        ("SSH", "ssh"),
        ("sshkit", "sshkit"),
        ("proxy_run", None),
        ("sshKit", None),
        ("configuration", None),
        ("env/tag", None),
        ("", None),
    ],
)
def test_docs_finds_sections_as_kamals_constant_lookup_does(section: str, found: str | None) -> None:
    expected = f"No documentation found for {section}\n" if found is None else (DOCS / f"{found}.yml").read_text()
    assert docs(section) == expected


def test_titlecase_is_activesupports() -> None:
    assert titlecase("proxy_run") == "Proxy Run" and titlecase("sshKit") == "Ssh Kit" and titlecase("x-y") == "X Y"


def test_docs_from_the_notebook(ip: Shell) -> None:
    result = ip.run_line_magic("kamal", "docs boot")
    assert result.text == (DOCS / "boot.yml").read_text()
    assert "<pre># boot: rolling restarts" in result._repr_mimebundle_()["text/html"]


# -- secrets ---------------------------------------------------------------------------------------

SECRETS_FILE = """SECRETS=$(kamal secrets fetch --adapter test --account acc --from Vault/Item DB_PASSWORD API_KEY)
DB_PASSWORD=$(kamal secrets extract DB_PASSWORD $SECRETS)
API_KEY=$(kamal secrets extract API_KEY ${SECRETS})
KAMAL_REGISTRY_PASSWORD=registry-pw-1234
"""
PRINTED = (
    'SECRETS=\\{\\"Vault/Item/DB_PASSWORD\\":\\"DROWSSAP_BD/metI/tluaV\\",'
    '\\"Vault/Item/API_KEY\\":\\"YEK_IPA/metI/tluaV\\"\\}\n'
    "DB_PASSWORD=DROWSSAP_BD/metI/tluaV\n"
    "API_KEY=YEK_IPA/metI/tluaV\n"
    "KAMAL_REGISTRY_PASSWORD=registry-pw-1234\n"
)


@pytest.fixture
def secrets_project(project: Path) -> Path:
    (project / "config").mkdir()
    (project / "config" / "deploy.yml").write_text(DEPLOY_YML)
    (project / ".kamal").mkdir()
    (project / ".kamal" / "secrets").write_text(SECRETS_FILE)
    return project


def test_secrets_print_on_the_command_line_prints_the_values(secrets_project: Path) -> None:
    # the fetch and extract in .kamal/secrets ran in-process, as Kamal runs them with --inline
    assert run_cli("secrets", "print") == (0, PRINTED, "")


def test_secrets_print_in_a_notebook_is_redacted_unless_revealed(ip: Shell, secrets_project: Path) -> None:
    result = ip.run_line_magic("kamal", "secrets print")
    shown = str(result) + result._repr_mimebundle_()["text/html"]
    assert "DROWSSAP_BD" not in shown and "registry-pw-1234" not in shown
    assert str(result) == "\n".join(
        f"{k}={REDACTED}" for k in ("SECRETS", "DB_PASSWORD", "API_KEY", "KAMAL_REGISTRY_PASSWORD")
    )
    assert isinstance(result.data["DB_PASSWORD"], Secret)
    assert result.data["DB_PASSWORD"].reveal() == "DROWSSAP_BD/metI/tluaV"
    revealed = ip.run_line_magic("kamal", "secrets print --reveal")
    assert str(revealed) == PRINTED.rstrip("\n")


def test_secrets_fetch_and_extract_in_a_notebook(ip: Shell, project: Path) -> None:
    fetched = ip.run_line_magic("kamal", "secrets fetch -a test --account a foo bar")
    assert str(fetched) == f'{{"foo":"{REDACTED}","bar":"{REDACTED}"}}'
    assert fetched.text == '{"foo":"oof","bar":"rab"}\n'
    assert {k: v.reveal() for k, v in fetched.data.items()} == {"foo": "oof", "bar": "rab"}
    assert str(ip.run_line_magic("kamal", "secrets fetch -a test --account a foo --reveal")) == '{"foo":"oof"}'
    extracted = ip.run_line_magic("kamal", """secrets extract foo '{"abc/foo":"oof"}'""")
    assert str(extracted) == REDACTED and extracted.data.reveal() == "oof"
    assert str(ip.run_line_magic("kamal", """secrets extract foo '{"abc/foo":"oof"}' --reveal""")) == "oof"
    with pytest.raises(KamalError, match="Unknown secrets adapter: nope"):
        ip.run_line_magic("kamal", "secrets fetch -a nope --account a x")
    with pytest.raises(KamalError, match="Could not find secret foo"):
        ip.run_line_magic("kamal", "secrets extract foo '{}'")


def test_secrets_extract_and_inline_on_the_command_line(project: Path) -> None:
    assert run_cli("secrets", "extract", "foo", '{"abc/foo":"oof", "bar":"rab"}') == (0, "oof\n", "")
    assert run_cli("secrets", "extract", "n", '{"n":5}') == (0, "5\n", "")
    # --inline returns the text to the (in-process) caller: Kamal prints nothing
    assert run_cli("secrets", "extract", "foo", '{"foo":"oof"}', "--inline") == (0, "", "")
    assert run_cli("secrets", "fetch", "-a", "test", "--account", "a", "x", "--inline") == (0, "", "")
    code, out, err = run_cli("secrets", "extract", "foo", "{}")
    # Kamal's framing, byte for byte, on stdout
    assert (code, out, err) == (1, "  \x1b[31mERROR (RuntimeError): Could not find secret foo\x1b[0m\n", "")


# -- build create / remove / details / dev -------------------------------------------------------

CONTEXT_LS = (
    "NAME        DESCRIPTION                               DOCKER ENDPOINT               ERROR\n"
    "default *   Current DOCKER_HOST based configuration   unix:///var/run/docker.sock   \n"
)
BUILDX_LS = "NAME/NODE     DRIVER/ENDPOINT   STATUS    BUILDKIT   PLATFORMS\ndefault*      docker\n"


@pytest.fixture
def build_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIns]:
    (project / "config").mkdir()
    (project / "config" / "deploy.yml").write_text(DEPLOY_YML)
    bin_dir = project / "standin-bin"
    bin_dir.mkdir()
    # the stand-in docker first; git and the shell's tools from the system
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    yield StandIns(bin_dir)


def docker_without_buildx(standins: StandIns) -> None:
    standins.reply("docker --version", "Docker version 28.2.2, build e6534b4\n")
    standins.reply("docker buildx version", "", 1)
    standins.reply("docker context ls", CONTEXT_LS)


def docker_with_buildx(standins: StandIns) -> None:
    standins.reply("docker --version", "Docker version 28.2.2, build e6534b4\n")
    standins.reply("docker buildx version", "github.com/docker/buildx v0.23.0\n")
    standins.reply("docker context ls", CONTEXT_LS)
    standins.reply("docker buildx ls", BUILDX_LS)


PROBES: list[tuple[list[str], dict[str, str]]] = [(["docker", "--version"], {}), (["docker", "buildx", "version"], {})]
CREATE = "docker buildx create --name kamal-local-docker-container --driver=docker-container"


@pytest.mark.parametrize(
    ("command", "kamal_runs"),
    [("create", CREATE), ("remove", "docker buildx rm kamal-local-docker-container")],
)
def test_build_setup_without_buildx_says_so_in_one_line_and_runs_nothing(
    build_project: StandIns, command: str, kamal_runs: str
) -> None:
    docker_without_buildx(build_project)
    code, out, err = run_cli("build", command)
    assert (code, out) == (1, "")
    assert err == (
        f"kamal-nb build {command}: Docker buildx plugin is not installed locally: `kamal build {command}` not run; "
        f"Kamal would run: {kamal_runs}\n"
    )
    assert build_project.calls() == PROBES


def test_build_dev_without_buildx_names_the_dirty_build(build_project: StandIns, project: Path) -> None:
    _git_project(project)
    docker_without_buildx(build_project)
    code, _, err = run_cli("build", "dev")
    assert code == 1 and err.count("\n") == 1
    assert "Docker buildx plugin is not installed locally: `kamal build dev` not run; Kamal would run: " in err
    assert (
        "docker buildx build --output=type=docker --platform linux/amd64 --builder kamal-local-docker-container" in err
    )
    assert "-t app:" in err and "-dirty -t app:latest-dirty" in err
    assert build_project.calls() == PROBES


def test_build_details_without_buildx_shows_what_it_can(build_project: StandIns) -> None:
    docker_without_buildx(build_project)
    code, out, err = run_cli("build", "details")
    assert (code, err) == (0, "")
    assert "Builder: local\nDocker buildx plugin is not installed locally: `docker buildx ls` not run\n" in out
    assert "default *   Current DOCKER_HOST based configuration" in out
    assert build_project.calls() == [*PROBES, (["docker", "context", "ls"], {})]


def test_build_setup_with_buildx_runs_kamals_commands(build_project: StandIns) -> None:
    docker_with_buildx(build_project)
    build_project.reply(CREATE, "kamal-local-docker-container\n")
    build_project.reply("docker buildx rm kamal-local-docker-container", "")
    code, out, _ = run_cli("build", "create", "-v")
    assert code == 0 and f"[local] $ {CREATE}\n[local] kamal-local-docker-container\n" in out
    assert build_project.calls()[-1] == (CREATE.split(), {})
    assert run_cli("build", "remove")[0] == 0
    assert build_project.calls()[-1] == (["docker", "buildx", "rm", "kamal-local-docker-container"], {})
    code, out, _ = run_cli("build", "details")
    assert code == 0 and "Builder: local\n" in out and "default*      docker" in out
    assert build_project.calls()[-2:] == [(["docker", "context", "ls"], {}), (["docker", "buildx", "ls"], {})]


def test_build_create_failure_fails(build_project: StandIns) -> None:
    docker_with_buildx(build_project)
    build_project.reply(CREATE, "ERROR: existing instance for kamal-local-docker-container\n", 1)
    code, out, _ = run_cli("build", "create")
    assert code == 1 and "FAILED on 1 of 1 hosts" in out


def test_docker_driver_has_nothing_to_create(build_project: StandIns, project: Path) -> None:
    (project / "config" / "deploy.yml").write_text(DEPLOY_YML + "  driver: docker\n")
    code, out, _ = run_cli("build", "create")
    assert code == 0 and "nothing to do: builder.driver is docker" in out
    assert build_project.calls() == []


def test_remote_builder_create_is_kamals_context_and_builder(build_project: StandIns, project: Path) -> None:
    (project / "config" / "deploy.yml").write_text(
        DEPLOY_YML.replace("arch: amd64", "arch: arm64\n  remote: ssh://app@builder")
    )
    plan = run_cli("plan", "build", "create")[1]
    context = "kamal-remote-ssh---app-builder-context"
    assert (
        f"docker context create {context} --description 'kamal-remote-ssh---app-builder host' "
        f"--docker 'host=ssh://app@builder' ; docker buildx create --name kamal-remote-ssh---app-builder {context}"
    ) in plan.replace(" && ", " ; ")
    assert "Kamal first runs `true` over SSH on the remote builder" in plan


def _git_project(project: Path) -> None:
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.test", "-C", str(project)]
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / "Dockerfile").write_text("FROM scratch\n")
    (project / "app.txt").write_text("v1\n")
    subprocess.run([*git, "add", "Dockerfile", "app.txt", "config"], check=True)
    subprocess.run([*git, "commit", "-qm", "app"], check=True)


def test_build_dev_runs_kamals_steps_and_warns_about_dirty_files(build_project: StandIns, project: Path) -> None:
    _git_project(project)
    version = subprocess.run(
        ["git", "-C", str(project), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    (project / "app.txt").write_text("v2\n")  # uncommitted change
    (project / "new.txt").write_text("new\n")  # untracked
    docker_with_buildx(build_project)
    build_project.reply("docker buildx build -t=kamal-local-build-check -f=* .", "built\n")
    build_project.reply("docker run --rm kamal-local-build-check", "Dockerfile\napp.txt\nnew.txt\nconfig/deploy.yml\n")
    # the version is the commit (no `_uncommitted_` suffix: without builder.context Kamal's version is
    # that of a git clone), the tags end in -dirty
    push = (
        "docker buildx build --output=type=docker --platform linux/amd64 --builder kamal-local-docker-container "
        f"-t app:{version}-dirty -t app:latest-dirty --label service=app --file Dockerfile ."
    )
    build_project.reply(push, "pushed\n")
    code, out, err = run_cli("build", "dev")
    assert (code, err) == (0, "")
    calls = [argv for argv, _ in build_project.calls()]
    assert calls[:4] == [["docker", "--version"], ["docker", "buildx", "version"]] * 2
    assert calls[4][:4] == ["docker", "buildx", "build", "-t=kamal-local-build-check"]
    assert calls[4][4].startswith("-f=") and calls[4][5] == "."
    assert calls[5] == ["docker", "run", "--rm", "kamal-local-build-check"]
    assert calls[6:] == [push.split()]
    assert (
        "WARNING: Files with uncommitted changes will be present in the dev container:\n  app.txt\n\n"
        "WARNING: Untracked files will be present in the dev container:\n  new.txt\n" in out
    )
    assert "standin-bin" not in out  # the stand-ins are untracked too, but not in the check image's list


def test_build_commands_from_the_notebook(ip: Shell, build_project: StandIns) -> None:
    docker_without_buildx(build_project)
    with pytest.raises(KamalError, match="Docker buildx plugin is not installed locally: `kamal build create` not run"):
        ip.run_line_magic("kamal", "build create")
    details = ip.run_line_magic("kamal", "build details")
    assert details.ok and "Builder: local" in details.messages
    assert "Current DOCKER_HOST based configuration" in details.output("local")


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker CLI here")
def test_this_machines_docker_without_buildx(project: Path) -> None:
    if subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False).returncode == 0:
        pytest.skip("this docker has its buildx plugin")
    (project / "config").mkdir()
    (project / "config" / "deploy.yml").write_text(DEPLOY_YML)
    code, _, err = run_cli("build", "create")
    assert code == 1 and err.startswith("kamal-nb build create: Docker buildx plugin is not installed locally")
    code, out, _ = run_cli("build", "details")
    assert code == 0 and "Builder: local" in out and "DOCKER ENDPOINT" in out  # `docker context ls` needs no buildx


def test_build_dev_passes_builder_secrets_in_the_environment_of_the_build_only(
    build_project: StandIns, project: Path
) -> None:
    (project / "config" / "deploy.yml").write_text(DEPLOY_YML + "  secrets:\n    - GITHUB_TOKEN\n")
    (project / ".kamal").mkdir()
    (project / ".kamal" / "secrets").write_text("GITHUB_TOKEN=tok-5e3a9c\n")
    _git_project(project)
    version = subprocess.run(["git", "-C", str(project), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    standins = StandIns(build_project.bin, watched_env=("GITHUB_TOKEN",))
    docker_with_buildx(standins)
    standins.reply("docker buildx build -t=kamal-local-build-check -f=* .", "built\n")
    standins.reply("docker run --rm kamal-local-build-check", "Dockerfile\n")
    push = (
        "GITHUB_TOKEN=tok-5e3a9c docker buildx build --output=type=docker --platform linux/amd64 "
        f"--builder kamal-local-docker-container -t app:{version.strip()}-dirty -t app:latest-dirty "
        "--label service=app --secret id=GITHUB_TOKEN --file Dockerfile ."
    )
    standins.reply(push, "pushed\n")
    code, out, _ = run_cli("build", "dev")
    assert code == 0, out
    calls = standins.calls()
    assert calls[-1][1] == {"GITHUB_TOKEN": "tok-5e3a9c"} and calls[-1][0][:3] == ["docker", "buildx", "build"]
    assert all(env == {} for _, env in calls[:-1])  # the check image and the probes never see it
    assert "tok-5e3a9c" not in out
