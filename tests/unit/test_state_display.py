"""What `kamal-nb state` and `app version` print on a fresh sandbox fleet: one line per host's step, then
the summary; no raw `docker inspect` JSON, no audit lines, no `<NA>`/`NaN`, every line with its host."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from kamal_nb.cli import main
from kamal_nb.sandbox.fleet import create_sandbox

HOSTS = ("10.200.0.11", "10.200.0.12", "10.200.0.13")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sandbox")
    create_sandbox(root, hosts=3)
    return root


def kamal_nb(sandbox: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("KAMAL_NB_BACKEND", "sandbox")
    monkeypatch.setenv("KAMAL_NB_SANDBOX_DIR", str(sandbox))
    monkeypatch.chdir(sandbox / "project")
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue() + err.getvalue()


def test_state_prints_step_lines_then_the_summary(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, text = kamal_nb(sandbox, monkeypatch, "state")
    assert code == 0, text
    lines = text.splitlines()
    steps = [line for line in lines if line.startswith("[")]
    assert len(steps) == 3 and {line[1 : line.index("]")] for line in steps} == set(HOSTS)
    assert all("ok" in line and "docker version" in line for line in steps)
    assert lines[3].startswith("Fleet state of demo: 3 hosts, 3 reachable")
    assert "INFO    nothing deployed yet" in text and "ERROR" not in text
    for raw in ('{"id":', "docker container inspect", "<NA>", "NaN", "audit.log"):
        assert raw not in text, raw
    quiet = kamal_nb(sandbox, monkeypatch, "state", "-q")[1]
    assert quiet.startswith("Fleet state of demo")


def test_state_html_has_no_missing_value_markers(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kamal_nb.ops.session import Session
    from kamal_nb.sandbox.backend import sandbox_backend
    from kamal_nb.state.fleet_state import gather

    session = Session(root=sandbox / "project", backend=sandbox_backend(sandbox))
    try:
        from kamal_nb.cli_tree import parse

        state = gather(session.context(parse(["details"]).options()))
    finally:
        session.close()
    bundle = state._repr_mimebundle_()
    assert bundle["text/html"].index("Fleet state of demo") < bundle["text/html"].index("<table")
    for table in state.tables.values():
        for text in (table.to_text(), table.to_html()):
            assert "<NA>" not in text and "NaN" not in text and "NaT" not in text


def test_missing_values_read_as_a_dash_never_nan() -> None:
    import math

    import pandas as pd

    from kamal_nb.state.table import display_value

    assert [display_value(v) for v in (None, math.nan, pd.NA, pd.NaT, "", 0)] == ["—", "—", "—", "—", "", "0"]


def test_a_view_of_any_frame_shows_a_dash_for_every_kind_of_missing_value() -> None:
    import numpy as np
    import pandas as pd

    from kamal_nb.state import view

    frame = pd.DataFrame(
        {
            "host": pd.array(["h1", None], dtype="string"),
            "role": pd.Categorical(["web", None]),
            "exit": pd.array([0, None], dtype="Int64"),
            "seconds": [1.5, np.nan],
            "at": pd.to_datetime(pd.Series(["2026-01-01T00:00:00Z", None]), utc=True),
            "ok": np.array([True, False]),
            "note": ["", None],
        }
    )
    shown = view(frame, "mixed")
    text, page = shown._repr_mimebundle_()["text/plain"], shown._repr_mimebundle_()["text/html"]
    assert text.splitlines()[0] == "mixed (2 rows)", "the summary first"
    assert text.splitlines()[2].split() == ["h1", "web", "0", "1.5", "2026-01-01", "00:00:00Z", "yes"]
    assert text.splitlines()[3].split() == ["—", "—", "—", "—", "—", "no", "—"]
    for form in (text, page):
        for raw in ("<NA>", "&lt;NA&gt;", "NaN", "nan", "NaT", "None"):
            assert raw not in form, (raw, form)
    assert shown.df is frame, "the data stays as it was"
