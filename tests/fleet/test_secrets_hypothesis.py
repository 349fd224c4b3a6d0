"""Random secrets through everything a notebook does with them, on the real fleet (issue 16 item 4).

Each example is a random secret (backslashes, quotes, newlines, unicode, `$` and backticks) given to
the app as HYPO_SECRET. In an IPython shell with `%xmode Verbose`, as a notebook runs it: `env
push`, `server exec` printing the env files as stored on the hosts, `app exec env` printing the
environment of a container, a failing command whose error output is the env file, plans, and the
tracebacks of two bugs (a subscriber of the host events failing while the pre-connect hook, which
receives the secrets and prints this one, runs; and once a host printed the env file). No form of
the secret (`secret_forms`: as is, Kamal's env-file escaping, shell quoting, JSON escaping, Python's
repr, base64, URL encoding) may appear in what was printed, displayed (the outputs a saved notebook
keeps), returned, raised, or written to the run log.

Run with its own fleet: `KAMAL_NB_TEST_FLEET=4 .venv/bin/pytest tests/fleet/test_secrets_hypothesis.py`.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from IPython.utils.capture import capture_output

from kamal_nb.commands.quoting import env_file_value
from kamal_nb.fleet import Finished, HostEvent, Output
from kamal_nb.redaction import REDACTED, secret_forms
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import APP_SECRET, deploy_config, write_project
from tests.fleet.helpers import kamal_shell
from tests.fleet.test_reliability_secrets import rendered

pytestmark = [pytest.mark.fleet, pytest.mark.slow]

# what makes a secret hard to carry: escapes, quotes, newlines, shell and dotenv syntax, unicode
TRICKY = [*"\\\"'\n\t $`{}()!#;&|<>*?=%+/", "é", "ß", "日", "🔑", "\u00a0", "\\n", "$(", "${"]
SECRETS = (
    st.lists(
        st.one_of(st.sampled_from(TRICKY), st.characters(categories=("L", "N"), max_codepoint=0x1FFFF)),
        min_size=8,
        max_size=24,
    )
    .map("".join)
    .filter(lambda s: len(set(s)) >= 5 and sum(c.isalnum() for c in s) >= 3)
    # a secret inside the mask itself would be "found" in every masked line
    .filter(lambda s: not any(form in REDACTED for form in secret_forms(s)))
)
# the pre-connect hook receives every secret as an environment variable (as in Kamal)
HOOK = '#!/bin/sh\nprintf "pre-connect saw %s\\n" "$HYPO_SECRET"\n'
examples = itertools.count()


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    fleet_control.reset_hosts()
    config = deploy_config(fleet, env={"clear": {"APP_ENV": "production"}, "secret": ["DEMO_SECRET", "HYPO_SECRET"]})
    project = write_project(tmp_path_factory.mktemp("hypo"), fleet, config, {"HYPO_SECRET": "$HYPO_VALUE"})
    return project


@pytest.fixture(scope="module")
def ip(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The shell, in the project, with %xmode Verbose; the app set up at v1 (before the hook exists)."""
    saved = {name: os.environ.get(name) for name in ("KAMAL_NB_RUN_LOG", "HYPO_VALUE")}
    os.environ["KAMAL_NB_RUN_LOG"] = str(tmp_path_factory.mktemp("runlog") / "runs.jsonl")
    os.environ["HYPO_VALUE"] = "setup-value-0"
    cwd = os.getcwd()
    os.chdir(project)
    try:
        with kamal_shell("off") as shell:
            shell.run_line_magic("kamal", "setup -P --version v1 --yes")
            hook = project / ".kamal" / "hooks" / "pre-connect"
            hook.parent.mkdir(parents=True, exist_ok=True)
            hook.write_text(HOOK)
            hook.chmod(0o755)
            shell.run_line_magic("xmode", "Verbose")
            try:
                yield shell
            finally:
                shell.run_line_magic("xmode", "Context")
    finally:
        os.chdir(cwd)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def magics(ip: Any) -> Any:
    return ip.magics_manager.registry["KamalMagics"]


def cell(ip: Any, line: str) -> list[str]:
    """`%kamal LINE` run as a notebook cell: everything printed and displayed (what a saved notebook
    keeps), the cell's value in every form, and its error (the short form, or IPython's traceback)."""
    with capture_output() as captured:
        outcome = ip.run_cell(f"_hypo = %kamal {line}", store_history=False)
    texts = [captured.stdout, captured.stderr]
    for output in captured.outputs:
        texts += [str(value) for value in output.data.values()]
    if outcome.error_in_exec is not None:
        error = outcome.error_in_exec
        texts += [str(error), repr(error), *getattr(error, "_render_traceback_", list)()]
        cause = error.__cause__
        if cause is not None:
            texts += [str(cause), repr(cause)]
    else:
        texts += rendered(ip.user_ns.get("_hypo"))
    return texts


def printed(event: Output) -> str:
    # `line` (one line an event) or `text` (whole lines an event, as the output in chunks has it)
    return str(getattr(event, "text", None) or getattr(event, "line", ""))


def bug_traceback(ip: Any, when: Callable[[HostEvent], bool], line: str) -> list[str]:
    """`%kamal LINE` with a subscriber of the host events that fails on the first event `when` matches."""

    def buggy(event: HostEvent) -> None:
        if when(event):
            raise RuntimeError("a subscriber's bug")

    unsubscribe = magics(ip).session().events.subscribe(buggy)
    try:
        texts = cell(ip, line)
    finally:
        unsubscribe()
    assert any("a subscriber's bug" in text and "Traceback" in text for text in texts), texts
    return texts


_send_request = paramiko.SFTPClient._async_request  # type: ignore[attr-defined]  # private: unnamed in the stubs


def _broken_write(self: Any, fileobj: Any, kind: int, *args: Any) -> Any:
    """The SFTP write request fails in the transport, deep inside the upload (the env file's bytes
    are in the locals of the frames above it)."""
    if kind == paramiko.sftp.CMD_WRITE:
        raise paramiko.SSHException("the transport broke")
    return _send_request(self, fileobj, kind, *args)


def stored_env_file(fleet: FleetInfo) -> str:
    return (Path(fleet.base) / "nodes" / "h1" / "root" / ".kamal/apps/demo/env/roles/web.env").read_text()


# Few examples, each a dozen operations on the fleet; no shrinking (each step of it is as long): the
# failing secret is printed as it was drawn.
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
@given(secret=SECRETS)
@example(secret='cache\\Tr1cky-"Q"-5b4a$x')  # issue 16's: Kamal's env file doubles the backslash
@example(secret="\\\\\"\n01 'quoted' `id` $(x) ${HOME} é🔑")
def test_no_form_of_a_random_secret_is_shown(ip: Any, project: Path, fleet: FleetInfo, secret: str) -> None:
    h1 = fleet.host_ips[0]
    os.environ["HYPO_VALUE"] = secret
    # a changed secrets file makes the session load the configuration (and so the secret) again
    (project / ".kamal" / "secrets").write_text(
        (project / ".kamal" / "secrets").read_text().split("# example")[0] + f"# example {next(examples)}\n"
    )
    produced: list[str] = []
    produced += cell(ip, "env push --yes")
    assert f"HYPO_SECRET={env_file_value(secret)}\n" in stored_env_file(fleet), "the secret reached the hosts"
    produced += cell(ip, "server exec 'cat .kamal/apps/demo/env/roles/*.env'")
    produced += cell(ip, f"app exec -h {h1} --version v1 env")
    failing = cell(ip, f"server exec -h {h1} 'cat .kamal/apps/demo/env/roles/web.env >&2; exit 3'")
    assert any("exited 3" in text for text in failing), failing
    produced += failing
    produced += cell(ip, "env push")  # the plan, awaiting a confirmation
    produced += cell(ip, "plan deploy -P --version v1")
    produced += cell(ip, f"app boot -h {h1} --version v1")

    # a bug while the hook runs, and while a host prints the env file: IPython's verbose traceback,
    # with the locals of each frame
    hook_printed = lambda event: isinstance(event, Output) and "pre-connect saw" in printed(event)  # noqa: E731
    produced += bug_traceback(ip, hook_printed, "server exec 'true'")
    produced += bug_traceback(
        ip, lambda event: isinstance(event, Finished), f"server exec -h {h1} 'cat .kamal/apps/demo/env/roles/web.env'"
    )
    # a transport failing while the env file is written: paramiko's error, not one kamal_nb expects
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(paramiko.SFTPClient, "_async_request", _broken_write)
        broken = cell(ip, f"env push -h {h1} --yes")
    assert any("the transport broke" in text for text in broken), broken
    produced += broken
    produced.append(Path(os.environ["KAMAL_NB_RUN_LOG"]).read_text())

    everything = "\n".join(produced)
    assert REDACTED in everything
    for value in (secret, APP_SECRET, fleet.registry_password):  # the project's other secrets too
        for form in secret_forms(value):
            assert form not in everything, f"the secret {value!r} leaked as {form!r}:\n" + _around(everything, form)


def _around(text: str, form: str) -> str:
    at = text.find(form)
    return text[max(0, at - 300) : at + len(form) + 100]
