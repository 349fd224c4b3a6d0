"""State tables from recorded probe outputs (the real Kamal deployed them on the test fleet):
values, explicit dtypes, statuses, highlighting, findings."""

from __future__ import annotations

import dataclasses
import datetime
import importlib.util
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kamal_nb.engine.html_style import LEFT
from kamal_nb.state import FleetState
from kamal_nb.state.deployment import Deployment, RoleInfo
from kamal_nb.state.model import Container, HostSnapshot
from kamal_nb.state.parse import snapshot
from kamal_nb.state.probe import ProbeOutput, SectionOutput
from kamal_nb.state.table import ROW_CSS, Table, category, format_duration, string

DATA = Path(__file__).parent / "data"
UTC = datetime.UTC
H1, H2, H3 = "10.211.0.11", "10.211.0.12", "10.211.0.13"
LOCKED_AT = datetime.datetime(2026, 11, 26, 20, 56, 24, tzinfo=UTC)

DEMO = Deployment(
    service="demo",
    destination=None,
    repository="10.211.0.1:5000/demo",
    hosts=(H1, H2, H3),
    primary_host=H1,
    roles=(
        RoleInfo("web", (H1, H2), "demo-web", running_proxy=True, host_tags={H2: ("replica",)}),
        RoleInfo("jobs", (H3,), "demo-jobs"),
    ),
)

DTYPES = {
    "servers": {
        "host": "string",
        "roles": "string",
        "accessories": "string",
        "tags": "string",
        "primary": "boolean",
        "reachable": "boolean",
        "docker_version": "string",
        "proxy_running": "boolean",
        "lock_held": "boolean",
        "app_running": "Int64",
        "app_containers": "Int64",
        "error": "string",
        "status": "string",
    },
    "releases": {
        "host": "string",
        "role": "category",
        "version": "string",
        "container": "string",
        "container_id": "string",
        "image": "string",
        "state": "category",
        "health": "category",
        "started_at": "datetime64[ns, UTC]",
        "running": "Int64",
        "stale": "string",
        "rollback_versions": "string",
        "status": "string",
    },
    "containers": {
        "host": "string",
        "kind": "category",
        "name": "string",
        "service": "string",
        "role": "category",
        "destination": "string",
        "version": "string",
        "replaced": "boolean",
        "current": "boolean",
        "container_id": "string",
        "image": "string",
        "image_id": "string",
        "state": "category",
        "health": "category",
        "exit_code": "Int64",
        "restart_count": "Int64",
        "created_at": "datetime64[ns, UTC]",
        "started_at": "datetime64[ns, UTC]",
        "finished_at": "datetime64[ns, UTC]",
        "status": "string",
    },
    "images": {
        "host": "string",
        "repository": "string",
        "tag": "string",
        "version": "string",
        "image_id": "string",
        "created_at": "datetime64[ns, UTC]",
        "size": "string",
        "latest": "boolean",
        "containers": "Int64",
        "current": "boolean",
        "status": "string",
    },
    "audit": {
        "recorded_at": "datetime64[ns, UTC]",
        "host": "string",
        "performer": "string",
        "destination": "string",
        "role": "category",
        "details": "string",
        "message": "string",
        "line": "Int64",
        "status": "string",
    },
    "lock": {
        "host": "string",
        "primary": "boolean",
        "locked_by": "string",
        "locked_at": "datetime64[ns, UTC]",
        "version": "string",
        "message": "string",
        "automatic": "boolean",
        "age": "timedelta64[ns]",
        "status": "string",
    },
    "findings": {
        "severity": "category",
        "kind": "category",
        "host": "string",
        "role": "category",
        "message": "string",
        "status": "string",
    },
}


def recorded(name: str) -> list[ProbeOutput]:
    return [ProbeOutput.from_json(item) for item in json.loads((DATA / f"state_probe_{name}.json").read_text())]


def state_of(name: str, now: datetime.datetime = LOCKED_AT + datetime.timedelta(minutes=10)) -> FleetState:
    return FleetState.from_outputs(DEMO, recorded(name), now, 0.5)


def assert_stable_dtypes(state: FleetState) -> None:
    for name, table in state.tables.items():
        df = table.df
        assert {c: str(t) for c, t in df.dtypes.items()} == DTYPES[name], name
        assert isinstance(df.index, pd.RangeIndex) and len(df) == len(table)
        for column, dtype in df.dtypes.items():
            if str(dtype) == "string":  # the NA-backed StringDtype, not pandas 3's NaN-backed `str`
                assert isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA, (name, column)


def values(series: pd.Series[Any]) -> list[object]:
    """The column as Python values, NA as None."""
    return [None if pd.isna(v) else v for v in series.tolist()]


def flagged(table: Table) -> list[str]:
    return list(table.levels)


def test_dtypes_are_explicit_and_the_same_for_full_and_empty_tables() -> None:
    assert_stable_dtypes(state_of("deployed_locked"))
    skew = state_of("skew_stopped_stale")
    assert len(skew.lock) == 0  # released before the rollback
    assert_stable_dtypes(skew)
    nothing = FleetState(DEMO, tuple(HostSnapshot(h, error="down") for h in DEMO.hosts), LOCKED_AT)
    assert_stable_dtypes(nothing)
    assert len(nothing.containers) == len(nothing.images) == len(nothing.audit) == 0


def test_servers_after_deploys_with_a_held_lock() -> None:
    table = state_of("deployed_locked").servers
    df = table.df
    assert df.host.tolist() == [H1, H2, H3]
    assert df.roles.tolist() == ["web", "web", "jobs"]
    assert df.tags.tolist() == ["", "replica", ""]
    assert df.primary.tolist() == [True, False, False]
    assert df.reachable.all() and (df.docker_version == "20.10.24+dfsg1").all()
    assert df.proxy_running.tolist() == [True, True, False]  # the jobs host runs no proxy
    assert df.lock_held.tolist() == [True, False, False]
    assert df.app_running.tolist() == [1, 1, 1] and df.app_containers.tolist() == [2, 2, 2]
    assert df.error.isna().all()
    assert df.status.tolist() == ["deploy lock held here", "ok", "ok"]
    assert flagged(table) == ["warn", "ok", "ok"]


def test_releases_after_two_deploys() -> None:
    df = state_of("deployed_locked").releases.df
    assert list(zip(df.host, df.role, strict=True)) == [(H1, "web"), (H2, "web"), (H3, "jobs")]
    assert df.version.tolist() == ["v2", "v2", "v2"]
    assert df.container.tolist() == ["demo-web-v2", "demo-web-v2", "demo-jobs-v2"]
    assert (df.image == "10.211.0.1:5000/demo:v2").all()
    assert df.state.tolist() == ["running"] * 3 and df.health.tolist() == ["none"] * 3
    assert df.rollback_versions.tolist() == ["v1", "v1", "v1"] and df.stale.isna().all()
    assert df.running.tolist() == [1, 1, 1] and df.status.tolist() == ["ok"] * 3
    assert df.started_at.min() > pd.Timestamp("2026-11-26T20:56:00Z")
    assert list(df.role.cat.categories) == ["web", "jobs"]
    assert df.state.cat.ordered and list(df.state.cat.categories)[:2] == ["running", "restarting"]


def test_containers_and_images_after_two_deploys() -> None:
    state = state_of("deployed_locked")
    df = state.containers.df
    assert len(df) == 8
    assert df.kind.value_counts().to_dict() == {"app": 6, "proxy": 2, "accessory": 0}
    apps = df[df.kind == "app"]
    assert set(zip(apps.host, apps.name, apps.version, apps.current, strict=True)) == {
        (H1, "demo-web-v2", "v2", True),
        (H1, "demo-web-v1", "v1", False),
        (H2, "demo-web-v2", "v2", True),
        (H2, "demo-web-v1", "v1", False),
        (H3, "demo-jobs-v2", "v2", True),
        (H3, "demo-jobs-v1", "v1", False),
    }
    assert (apps.service == "demo").all() and apps.destination.isna().all() and not apps.replaced.any()
    assert set(apps[~apps.current.astype(bool)].status) == {"exited (0), rollback candidate"}
    proxies = df[df.kind == "proxy"]
    assert proxies.current.isna().all() and proxies.role.isna().all() and (proxies.state == "running").all()
    assert flagged(state.containers) == ["ok"] * 8
    assert apps[apps.current.astype(bool)].finished_at.isna().all()
    images = state.images.df
    h1 = images[images.host == H1]
    assert h1.tag.tolist() == ["latest", "v2", "v1"]
    assert h1.version.isna().tolist() == [True, False, False]
    assert h1.latest.tolist() == [True, True, False] and h1.current.tolist() == [True, True, False]
    assert h1.status.tolist() == ["current, latest", "current, latest", "in use"]
    assert h1.containers.tolist() == [1, 1, 1]


def test_audit_merges_hosts_by_time() -> None:
    df = state_of("deployed_locked").audit.df
    assert len(df) == 30 and (df.status == "ok").all()
    assert df.recorded_at.is_monotonic_increasing
    assert (df.performer == "operator@example.test").all() and df.destination.isna().all()
    boots = df[df.message.str.startswith("Booted app version")]
    assert list(zip(boots.host, boots.role, boots.message, strict=True)) == [
        (H1, "web", "Booted app version v1"),
        (H2, "web", "Booted app version v1"),
        (H3, "jobs", "Booted app version v1"),
        (H1, "web", "Booted app version v2"),
        (H2, "web", "Booted app version v2"),
        (H3, "jobs", "Booted app version v2"),
    ]
    assert df[df.message == "Pruned images"].role.isna().all()


def test_lock_and_findings_while_locked() -> None:
    state = state_of("deployed_locked")
    lock = state.lock.df
    assert lock.to_dict("records")[0] | {"locked_at": None, "age": None} == {
        "host": H1,
        "primary": True,
        "locked_by": "Test Operator",
        "locked_at": None,
        "version": "fec106c0cf75122beb684585b1be39c47e99dfba",
        "message": "investigating",
        "automatic": False,
        "age": None,
        "status": "held",
    }
    assert lock.locked_at[0] == pd.Timestamp(LOCKED_AT)
    assert lock.age[0] == pd.Timedelta(minutes=10)
    findings = state.findings.df
    assert list(zip(findings.severity, findings.kind, findings.host, strict=True)) == [("info", "lock_held", H1)]
    assert state.ok


def test_an_old_lock_is_a_finding() -> None:
    state = state_of("deployed_locked", now=LOCKED_AT + datetime.timedelta(hours=2, minutes=5))
    assert state.lock.df.status[0] == "held, for 2h 05m: older than 1h 00m"
    assert flagged(state.lock) == ["bad"]
    (finding,) = state.finding_list
    assert (finding.severity, finding.kind, finding.host) == ("warning", "stale_lock", H1)
    assert "2h 05m" in finding.message and "investigating" in finding.message
    assert state.ok  # a warning, not an error


def test_rollback_skew_stopped_and_stale() -> None:
    state = state_of("skew_stopped_stale")
    releases = state.releases.df
    assert values(releases.version) == ["v1", "v2", None]
    assert values(releases.stale) == ["v2", None, None]
    assert releases.running.tolist() == [2, 1, 0]
    assert values(releases.rollback_versions) == [None, "v1", "v1,v2"]  # replaced containers left out
    assert releases.status.tolist() == [
        "version skew; stale running: v2",
        "version skew",
        "no running container",
    ]
    assert flagged(state.releases) == ["warn", "warn", "bad"]
    kinds = [(f.severity, f.kind, f.host, f.role) for f in state.finding_list]
    assert kinds == [
        ("error", "no_running_container", H3, "jobs"),
        ("warning", "version_skew", None, "web"),
        ("warning", "stale_container", H1, "web"),
    ]
    assert not state.ok
    assert state.finding_list[1].message == f"role web runs v1 on {H1}, v2 on {H2}"
    findings = state.findings.df
    assert findings.status.tolist() == ["ERROR", "WARNING", "WARNING"]
    assert findings.severity.cat.ordered and (findings.severity <= "warning").all()
    containers = state.containers.df
    replaced = containers[containers.replaced.fillna(False).astype(bool)]
    assert set(replaced.version) == {
        "v1_replaced_f38947d1e08c0e08",
        "v2_replaced_7cc859a73ca6cec0",
        "v1_replaced_000a0ca84a51eae7",
        "v1_replaced_8e2c2a52d9a02877",
    }
    assert set(replaced.status) == {"exited (0), replaced"}
    stale = containers[containers.status == "running, stale"]
    assert list(zip(stale.host, stale.name, strict=True)) == [(H1, "demo-web-v2")]
    servers = state.servers.df
    assert servers.status.tolist() == ["ok", "ok", "no app running"]
    images = state.images.df
    assert images[(images.host == H1) & images.latest.astype(bool)].tag.tolist() == ["latest", "v1"]


def test_skew_without_a_majority_marks_every_host() -> None:
    d = dataclasses.replace(DEMO, hosts=(H1, H2), roles=(DEMO.roles[0],))
    outputs = [o for o in recorded("skew_stopped_stale") if o.host != H3]
    state = FleetState.from_outputs(d, outputs, LOCKED_AT)
    assert [s.majority for s in state.skews] == [None]
    assert state.releases.df.status.tolist() == ["version skew; stale running: v2", "version skew"]


def test_unreachable_host() -> None:
    outputs = recorded("deployed_locked")
    outputs[1] = ProbeOutput(H2, {}, f"{H2}: connection refused")
    state = FleetState.from_outputs(DEMO, outputs, LOCKED_AT)
    servers = state.servers.df
    assert servers.reachable.tolist() == [True, False, True]
    row = servers.iloc[1]
    assert row.status == "unreachable" and row.error == f"{H2}: connection refused"
    assert pd.isna(row.proxy_running) and pd.isna(row.docker_version) and pd.isna(row.app_running)
    assert flagged(state.servers)[1] == "bad"
    assert state.releases.df.status.tolist()[1] == "unreachable"
    assert H2 not in set(state.containers.df.host) and H2 not in set(state.images.df.host)
    errors = [(f.kind, f.host) for f in state.finding_list if f.severity == "error"]
    assert errors == [("unreachable", H2)]
    assert "2 reachable" in str(state)


def container(name: str, state: str = "running", **changes: object) -> Container:
    role = name.split("-")[1] if name.startswith("demo-") else None
    labels = {"service": "demo", "role": role, "destination": ""} if role else {}
    base = Container(
        id=f"id-{name}",
        name=name,
        image="10.211.0.1:5000/demo:v1",
        image_id="sha256:img",
        labels=labels,
        created=LOCKED_AT,
        state=state,
        exit_code=0,
        started_at=LOCKED_AT,
        finished_at=None,
        health=None,
        restart_count=0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_unhealthy_restarting_and_missing_proxy() -> None:
    h1 = HostSnapshot(
        H1,
        docker_version="27.0",
        containers=(container("demo-web-v1", health="unhealthy"), container("kamal-proxy", "exited")),
    )
    h2 = HostSnapshot(H2, docker_version="27.0", containers=(container("demo-web-v1", "restarting", restart_count=7),))
    h3 = HostSnapshot(H3, docker_version=None, problems=("docker: exited 127: docker: not found",))
    state = FleetState(DEMO, (h1, h2, h3), LOCKED_AT)
    kinds = [(f.kind, f.host) for f in state.finding_list]
    assert kinds == [
        ("docker_unavailable", H3),
        ("unhealthy_container", H1),
        ("restarting_container", H2),
        ("proxy_not_running", H1),
        ("proxy_not_running", H2),
    ]
    assert "7 restarts" in state.finding_list[2].message
    assert "kamal-proxy is exited" in state.finding_list[3].message
    assert "kamal-proxy is missing" in state.finding_list[4].message
    assert state.releases.df.status.tolist() == ["unhealthy", "restarting", "docker unavailable"]
    assert state.releases.df.health.tolist()[:2] == ["unhealthy", "none"]
    assert state.servers.df.status.tolist() == ["proxy not running", "proxy not running", "docker unavailable"]
    assert flagged(state.containers) == ["bad", "bad", "bad"]


def test_destination_and_role_tags_in_audit_lines() -> None:
    d = dataclasses.replace(DEMO, destination="staging", hosts=(H1,))
    audit = "\n".join(
        [
            "[2026-01-01T00:00:01Z] [me] [staging] [web] Booted app version 1",
            "[2026-01-01T00:00:02Z] [me] [staging] Pruned images",
            "[2026-01-01T00:00:03Z] [me] [web] [extra] Something",
            "not an audit line",
        ]
    )
    state = FleetState.from_outputs(d, [ProbeOutput(H1, {"audit": SectionOutput(0, audit)})], LOCKED_AT)
    df = state.audit.df
    assert values(df.destination) == ["staging", "staging", None, None]
    assert values(df.role) == ["web", None, "web", None]
    assert values(df.details) == [None, None, "[extra]", None]
    assert df.status.tolist() == ["ok", "ok", "ok", "unparsed line"]
    assert df.message.tolist()[-1] == "not an audit line"
    assert flagged(state.audit) == ["ok", "ok", "ok", "warn"]


def test_text_and_html_reprs_read_without_colour() -> None:
    state = state_of("skew_stopped_stale")
    bundle = state.releases._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    text = bundle["text/plain"]
    assert text.splitlines()[0] == "releases (3 rows, 3 flagged)"
    assert "status" in text.splitlines()[1] and "no running container" in text
    html = bundle["text/html"]
    assert html.count(f'style="{ROW_CSS["bad"]}"') == 1 and html.count(f'style="{ROW_CSS["warn"]}"') == 2
    assert f"<td{LEFT}>no running container</td>" in html and "<caption>releases (3 rows, 3 flagged)</caption>" in html
    assert max(len(line) for line in text.splitlines()) <= 100, text  # fits a screen: details in .df
    assert text.splitlines()[-1] == "(in .df too: container, container_id, image, started_at, running)"
    started = state.releases.view("host", "started_at")
    assert "2026-11-26 21:00:27Z" in str(started) and f"<td{LEFT}>2026-11-26 21:00:27Z</td>" in started.to_html()  # UTC
    assert "—" in str(state.releases.view("stale")) and "<NA>" not in str(state.releases.view())
    assert state.releases.df.stale.isna().any(), "the data keeps NA: a view shows it as a dash"
    overview = state._repr_mimebundle_()
    assert "findings" in overview["text/html"] and "ERROR" in overview["text/plain"]
    empty = state.lock._repr_mimebundle_()
    assert empty["text/plain"] == "lock: no deploy lock" and "no deploy lock" in empty["text/html"]


def test_html_escapes_cells() -> None:
    table = Table("t", [string("name"), string("status")], [{"name": "<b>x</b>", "status": "bad & worse"}], ["bad"])
    html = table.to_html()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "bad &amp; worse" in html and "<b>x</b>" not in html


def test_style_highlights_the_same_rows() -> None:
    state = state_of("skew_stopped_stale")
    if importlib.util.find_spec("jinja2") is None:  # pandas' Styler needs it; this venv may lack it
        with pytest.raises(ImportError, match="jinja2"):
            state.releases.style  # noqa: B018
        return
    styler: Any = state.releases.style
    styler._compute()
    css = {row: dict(styles) for (row, _col), styles in styler.ctx.items()}
    assert css[2]["background-color"] == "#f8d7da" and css[0]["background-color"] == "#fff3cd"
    page = styler.to_html()
    assert "<NA>" not in page and "&lt;NA&gt;" not in page and "NaT" not in page and "—" in page


def test_row_css_matches_levels() -> None:
    table = state_of("skew_stopped_stale").releases
    assert [table.row_css(i) for i in range(len(table))] == [ROW_CSS["warn"], ROW_CSS["warn"], ROW_CSS["bad"]]


def test_unknown_categories_are_kept_not_lost() -> None:
    table = Table("t", [category("role", ["web"]), string("status")], [{"role": "old"}, {"role": "web"}, {}])
    roles = table.df.role
    assert roles.tolist()[:2] == ["old", "web"] and pd.isna(roles.tolist()[2])
    assert list(roles.cat.categories) == ["web", "old"]


def test_tables_refuse_rows_they_cannot_show() -> None:
    with pytest.raises(ValueError, match="status"):
        Table("t", [string("name")], [])
    with pytest.raises(ValueError, match="unknown columns"):
        Table("t", [string("status")], [{"nme": "x"}])


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (65, "1m 05s"), (3600 + 120, "1h 02m"), (2 * 86400 + 3 * 3600, "2d 3h"), (-30, "-30s")],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(datetime.timedelta(seconds=seconds)) == text


def test_overview() -> None:
    text = str(state_of("deployed_locked"))
    assert text.splitlines() == [
        "Fleet state of demo: 3 hosts, 3 reachable (gathered 2026-11-26 21:06:24Z in 0.50s)",
        "  web: v2 on 2/2",
        "  jobs: v2 on 1/1",
        "  lock: held on 10.211.0.11 by Test Operator since 2026-11-26 20:56:24Z: investigating",
        "  findings: 1 info",
    ]
    assert snapshot(recorded("deployed_locked")[0]).reachable


def test_accessories_and_a_lock_away_from_the_primary_host() -> None:
    from kamal_nb.state.deployment import AccessoryInfo
    from kamal_nb.state.model import Lock

    d = dataclasses.replace(DEMO, accessories=(AccessoryInfo("db", "demo-db", (H3,)),))
    lock = Lock(LOCKED_AT, "x", "Someone", LOCKED_AT, "v3", "Automatic deploy lock")
    h3 = HostSnapshot(
        H3,
        docker_version="27.0",
        containers=(
            container("demo-jobs-v1"),
            container("demo-db", "exited", exit_code=137, labels={"service": "demo-db"}),
            container("unrelated"),
        ),
        lock=lock,
    )
    others = tuple(HostSnapshot(h, docker_version="27.0", containers=(container("demo-web-v1"),)) for h in (H1, H2))
    state = FleetState(d, (*others, h3), LOCKED_AT + datetime.timedelta(minutes=1))
    df = state.containers.df
    db = df[df.name == "demo-db"]
    assert db.kind.tolist() == ["accessory"] and db.status.tolist() == ["exited (137)"]
    assert db.current.isna().all() and "unrelated" not in set(df.name)
    assert state.servers.df.accessories.tolist() == ["", "", "db"]
    lock_df = state.lock.df
    assert lock_df.host.tolist() == [H3] and lock_df.primary.tolist() == [False]
    assert lock_df.automatic.tolist() == [True] and lock_df.status.tolist() == ["held, not on the primary host"]
    assert [(f.severity, f.kind, f.host) for f in state.finding_list if f.kind != "proxy_not_running"] == [
        ("error", "accessory_not_running", H3),
        ("info", "lock_held", H3),
    ]


def test_a_fresh_fleet_is_nothing_deployed_yet_not_errors() -> None:
    fresh = tuple(HostSnapshot(h, docker_version="27.0") for h in (H1, H2, H3))
    state = FleetState(DEMO, fresh, LOCKED_AT)
    assert [(f.severity, f.kind) for f in state.finding_list] == [("info", "nothing_deployed")]
    assert state.ok and "INFO    nothing deployed yet: run kamal setup or kamal deploy" in str(state)
    assert "ERROR" not in str(state) and "error" not in state.findings.to_text()
    # once anything of the app is on a host, what is missing elsewhere is an error again
    half = (HostSnapshot(H1, docker_version="27.0", containers=(container("demo-web-v1"),)), *fresh[1:])
    kinds = {f.kind for f in FleetState(DEMO, half, LOCKED_AT).finding_list}
    assert "nothing_deployed" not in kinds and {"no_running_container", "proxy_not_running"} <= kinds
