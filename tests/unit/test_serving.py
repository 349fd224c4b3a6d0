"""Which container kamal-proxy routes to (kamal_nb.ops.app.serving), and the plans that keep it: read
from kamal-proxy's `list` as the real kamal-proxy and the test fleet's stand-in print it. The fleet
test is tests/fleet/test_never_stop_serving.py."""

from __future__ import annotations

from pathlib import Path

from kamal_nb.commands import App
from kamal_nb.config import load_config
from kamal_nb.fleet import CommandResult
from kamal_nb.ops.app.serving import CONTAINERS, ROUTES, route_targets, serving_version
from kamal_nb.sandbox.proxy import ProxyRoutes
from tests.unit.test_ops_plans import JOBS, WEB, commands, plan, project

# kamal-proxy v0.9's `list` (Go tabwriter, two spaces of padding; Host and Path may be empty)
REAL = """\
Service   Host                 Path  Target             State    TLS
demo-web                             0123456789ab:3000  running  no
other     a.example,b.example  /     fedcba987654:80    running  yes
"""


def test_the_target_is_found_by_its_form_in_either_listing() -> None:
    assert route_targets(REAL, "demo-web") == ["0123456789ab"]
    assert route_targets(REAL, "other") == ["fedcba987654"]
    assert route_targets(REAL, "demo") == []
    routes = ProxyRoutes({}, lambda level, message: None, lambda host, port, path: None)
    assert routes.run(["deploy", "demo-web", "--target=abcdef012345:3000", "--host=app.example"])[0] == 0
    assert route_targets(routes.list_text(), "demo-web") == ["abcdef012345"]
    assert route_targets("Error: dial unix /tmp/kamal-proxy.sock: connect: no such file", "demo-web") == []


def answers(routes: str, ids: str, *, proxy_code: int = 0) -> dict[str, dict[str, CommandResult]]:
    return {
        "h": {
            f"web {ROUTES}": CommandResult("h", "list", proxy_code, routes, "", 0.0),
            f"web {CONTAINERS}": CommandResult("h", "ps", 0, ids, "", 0.0),
        }
    }


def test_the_serving_version_is_the_container_with_the_target_id(tmp_path: Path) -> None:
    config = load_config(root=project(tmp_path), env={})
    app = App(config, role="web", host="h")
    ids = "aaaaaaaaaaaa demo-web-v1\n0123456789ab demo-web-v1_replaced_0123456789abcdef\n"
    assert serving_version(answers(REAL, ids), "h", app) == "v1_replaced_0123456789abcdef"
    # nothing is known to serve: the proxy could not be asked, or routes to none of the role's containers
    assert serving_version(answers(REAL, ids, proxy_code=1), "h", app) is None
    assert serving_version(answers(REAL, "aaaaaaaaaaaa demo-web-v1\n"), "h", app) is None
    assert serving_version({}, "h", app) is None


def test_the_plans_say_the_serving_container_is_kept(tmp_path: Path) -> None:
    root = project(tmp_path)
    redeploy = plan(root, ("redeploy",), {"skip_push": True}, version="v2")
    web = commands(redeploy, WEB)
    assert "docker exec kamal-proxy kamal-proxy list" in web
    assert any("kamal-proxy routes to" in (s.note or "") for s in redeploy.for_host(WEB))
    # a role without the proxy is stopped as Kamal stops it, and asks no proxy
    assert not any("kamal-proxy list" in c for c in commands(redeploy, JOBS))
    stale = plan(root, ("app", "stale_containers"), {"stop": True})
    assert "docker exec kamal-proxy kamal-proxy list" in commands(stale, WEB)
