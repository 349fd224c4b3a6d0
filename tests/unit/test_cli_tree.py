"""The argparse command tree shared by %kamal and kamal-nb mirrors Kamal 2.12's command line."""

from __future__ import annotations

import pytest

from kamal_nb import cli_tree
from kamal_nb.cli_tree import HelpRequested, Invocation, ParseError, parse
from kamal_nb.ops.options import GlobalOptions

# Kamal 2.12's commands, from ../shared/reference/kamal-2.12.md section 2 (lib/kamal/cli/*.rb at
# basecamp/kamal eee0083b): the top-level commands (2.2), then each subcommand group (2.3-2.11),
# hidden commands included (Kamal accepts them; they are only left out of help).
KAMAL_2_12_COMMANDS: tuple[str, ...] = (
    "setup", "deploy", "redeploy", "rollback", "details", "audit", "config", "docs", "init", "remove",
    "upgrade", "version",
    "app boot", "app start", "app stop", "app details", "app exec", "app containers", "app stale_containers",
    "app images", "app logs", "app remove", "app live", "app maintenance", "app version",
    "app remove_container", "app remove_containers", "app remove_images", "app remove_app_directories",
    "accessory boot", "accessory reboot", "accessory start", "accessory stop", "accessory restart",
    "accessory details", "accessory exec", "accessory logs", "accessory remove", "accessory upgrade",
    "accessory upload", "accessory directories", "accessory pull_image", "accessory remove_container",
    "accessory remove_image", "accessory remove_service_directory",
    "build deliver", "build push", "build pull", "build create", "build remove", "build details", "build dev",
    "lock status", "lock acquire", "lock release",
    "proxy boot", "proxy reboot", "proxy start", "proxy stop", "proxy restart", "proxy details", "proxy logs",
    "proxy remove", "proxy boot_config", "proxy upgrade", "proxy remove_container", "proxy remove_image",
    "proxy remove_proxy_directory",
    "prune all", "prune images", "prune containers",
    "registry setup", "registry remove", "registry login", "registry logout",
    "secrets fetch", "secrets extract", "secrets print",
    "server exec", "server bootstrap",
)  # fmt: skip
HIDDEN = {
    "app remove_container", "app remove_containers", "app remove_images", "app remove_app_directories",
    "accessory upload", "accessory directories", "accessory pull_image", "accessory remove_container",
    "accessory remove_image", "accessory remove_service_directory", "proxy upgrade", "proxy remove_container",
    "proxy remove_image", "proxy remove_proxy_directory",
}  # fmt: skip
# kamal_nb's additions: Kamal 1's env push, and the fleet state table.
EXTRAS = {"env push", "state", "watch"}
# Minimal valid argument lists for commands with required positionals or options.
REQUIRED: dict[str, list[str]] = {
    "rollback": ["v1"],
    "app exec": ["ls"],
    "app remove_container": ["v1"],
    "server exec": ["ls"],
    "lock acquire": ["-m", "why"],
    "secrets fetch": ["-a", "1password"],
    "secrets extract": ["NAME", "{}"],
    "proxy boot_config": ["get"],
    "accessory exec": ["db", "ls"],
}
READ_ONLY = {
    "details", "audit", "config", "docs", "version", "app details", "app containers", "app images", "app logs",
    "app version", "accessory details", "accessory logs", "build details", "lock status", "proxy details",
    "proxy logs", "secrets fetch", "secrets extract", "secrets print", "state", "watch",
}  # fmt: skip


def _argv(command: str) -> list[str]:
    words = command.split()
    if command.startswith("accessory ") and command != "accessory exec":
        words.append("db")
    return [*words, *REQUIRED.get(command, [])]


def test_the_tree_has_every_kamal_command_and_only_those_plus_the_extras() -> None:
    paths = {" ".join(p) for p in cli_tree.command_paths()}
    assert paths == set(KAMAL_2_12_COMMANDS) | EXTRAS
    assert {" ".join(p) for p in cli_tree.command_paths(hidden=False)} == paths - HIDDEN
    assert {" ".join(p) for p in cli_tree.command_paths(extras=False)} == set(KAMAL_2_12_COMMANDS)


@pytest.mark.parametrize("command", sorted(set(KAMAL_2_12_COMMANDS) | EXTRAS))
def test_every_command_parses_to_its_path(command: str) -> None:
    invocation = parse(_argv(command))
    assert invocation.path == tuple(command.split())
    assert not invocation.plan and not invocation.yes
    assert invocation.given == {}


@pytest.mark.parametrize("command", sorted(set(KAMAL_2_12_COMMANDS) | EXTRAS))
def test_every_command_takes_every_global_option(command: str) -> None:
    argv = [
        *_argv(command),
        *["-c", "config/other.yml", "-d", "staging", "-r", "web,work*", "-r", "jobs", "-h", "10.0.0.1"],
        *["-p", "--version", "v9", "-v", "-q", "-H", "--lock-wait", "--lock-wait-timeout", "30"],
        *["--lock-wait-interval", "2.5"],
    ]
    options = parse(argv).options()
    assert options == GlobalOptions(
        config_file="config/other.yml",
        destination="staging",
        roles=("web", "work*", "jobs"),
        hosts=("10.0.0.1",),
        primary=True,
        version="v9",
        skip_hooks=True,
        verbose=True,
        quiet=True,
        lock_wait=True,
        lock_wait_timeout=30.0,
        lock_wait_interval=2.5,
    )


@pytest.mark.parametrize("command", sorted(set(KAMAL_2_12_COMMANDS) | EXTRAS))
def test_yes_applies_to_commands_that_change_something(command: str) -> None:
    argv = [*_argv(command), "--yes"]
    if command in READ_ONLY:
        with pytest.raises(ParseError, match="unrecognized arguments: --yes"):
            parse(argv)
    else:
        assert parse(argv).yes
        assert parse([*_argv(command), "-y"]).yes
        assert parse([*_argv(command), "--confirmed"]).yes  # Kamal's own name for -y


def test_kamal_options_become_args_with_kamal_names_and_defaults() -> None:
    assert parse(["deploy", "-P"]).args == {"skip_push": True, "no_cache": False}
    logs = parse(["app", "logs", "-n", "50", "-g", "GET /up", "-f", "-T", "--since", "42m", "--container-id", "c1"])
    assert logs.args == {
        "since": "42m",
        "lines": 50,
        "grep": "GET /up",
        "grep_options": None,
        "follow": True,
        "skip_timestamps": True,
        "container_id": "c1",
        "follow_for": None,  # kamal_nb's bounds of a follow
        "keep": None,
    }
    assert parse(["prune", "containers", "--retain", "3"]).args == {"retain": 3}
    assert parse(["build", "push"]).args == {"output": "registry", "no_cache": False}
    assert parse(["build", "dev"]).args["output"] == "docker"
    assert parse(["lock", "acquire", "-m", "db migration"]).args == {"message": "db migration"}
    assert parse(["app", "maintenance", "--drain-timeout", "10", "--message", "back soon"]).args == {
        "drain_timeout": 10,
        "message": "back soon",
    }
    assert parse(["registry", "login", "-L", "-R"]).args == {"skip_local": True, "skip_remote": True}
    fetch = parse(["secrets", "fetch", "-a", "bitwarden", "--from", "vault", "A", "B"]).args
    assert fetch["adapter"] == "bitwarden" and fetch["from"] == "vault" and fetch["secrets"] == ("A", "B")
    boot_config = parse(["proxy", "boot_config", "set", "--no-publish", "--docker-options", "a=b", "c=d"]).args
    assert boot_config["subcommand"] == "set"
    assert boot_config["publish"] is False and boot_config["docker_options"] == ("a=b", "c=d")
    assert boot_config["http_port"] == 80 and boot_config["https_port"] == 443 and boot_config["log_max_size"] == "10m"
    assert parse(["init", "--bundle"]).args == {"bundle": True}
    assert parse(["docs", "proxy"]).args == {"section": "proxy"}


def test_rollback_version_is_an_argument_and_version_option_a_global() -> None:
    invocation = parse(["rollback", "v6", "--version", "v7"])
    assert invocation.args == {"version": "v6"}
    assert invocation.options().version == "v7"


def test_remote_commands_are_one_string_joined_as_kamal_joins_them() -> None:
    assert parse(["server", "exec", "docker ps -a"]).args["cmd"] == "docker ps -a"
    assert parse(["server", "exec", "ls", "-la", "/tmp"]).args["cmd"] == "ls -la /tmp"
    app = parse(["app", "exec", "-i", "--reuse", "-e", "A:1", "-e", "B:x:y", "bin/rails console", "-r", "web"])
    assert app.args == {
        "cmd": "bin/rails console",
        "interactive": True,
        "reuse": True,
        "env": {"A": "1", "B": "x:y"},
        "detach": False,
        "raw": False,
        "stream": False,  # kamal_nb: streamed with a stop button, bounded by --for
        "follow_for": None,
        "keep": None,
    }
    assert app.options().roles == ("web",)
    accessory = parse(["accessory", "exec", "db", "psql -c 'select 1'"]).args
    assert accessory["name"] == "db" and accessory["cmd"] == "psql -c 'select 1'"


def test_plan_prefix() -> None:
    invocation = parse(["plan", "deploy", "--version", "v7", "-d", "staging"])
    assert invocation == Invocation(
        ("deploy",), {"skip_push": False, "no_cache": False}, {"version": "v7", "destination": "staging"}, plan=True
    )
    assert parse(["plan", "details"]).plan
    with pytest.raises(ParseError, match="plan: which command"):
        parse(["plan"])


def test_options_fall_back_to_defaults_then_kamal() -> None:
    invocation = parse(["details", "-r", "web"])
    assert invocation.options({"config_file": "c.yml", "destination": "prod"}) == GlobalOptions(
        config_file="c.yml", destination="prod", roles=("web",)
    )
    assert parse(["details", "-d", "staging"]).options({"destination": "prod"}).destination == "staging"
    assert parse(["details"]).options({"destination": None}) == GlobalOptions()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["deplyo"], "unknown command 'deplyo'; did you mean 'deploy'?"),
        (["app", "lgs"], "unknown command 'app lgs'; did you mean 'app logs'?"),
        (["deploy", "--bogus"], "kamal-nb deploy: unrecognized arguments: --bogus"),
        (["rollback"], "kamal-nb rollback: the following arguments are required: VERSION"),
        (["lock", "acquire"], "the following arguments are required: -m/--message"),
        (["app", "logs", "-n", "many"], "argument -n/--lines: invalid int value: 'many'"),
        (["app", "exec", "-e", "novalue", "ls"], "-e/--env expects KEY:VALUE"),
        (["proxy", "boot_config", "frob"], "invalid choice: 'frob'"),
        (["deploy", "--conf", "x"], "unrecognized arguments: --conf x"),  # no abbreviations
        (["help", "nosuch"], "no such command 'nosuch'"),
    ],
)
def test_bad_arguments_are_one_line_errors(argv: list[str], message: str) -> None:
    with pytest.raises(ParseError) as error:
        parse(argv)
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert error.value.usage.startswith("usage: kamal-nb")


def test_hosts_is_dash_h_and_help_is_double_dash() -> None:
    assert parse(["details", "-h", "web-1,web-2"]).options().hosts == ("web-1", "web-2")
    with pytest.raises(HelpRequested) as help:
        parse(["deploy", "--help"])
    assert help.value.text.startswith("usage: kamal-nb deploy")
    assert "-h HOSTS, --hosts HOSTS" in help.value.text and "--help" in help.value.text


def test_help_for_commands_groups_and_the_root() -> None:
    with pytest.raises(HelpRequested) as root:
        parse([])
    assert "deploy" in root.value.text and "remove_containers" not in root.value.text
    with pytest.raises(HelpRequested) as group:
        parse(["app"])
    assert group.value.text.startswith("usage: kamal-nb app") and "stale_containers" in group.value.text
    assert "remove_app_directories" not in group.value.text  # hidden, as in Kamal
    with pytest.raises(HelpRequested) as logs:
        parse(["help", "app", "logs"])
    assert "--grep-options" in logs.value.text
    with pytest.raises(HelpRequested) as planned:
        parse(["help", "plan", "deploy"])
    assert planned.value.text.startswith("usage: kamal-nb deploy")
    with pytest.raises(HelpRequested) as version:
        parse(["--version"])
    assert version.value.text.startswith("kamal-nb ")


def test_overview_lists_the_visible_commands() -> None:
    text = cli_tree.overview()
    assert "deploy" in text and "app {boot" in text and "remove_container" not in text


def test_every_catalog_operation_has_a_command_and_mutating_ones_take_yes() -> None:
    import kamal_nb.state.operation  # noqa: F401 (registers `state`)
    from kamal_nb.ops import catalog

    for path, operation in catalog.catalog().items():
        command = cli_tree.find(path)  # KeyError: an operation no command line can reach
        assert not command.subcommands, path
        if operation.mutating:
            assert command.confirm, f"`{' '.join(path)}` changes hosts but the tree gives it no --yes"
