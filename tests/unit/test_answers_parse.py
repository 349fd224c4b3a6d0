"""docker's default table format, as `app containers` / `app images` print it, parsed into rows."""

from __future__ import annotations

from kamal_nb.engine.answers import parse_docker_table

PS = """\
CONTAINER ID   IMAGE                      COMMAND                  CREATED          STATUS                      PORTS      NAMES
4b12c6f7957b   10.200.0.1:5000/demo:v2    "/bin/sh /web.sh"        2 minutes ago    Up 2 minutes (healthy)      3000/tcp   demo-web-v2
0a1b2c3d4e5f   10.200.0.1:5000/demo:v1    "/bin/sh -c 'sleep 1'"   10 minutes ago   Exited (137) 2 minutes ago             demo-web-v1_replaced_f38947d1e08c0e08
"""

IMAGES = """\
REPOSITORY             TAG       IMAGE ID       CREATED         SIZE
10.200.0.1:5000/demo   v2        e1b00e177d5a   11 months ago   4.26MB
10.200.0.1:5000/demo   <none>    9f8e7d6c5b4a   2 days ago      1.2GB
"""


def test_containers_columns_begin_where_the_header_names_do() -> None:
    first, second = parse_docker_table(PS)
    assert first == {
        "container_id": "4b12c6f7957b",
        "image": "10.200.0.1:5000/demo:v2",
        "command": '"/bin/sh /web.sh"',
        "created": "2 minutes ago",
        "status": "Up 2 minutes (healthy)",
        "ports": "3000/tcp",
        "name": "demo-web-v2",
    }
    assert second["status"] == "Exited (137) 2 minutes ago" and second["ports"] == ""
    assert second["name"] == "demo-web-v1_replaced_f38947d1e08c0e08" and second["command"] == "\"/bin/sh -c 'sleep 1'\""


def test_images_and_empty_answers() -> None:
    rows = parse_docker_table(IMAGES)
    assert [(r["tag"], r["image_id"], r["size"]) for r in rows] == [
        ("v2", "e1b00e177d5a", "4.26MB"),
        ("<none>", "9f8e7d6c5b4a", "1.2GB"),
    ]
    assert parse_docker_table("REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n") == []
    assert parse_docker_table("") == []


def test_several_commands_output_has_a_header_each() -> None:
    proxy = "CONTAINER ID   IMAGE         COMMAND   CREATED   STATUS   PORTS   NAMES\n"
    proxy += '5184eebaea1b   kamal-proxy   "run"     1 hour    Up 1 h   80/tcp  kamal-proxy\n'
    rows = parse_docker_table(proxy + PS)
    assert [r["name"] for r in rows] == ["kamal-proxy", "demo-web-v2", "demo-web-v1_replaced_f38947d1e08c0e08"]
    assert rows[1]["image"] == "10.200.0.1:5000/demo:v2", "the second table's own column widths"
