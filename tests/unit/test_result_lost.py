"""A host the SSH liveness rule gave up has its own outcome, "lost" (issue 16 item 1): its status in
every table, a count in the verdict, the reason in its row, highlighted like a failure."""

from __future__ import annotations

import re

from kamal_nb.engine import result_view
from kamal_nb.engine.answers import versions
from kamal_nb.engine.result import OperationResult, failed_hosts_message
from kamal_nb.fleet import CommandResult, GroupResult, HostResult
from kamal_nb.notebook.errors import KamalOperationFailed

# as kamal_nb.fleet.pool words it (the host, then the liveness rule's reason)
LOST = "10.0.0.3: lost: no answer for 3s to keepalives sent every 1s (keepalive_interval 1s x keepalive_count_max 3)"
RED = "<tr style='background-color: #f8d7da'>"


def run_command(host: str, version: str, exit_code: int = 0) -> CommandResult:
    command = (
        f'docker run --detach --restart unless-stopped --name demo-web-{version} --env KAMAL_VERSION="{version}" '
        f'--label service="demo" --label role="web" 10.0.0.1:5000/demo:{version}'
    )
    return CommandResult(host, command, exit_code, "0123456789abcdef\n" if exit_code == 0 else "", "", 0.5, 1_000.0)


def hosts() -> GroupResult:
    ok = HostResult("10.0.0.1", (run_command("10.0.0.1", "v2"),), None, 2.0)
    failed = HostResult(
        "10.0.0.2", (CommandResult("10.0.0.2", "docker pull demo:v2", 1, "", "denied\n", 0.25, 1_000.1),), None, 0.3
    )
    lost = HostResult("10.0.0.3", (run_command("10.0.0.3", "v2"),), LOST, 4.0)
    return GroupResult({"10.0.0.1": ok, "10.0.0.2": failed, "10.0.0.3": lost})


def test_a_lost_host_is_its_own_outcome_and_still_a_failure() -> None:
    group = hosts()
    assert [r.status for r in group.values()] == ["ok", "FAILED", "lost"]
    assert list(group.lost) == ["10.0.0.3"]
    assert set(group.failed) == {"10.0.0.2", "10.0.0.3"}
    assert not group["10.0.0.3"].ok and group["10.0.0.3"].failure == LOST
    # the reason as an operation passes it on (the boot guard's prefix, the lock's) keeps it lost
    for said in (f"Failed to boot web on 10.0.0.3: {LOST}", f"deploy lock on 10.0.0.3: {LOST}"):
        assert HostResult("10.0.0.3", (), said).status == "lost"
    # a connection that broke, or a command that printed the words, is a failure, not lost
    assert HostResult("h", (), "h: connection lost while the command ran (EOF)").status == "FAILED"
    printed = CommandResult("h", "cat log", 1, "lost: no answer for 3s to keepalives", "", 0.1)
    assert HostResult("h", (printed,)).status == "FAILED"


def test_the_verdict_counts_the_lost_hosts_and_each_row_says_why() -> None:
    result = OperationResult("server exec", hosts(), 4.2)
    assert result_view.verdict(result) == "kamal server exec: FAILED on 2 of 3 hosts (1 lost) (4.20s)"
    text = result_view.text(result)
    row = next(line for line in text.splitlines() if line.startswith("10.0.0.3 "))
    assert re.match(r"10\.0\.0\.3\s+lost\s", row) and row.endswith(LOST), text
    assert re.match(r"10\.0\.0\.2\s+FAILED\s", next(line for line in text.splitlines() if line.startswith("10.0.0.2")))
    assert "FAILED on 2 of 3 hosts (1 lost)" in str(result)
    assert f"  10.0.0.3: {LOST}" in str(result)
    assert failed_hosts_message(result.hosts).splitlines()[0] == "failed on 2 of 3 hosts (1 lost)"
    error = KamalOperationFailed(result)  # what %kamal raises (and shows) after the result
    assert error._render_traceback_()[0] == "KamalOperationFailed: kamal server exec failed on 2 of 3 hosts (1 lost)"
    # a lost host's row is highlighted as a failed one's
    page = result_view.to_html(result)
    rows = re.findall(r"<tr[^>]*>(?:(?!</tr>).)*</tr>", page.split("<tbody>")[1])
    assert [r.startswith(RED) for r in rows] == [False, True, True], page
    assert ">lost<" in rows[2] and "no answer for 3s to keepalives" in rows[2]


def test_a_deploy_says_how_many_hosts_were_lost() -> None:
    result = OperationResult("redeploy", hosts(), 9.0, messages=("Start container with version v2 on 10.0.0.1",))
    line = result_view.verdict(result)
    assert line.startswith("kamal redeploy: FAILED (1 lost): v2 booted on 2 of 3 hosts; "), line
    assert "kamal redeploy: FAILED on 2 of 3 hosts (1 lost): v2 booted on 2 of 3 hosts; " in str(result)
    header, *rows = result_view.text(result).split("\n\n")[1].splitlines()
    assert header.split() == ["host", "role", "version", "container", "kamal-proxy", "status", "duration"]
    assert [row.split()[-2] for row in rows] == ["ok", "FAILED", "lost"]
    page = result_view.to_html(result)
    assert page.count(RED) == 2 and ">lost<" in page


def test_the_tables_of_a_result_say_lost() -> None:
    result = OperationResult("server exec", hosts(), 4.2)
    assert list(result.hosts_df["status"]) == ["ok", "FAILED", "lost"]
    assert list(result.timeline_by_host["status"]) == ["ok", "FAILED", "lost"]


def test_a_question_keeps_its_one_line_summary_and_says_the_lost_host() -> None:
    answered = HostResult(
        "10.0.0.1", (CommandResult("10.0.0.1", "docker ps --latest", 0, "v2\n", "", 0.1, 1_000.0),), None, 0.1
    )
    lost = HostResult("10.0.0.3", (), LOST, 3.0)
    group = GroupResult({"10.0.0.1": answered, "10.0.0.3": lost})
    answer = versions("app version", group, dict.fromkeys(group, "web"))
    result = OperationResult("app version", group, 3.1, answer)
    assert result.data.summary == answer.summary
    line = result_view.verdict(result)
    assert line == f"kamal app version: FAILED on 1 of 2 hosts (1 lost); {answer.summary} (3.10s)", line
    # the answer's own table says lost (not FAILED) in the host's row, highlighted as a failure
    row = next(line for line in answer.table_text() if line.startswith("10.0.0.3"))
    assert f"lost: {LOST}" in row, row
    assert RED + "<td" in answer.table_html() and answer.table_html().count(RED) == 1


def test_the_terminal_result_of_a_change_counts_host_output_and_an_answer_prints_it() -> None:
    """What `kamal-nb deploy` prints after its live lines: a host's output is a log shown live, so the
    result says how long it is (once); a question's output (`server exec`) is the answer, printed."""
    group = GroupResult({"10.0.0.1": HostResult("10.0.0.1", (run_command("10.0.0.1", "v2"),), None, 2.0)})
    change = str(OperationResult("deploy", group, 2.0, changes=True))
    assert "0123456789abcdef" not in change and "Host: 10.0.0.1" not in change, change
    assert "10.0.0.1: 1 line of output (-v prints it live)" in change, change
    answer = str(OperationResult("server exec", group, 2.0))
    assert "Host: 10.0.0.1\n0123456789abcdef" in answer, answer
