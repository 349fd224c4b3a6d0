"""%kamal and %%kamal in an in-process IPython shell, against fake operations in the catalog.

The fake operations stand where the real ones will: registered in the catalog for the test (the
catalog's own modules are not imported), with a plan that returns a Plan and a run that publishes
host events from worker threads and returns an OperationResult built from a fleet GroupResult.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets import TraitError

from kamal_nb.engine.plan import Plan, PlannedStep
from kamal_nb.engine.result import OperationResult
from kamal_nb.fleet import CommandResult, Finished, GroupResult, HostResult, Output, Started
from kamal_nb.notebook.errors import KamalError, KamalOperationFailed
from kamal_nb.notebook.magics import KamalMagics, PendingOperation, TextResult
from kamal_nb.ops import catalog
from kamal_nb.ops.session import Context
from kamal_nb.redaction import Secret

REPO = Path(__file__).resolve().parents[2]
Shell = Any  # IPython's InteractiveShell: its methods are untyped
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

# host -> the commands it runs: (command, exit code, output lines)
Script = dict[str, list[tuple[str, int, list[str]]]]
OK: Script = {
    "web-1": [("docker ps", 0, ["abc123 app-web-v7"]), ("docker logs app", 0, ["line 1", "line 2"])],
    "web-2": [("docker ps", 0, ["def456 app-web-v7"]), ("docker logs app", 0, ["line 3"])],
}
FAILING: Script = {
    "web-1": [("docker ps", 0, ["abc123"])],
    "web-2": [("docker ps", 0, ["def456"]), ("docker start app", 1, ["Error: no such container"])],
}


@dataclass
class FakeOps:
    """Registers fake operations; records every run (context and args)."""

    runs: list[tuple[str, Context, dict[str, Any]]] = field(default_factory=list)
    plans: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def add(self, path: tuple[str, ...], script: Script = OK, *, mutating: bool = False) -> None:
        name = " ".join(path)

        def plan(ctx: Context, args: Any) -> Plan:
            self.plans.append((name, dict(args)))
            steps = tuple(PlannedStep(host, command) for host, commands in script.items() for command, _, _ in commands)
            return Plan(name, steps)

        def run(ctx: Context, args: Any) -> OperationResult:
            self.runs.append((name, ctx, dict(args)))
            results: dict[str, HostResult] = {}

            def host_worker(host: str) -> None:
                done = []
                for index, (command, code, lines) in enumerate(script[host]):
                    ctx.session.events.publish(Started(host, index, command))
                    for line in lines:
                        ctx.session.events.publish(Output(host, index, "stdout", line))
                    ctx.session.events.publish(Finished(host, index, code, 0.01))
                    done.append(CommandResult(host, command, code, "".join(f"{x}\n" for x in lines), "", 0.01))
                    if code:
                        break
                results[host] = HostResult(host, tuple(done), None, 0.02)

            threads = [threading.Thread(target=host_worker, args=(host,)) for host in script]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return OperationResult(name, GroupResult({host: results[host] for host in script}), 0.05)

        catalog.register(path, f"fake {name}", mutating=mutating, plan=plan, run=run)

    def ran(self) -> list[str]:
        return [name for name, _, _ in self.runs]


@pytest.fixture
def ops(monkeypatch: pytest.MonkeyPatch) -> FakeOps:
    # only the fake operations: the catalog's own modules are other engineers' and not under test here.
    # They are imported first, so that none registers into the fakes (and is then missing from the
    # real catalog for the tests that run after these, in the same process).
    import kamal_nb.state.operation  # noqa: F401

    catalog.catalog()
    fakes: dict[tuple[str, ...], catalog.Operation] = {}
    monkeypatch.setattr(catalog, "_CATALOG", fakes)
    monkeypatch.setattr(catalog, "catalog", lambda: dict(fakes))
    return FakeOps()


@pytest.fixture
def ip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shell]:
    monkeypatch.chdir(tmp_path)
    shell: Shell = InteractiveShell.instance()
    shell.config.pop("KamalMagics", None)  # %config in one test must not reach the next
    if "kamal_nb" in shell.extension_manager.loaded:
        shell.run_line_magic("reload_ext", "kamal_nb")
    else:
        shell.run_line_magic("load_ext", "kamal_nb")
    yield shell
    shell.run_line_magic("unload_ext", "kamal_nb")
    shell.config.pop("KamalMagics", None)
    for name in ("r", "p", "last", "v", "hosts"):
        shell.user_ns.pop(name, None)


def magics_of(shell: Shell) -> KamalMagics:
    magics = shell.magics_manager.registry["KamalMagics"]
    assert isinstance(magics, KamalMagics)
    return magics


# -- loading ------------------------------------------------------------------------------------


def test_load_reload_unload(ip: Shell) -> None:
    first = magics_of(ip)
    assert "kamal" in ip.magics_manager.magics["line"] and "kamal" in ip.magics_manager.magics["cell"]
    assert first in ip.configurables
    ip.run_line_magic("reload_ext", "kamal_nb")
    second = magics_of(ip)
    assert second is not first and first not in ip.configurables and second in ip.configurables
    ip.run_line_magic("unload_ext", "kamal_nb")
    assert "kamal" not in ip.magics_manager.magics["line"] and "kamal" not in ip.magics_manager.magics["cell"]
    assert second not in ip.configurables
    ip.run_line_magic("load_ext", "kamal_nb")
    assert "kamal" in ip.magics_manager.magics["line"]


def test_load_ext_is_fast_and_imports_nothing_heavy() -> None:
    code = """
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
before = set(sys.modules)
started = time.perf_counter()
ip.run_line_magic("load_ext", "kamal_nb")
elapsed = time.perf_counter() - started
new = sorted(set(sys.modules) - before)
print(json.dumps({"elapsed": elapsed, "new": new}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    heavy = ("pandas", "fabric", "paramiko", "invoke", "docker", "ipywidgets", "yaml", "kamal_nb.ops.catalog")
    assert not [m for m in report["new"] if m.split(".")[0] in heavy or m.startswith(heavy)]
    assert report["elapsed"] < 0.5, report  # ~30 ms here; generous for loaded CI machines


# -- configuration --------------------------------------------------------------------------------


def test_config_traits(ip: Shell, ops: FakeOps) -> None:
    ops.add(("details",))
    magics = magics_of(ip)
    assert (magics.config_file, magics.destination, magics.yes, magics.widgets) == (
        "config/deploy.yml",
        None,
        False,
        "auto",
    )
    ip.run_line_magic("config", "KamalMagics.destination = 'staging'")
    ip.run_line_magic("config", "KamalMagics.config_file = 'ops/main/deploy.yml'")
    ip.run_line_magic("config", "KamalMagics.command_timeout = 5.0")
    ip.run_line_magic("config", "KamalMagics.parallelism = 2")
    ip.run_line_magic("kamal", "details -q")
    ctx = ops.runs[-1][1]
    assert (ctx.options.destination, ctx.options.config_file) == ("staging", "ops/main/deploy.yml")
    assert ctx.session.command_timeout == 5.0 and getattr(ctx.session, "parallelism", None) == 2
    ip.run_line_magic("kamal", "details -q -d production -c other.yml")
    ctx = ops.runs[-1][1]
    assert (ctx.options.destination, ctx.options.config_file) == ("production", "other.yml")
    with pytest.raises(TraitError):
        magics.display_limit = -1
    with pytest.raises(TraitError):
        magics.connect_timeout = 0
    with pytest.raises(TraitError):
        magics.widgets = "sometimes"


# -- results, expansion, errors ----------------------------------------------------------------


def test_line_magic_returns_the_result(ip: Shell, ops: FakeOps) -> None:
    ops.add(("app", "details"))
    with capture_output() as captured:
        outcome = ip.run_cell("r = %kamal app details -r web -h 'web-*'")
    assert outcome.success
    result = ip.user_ns["r"]
    assert isinstance(result, OperationResult) and result.ok and result.operation == "app details"
    options = ops.runs[-1][1].options
    assert options.roles == ("web",) and options.hosts == ("web-*",)
    # text live view while it ran (no widget front end in this shell): one line per step, the
    # output left to the result (shown once)
    assert "[web-1] ok      0.01s  docker ps\n" in captured.stdout and "[web-2] line 3" not in captured.stdout
    with capture_output() as verbose:
        ip.run_cell("r = %kamal app details -v")
    assert "[web-1] $ docker ps\n" in verbose.stdout and "[web-2] line 3\n" in verbose.stdout


def test_variables_expand_outside_quotes_only(ip: Shell, ops: FakeOps) -> None:
    ops.add(("server", "exec"), mutating=True)
    ops.add(("deploy",), mutating=True)
    ip.user_ns["v"] = "v7"
    ip.user_ns["hosts"] = ["web-1", "web-2"]
    ip.run_line_magic("kamal", "deploy --version {v} -h {hosts} --yes -q")
    assert ops.runs[-1][1].options.version == "v7" and ops.runs[-1][1].options.hosts == ("web-1", "web-2")
    ip.run_line_magic("kamal", "server exec 'echo {v} $HOME' --yes -q")
    assert ops.runs[-1][2]["cmd"] == "echo {v} $HOME"
    ip.run_line_magic("kamal", 'server exec "echo {v}" -y -q')
    assert ops.runs[-1][2]["cmd"] == "echo {v}"
    # IPython's own $var / {var} expansion is off: the magic sees the line as typed
    ip.run_cell("%kamal server exec 'echo $v' -y -q")
    assert ops.runs[-1][2]["cmd"] == "echo $v"
    # local variables of a function count too
    ip.run_cell("def f():\n    w = 'v9'\n    r = %kamal deploy --version {w} -y -q\n    return r\n")
    ip.run_cell("f()")
    assert ops.runs[-1][1].options.version == "v9"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("deplyo", "%kamal: unknown command 'deplyo'; did you mean 'deploy'?"),
        ("deploy --bogus", "%kamal deploy: unrecognized arguments: --bogus"),
        ("rollback", "%kamal rollback: the following arguments are required: VERSION"),
        ("deploy --version {missing}", "{missing}: name 'missing' is not defined"),
        ("server exec 'echo", "no closing quotation (')"),
        ("details", "`kamal details` is not available in kamal_nb yet"),
    ],
)
def test_usage_errors_are_one_line(ip: Shell, ops: FakeOps, line: str, message: str) -> None:
    with pytest.raises(UsageError) as error:
        ip.run_line_magic("kamal", line)
    assert message in str(error.value) and "\n" not in str(error.value)
    with capture_output() as captured:
        outcome = ip.run_cell(f"%kamal {line}")
    assert type(outcome.error_in_exec) is UsageError
    assert "Traceback" not in captured.stdout + captured.stderr


def test_selection_errors_are_usage_errors_and_config_errors_short(ip: Shell, ops: FakeOps) -> None:
    from kamal_nb.ops.selection import SelectionError

    def no_match(ctx: Context, args: Any) -> Plan:
        raise SelectionError("No --hosts match for nope")

    def needs_config(ctx: Context, args: Any) -> Plan:
        ctx.config  # noqa: B018 (loading the missing deploy.yml raises ConfigError)
        raise AssertionError("unreachable")

    catalog.register(("audit",), "fake", mutating=False, plan=no_match, run=lambda ctx, args: no_match(ctx, args))  # type: ignore[arg-type,return-value]
    catalog.register(("details",), "fake", mutating=False, plan=needs_config, run=lambda c, a: needs_config(c, a))  # type: ignore[arg-type,return-value]
    with pytest.raises(UsageError, match="kamal audit: No --hosts match for nope"):
        ip.run_line_magic("kamal", "audit")
    with capture_output() as captured:
        outcome = ip.run_cell("%kamal details")
    assert isinstance(outcome.error_in_exec, KamalError)
    assert "Configuration file not found" in str(outcome.error_in_exec)
    assert captured.stdout.strip().startswith("KamalError: kamal details:") and "Traceback" not in captured.stdout


def test_failure_shows_the_summary_then_raises_a_short_error(ip: Shell, ops: FakeOps) -> None:
    ops.add(("app", "start"), FAILING, mutating=True)
    with capture_output() as captured:
        outcome = ip.run_cell("r = %kamal app start --yes")
    error = outcome.error_in_exec
    assert isinstance(error, KamalOperationFailed) and error.result.hosts.failed.keys() == {"web-2"}
    assert "r" not in ip.user_ns  # the assignment never happened: the cell stopped
    summary = [o.data for o in captured.outputs if "text/html" in o.data]
    assert summary and "FAILED" in summary[-1]["text/plain"] and "<table" in summary[-1]["text/html"]
    assert "Traceback" not in captured.stdout
    assert "KamalOperationFailed: kamal app start failed on 1 of 2 hosts" in captured.stdout
    assert "web-2: `docker start app` exited 1: Error: no such container" in captured.stdout
    assert error._render_traceback_() == [
        "KamalOperationFailed: kamal app start failed on 1 of 2 hosts",
        "  web-2: `docker start app` exited 1: Error: no such container",
    ]


def test_secrets_never_reach_the_views_or_errors(ip: Shell, ops: FakeOps) -> None:
    secret = Secret("s3cr3t-registry-password")
    leaky: Script = {"web-1": [(f"docker login -p {secret.reveal()}", 1, [f"denied for {secret.reveal()}"])]}
    ops.add(("registry", "login"), leaky, mutating=True)
    with capture_output() as captured:
        outcome = ip.run_cell("%kamal registry login -y")
    assert isinstance(outcome.error_in_exec, KamalOperationFailed)
    assert "[web-1] exit 1  0.01s  docker login -p [REDACTED]\n[web-1]   │ denied for [REDACTED]\n" in captured.stdout
    assert secret.reveal() not in captured.stdout
    assert secret.reveal() not in str(outcome.error_in_exec)
    ip.run_line_magic("config", "KamalMagics.widgets = 'on'")
    with capture_output():
        ip.run_cell("%kamal registry login -y")
    view = magics_of(ip).last_view
    assert view is not None
    shown = json.dumps([p.output.outputs for p in view.panels.values()]) + view.text() + view.html()
    assert secret.reveal() not in shown and "[REDACTED]" in shown


# -- plans and confirmation ----------------------------------------------------------------------


def test_plan_prefix_runs_nothing(ip: Shell, ops: FakeOps) -> None:
    ops.add(("deploy",), mutating=True)
    plan = ip.run_line_magic("kamal", "plan deploy --version v7")
    assert isinstance(plan, Plan) and plan.operation == "deploy" and plan.hosts == ("web-1", "web-2")
    assert ops.runs == []


def test_mutating_without_yes_shows_the_plan_and_never_waits_headless(ip: Shell, ops: FakeOps) -> None:
    ops.add(("deploy",), mutating=True)
    pending = ip.run_line_magic("kamal", "deploy --version v7")
    assert isinstance(pending, PendingOperation) and pending.panel is None  # no widget front end here
    assert ops.runs == []
    bundle = pending._repr_mimebundle_()
    assert "nothing was run: confirm with --yes" in bundle["text/plain"] and WIDGET_VIEW not in bundle
    result = pending.run()
    assert isinstance(result, OperationResult) and result.ok
    assert pending.run() is result and ops.ran() == ["deploy"]  # once only


def test_yes_setting_runs_without_the_flag(ip: Shell, ops: FakeOps) -> None:
    ops.add(("deploy",), mutating=True)
    ip.run_line_magic("config", "KamalMagics.yes = True")
    assert isinstance(ip.run_line_magic("kamal", "deploy -q"), OperationResult)


def test_confirm_button_runs_once_then_disables_itself(ip: Shell, ops: FakeOps) -> None:
    ops.add(("rollback",), mutating=True)
    ip.run_line_magic("config", "KamalMagics.widgets = 'on'")
    with capture_output() as captured:
        pending = ip.run_line_magic("kamal", "rollback v6")
    assert isinstance(pending, PendingOperation) and ops.runs == []
    panel = pending.panel
    assert panel is not None and not panel.button.disabled
    bundle = pending._repr_mimebundle_()
    assert bundle[WIDGET_VIEW]["model_id"] == panel.box.model_id
    assert "rollback" in bundle["text/plain"]  # for readers without widgets
    # the summary and plan come first as static output: a saved notebook's HTML shows them
    (plan,) = [o.data for o in captured.outputs if WIDGET_VIEW not in o.data]
    assert plan["text/plain"].startswith("kamal rollback: nothing was run: confirm with --yes")
    assert plan["text/html"].index("nothing was run") < plan["text/html"].index("<details>")
    panel.button.click()
    assert ops.ran() == ["rollback"] and ops.runs[0][2] == {"version": "v6"}
    assert panel.button.disabled and panel.runs == 1
    assert "✅" in panel.note.value
    assert isinstance(pending.result, OperationResult) and pending.result.ok
    assert len(panel.area.children) == 2  # the live view, then the result
    panel.button.click()
    panel.button.disabled = False  # even if re-enabled from the front end, it never runs twice
    panel.button.click()
    assert ops.ran() == ["rollback"]


def test_confirm_button_shows_a_failure_without_raising(ip: Shell, ops: FakeOps) -> None:
    ops.add(("app", "stop"), FAILING, mutating=True)
    ip.run_line_magic("config", "KamalMagics.widgets = 'on'")
    pending = ip.run_line_magic("kamal", "app stop")
    assert isinstance(pending, PendingOperation) and pending.panel is not None
    pending.panel.button.click()
    assert "❌" in pending.panel.note.value and pending.panel.button.disabled


# -- widgets -------------------------------------------------------------------------------------


def test_live_widgets_per_host(ip: Shell, ops: FakeOps) -> None:
    ops.add(("app", "details"), FAILING)
    ip.run_line_magic("config", "KamalMagics.widgets = 'on'")
    with capture_output() as captured:
        outcome = ip.run_cell("%kamal app details")
    assert isinstance(outcome.error_in_exec, KamalOperationFailed)
    view = magics_of(ip).last_view
    assert view is not None and list(view.panels) == ["web-1", "web-2"]
    web1, web2 = view.panels["web-1"], view.panels["web-2"]
    # the text view's lines: one per step; a failing step's output below it
    assert [o["text"] for o in web1.output.outputs] == ["ok      0.01s  docker ps\n"]
    assert [o["text"] for o in web2.output.outputs][-2:] == [
        "exit 1  0.01s  docker start app\n",
        "  │ Error: no such container\n",
    ]
    assert (web1.progress.value, web1.progress.max, web1.progress.bar_style) == (1, 1, "success")
    assert web2.progress.bar_style == "danger"
    assert web1.badge.value == "✅ ok" and web2.badge.value.startswith("❌ failed")
    assert view.container.titles == ("✅ web-1", "❌ web-2")
    assert captured.stdout.count("[web-1]") == 0  # no text lines when widgets are on
    widget_bundles = [o.data for o in captured.outputs if WIDGET_VIEW in o.data]
    assert widget_bundles, "the live view was displayed"
    # its fallback for saved notebooks / GitHub: text status per host and the output
    assert "✅ web-1: ok" in view.text() and "<details><summary>web-2</summary>" in view.html()


def test_live_widgets_use_an_accordion_for_many_hosts(ip: Shell, ops: FakeOps) -> None:
    many: Script = {f"web-{i}": [("true", 0, [])] for i in range(8)}
    ops.add(("details",), many)
    ip.run_line_magic("config", "KamalMagics.widgets = 'on'")
    with capture_output():
        ip.run_line_magic("kamal", "details")
    view = magics_of(ip).last_view
    assert view is not None and type(view.container).__name__ == "Accordion" and len(view.panels) == 8


def test_display_limit_truncates_live_output_only(ip: Shell, ops: FakeOps) -> None:
    chatty: Script = {"web-1": [("seq 50", 0, [str(i) for i in range(50)])]}
    ops.add(("audit",), chatty)
    ip.run_line_magic("config", "KamalMagics.display_limit = 5")
    with capture_output() as captured:
        result = ip.run_line_magic("kamal", "audit -v")
    assert "[web-1] 4\n" in captured.stdout and "[web-1] 5\n" not in captured.stdout
    assert "[web-1] … (more output" in captured.stdout and "[web-1] ok (0.0s)" in captured.stdout
    assert result.output("web-1").count("\n") == 50


def test_text_mode_without_widget_frontend(ip: Shell, ops: FakeOps) -> None:
    ops.add(("details",))
    with capture_output() as captured:
        ip.run_cell("%kamal details")
    assert not [o for o in captured.outputs if WIDGET_VIEW in o.data]
    assert "[web-1] ok      0.01s  docker ps\n" in captured.stdout
    assert captured.stdout.count("abc123 app-web-v7") == 1  # the output is shown once, by the result
    assert "kamal details: ok" in captured.stdout  # the result's text/plain, shown by IPython
    with capture_output() as quiet:
        ip.run_cell("%kamal details -q")
    assert "[web-1]" not in quiet.stdout


# -- the cell magic ------------------------------------------------------------------------------


def test_cell_runs_in_order_and_stops_at_the_first_failure(ip: Shell, ops: FakeOps) -> None:
    ops.add(("lock", "status"))
    ops.add(("app", "start"), FAILING, mutating=True)
    ops.add(("app", "details"))
    cell = """
# restart the app
lock status
app start \\
    -r web --yes

app details
"""
    with capture_output():
        outcome = ip.run_cell(f"%%kamal --out last -d staging -q\n{cell}")
    assert isinstance(outcome.error_in_exec, KamalOperationFailed)
    assert ops.ran() == ["lock status", "app start"]
    assert ops.runs[1][1].options.roles == ("web",)
    assert all(ctx.options.destination == "staging" for _, ctx, _ in ops.runs)
    assert ip.user_ns["last"].operation == "app start" and not ip.user_ns["last"].ok


def test_cell_checks_every_line_before_running_any(ip: Shell, ops: FakeOps) -> None:
    ops.add(("details",))
    with pytest.raises(UsageError, match="line 3: %kamal app: unknown command 'app strat'"):
        ip.run_cell_magic("kamal", "", "details\n\napp strat\n")
    assert ops.runs == []


def test_cell_stops_at_a_command_needing_yes(ip: Shell, ops: FakeOps) -> None:
    ops.add(("deploy",), mutating=True)
    ops.add(("details",))
    with capture_output() as captured:
        ip.run_cell_magic("kamal", "--out p", "deploy\ndetails\n")
    assert ops.runs == []
    assert isinstance(ip.user_ns["p"], PendingOperation)
    assert "stopped: `kamal deploy` needs --yes; 1 later command(s) not run" in captured.stdout
    with capture_output():
        ip.run_cell_magic("kamal", "-y -q", "deploy\ndetails\n")
    assert ops.ran() == ["deploy", "details"]


def test_cell_line_errors(ip: Shell, ops: FakeOps) -> None:
    with pytest.raises(UsageError, match="--out needs a variable name"):
        ip.run_cell_magic("kamal", "--out", "details\n")
    with pytest.raises(UsageError, match="is not a Python name"):
        ip.run_cell_magic("kamal", "--out 1x", "details\n")
    with pytest.raises(UsageError, match="%%kamal: unrecognized arguments: --bogus"):
        ip.run_cell_magic("kamal", "--bogus", "details\n")


# -- help and local commands -----------------------------------------------------------------------


def test_help(ip: Shell) -> None:
    with capture_output() as captured:
        assert ip.run_line_magic("kamal", "help app logs") is None
    assert captured.stdout.startswith("usage: %kamal app logs")
    with capture_output() as root:
        ip.run_line_magic("kamal", "")
    assert "usage: %kamal" in root.stdout and "rollback" in root.stdout
    with capture_output() as option:
        ip.run_line_magic("kamal", "deploy --help")
    assert "-h HOSTS, --hosts HOSTS" in option.stdout
    doc = ip.find_line_magic("kamal").__doc__ or ""
    assert "Run Kamal 2 commands" in doc and "app {boot" in doc and "%%kamal" in doc
    with capture_output() as question:
        ip.run_cell("%kamal?")
    assert "Run Kamal 2 commands" in question.stdout


def test_local_commands_when_no_operation_provides_them(ip: Shell, ops: FakeOps) -> None:
    version = ip.run_line_magic("kamal", "version")
    assert isinstance(version, TextResult) and "Kamal 2.12.0" in str(version)
    with pytest.raises(KamalError, match="Configuration file not found"):
        ip.run_line_magic("kamal", "config")


def test_operation_errors_are_one_line_without_a_traceback(ip: Shell, ops: FakeOps) -> None:
    from kamal_nb.ops.lock.deploy_lock import LockError

    def held(ctx: Context, args: Any) -> Plan:
        raise LockError("Deploy lock found. Run 'kamal lock help' for more information")

    catalog.register(("redeploy",), "fake", mutating=True, plan=held, run=lambda c, a: held(c, a))  # type: ignore[arg-type,return-value]
    with capture_output() as captured:
        outcome = ip.run_cell("%kamal redeploy --yes")
    assert isinstance(outcome.error_in_exec, KamalError)
    assert (
        captured.stdout.strip()
        == "KamalError: kamal redeploy: Deploy lock found. Run 'kamal lock help' for more information"
    )
