"""benchmarks/readme_table.py: its rows are the medians of the scripts' JSON lines, per setting."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "readme_table.py"


def table() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_table", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def sample(tool: str, wall: float, rtt: float, load: float, sessions: float | None = 5.0) -> dict[str, Any]:
    return {
        "operation": "rollback",
        "hosts": 3,
        "rtt_ms": rtt,
        "tool": tool,
        "wall_s": wall,
        "sessions_per_host": sessions,
        "load": load,
    }


def test_a_row_per_setting_with_medians_ratio_and_the_first_samples_load() -> None:
    module = table()
    run = module.Run("redeploy_rollback.py", (), (module.Row("`rollback`", "rollback", "kamal_nb"),))
    samples = [
        sample("kamal", 3.0, 0, 1.5, 15.0),
        sample("kamal_nb", 1.0, 0, 1.7),
        sample("kamal", 2.0, 0, 1.9, 15.0),
        sample("kamal_nb", 1.4, 0, 2.0),
        sample("kamal_nb", 1.2, 0, 2.1),
        sample("kamal", 8.0, 100, 0.4, 15.0),
        sample("kamal_nb", 2.0, 100, 0.5),
        {**sample("kamal", 2.0, 100, 0.5), "operation": "version"},  # Kamal's start-up at that setting
    ]
    rows = module.rows_of(run, samples)
    assert rows == [
        "| `rollback` | 3 | 0 | 1.5 | 2.50 s | 1.20 s | 0.48x | - | 15.0 -> 5.0 | `benchmarks/redeploy_rollback.py` |",
        "| `rollback` | 3 | 100 | 0.4 | 8.00 s | 2.00 s | 0.25x | 0.33x | 15.0 -> 5.0 | `benchmarks/redeploy_rollback.py` |",
    ]


def test_an_operation_kamal_lacks_has_no_ratio() -> None:
    module = table()
    run = module.Run("scale.py", (), (module.Row("state", "state", "kamal_nb warm", kamal=None),))
    samples = [{**sample("kamal_nb warm", 0.05, 0, 0.3, 1.0), "operation": "state", "hosts": 8}]
    assert module.rows_of(run, samples) == ["| state | 8 | 0 | 0.3 | - | 50 ms | - | - | 1.0 | `benchmarks/scale.py` |"]


def test_the_machines_floor_follows_kamal_nbs_time_where_the_script_measured_it() -> None:
    module = table()
    run = module.Run("scale.py", (), (module.Row("`details`, warm", "details", "kamal_nb warm"),))
    samples = [
        {**sample("kamal", 3.0, 0, 70.0, 2.0), "operation": "details", "hosts": 50, "floor_s": 1.7},
        {**sample("kamal_nb warm", 1.5, 0, 71.0, 1.0), "operation": "details", "hosts": 50, "floor_s": 1.2},
        {**sample("kamal_nb warm", 1.3, 0, 72.0, 1.0), "operation": "details", "hosts": 50, "floor_s": 1.0},
    ]
    assert module.rows_of(run, samples) == [
        "| `details`, warm | 50 | 0 | 70.0 | 3.00 s | 1.40 s (floor 1.10 s) | 0.47x | - | 2.0 -> 1.0 "
        "| `benchmarks/scale.py` |"
    ]


def test_a_floor_measured_as_a_tool_of_its_own_follows_kamal_nbs_time() -> None:
    module = table()
    row = module.Row("`kamal-nb details`, process", "details", "kamal_nb", floor="floor")
    samples = [
        {**sample(tool, wall, 0, 1.2, 1.0), "operation": "details"}
        for tool, wall in (("kamal", 1.1), ("kamal_nb", 0.45), ("floor", 0.35), ("floor", 0.33), ("kamal_nb", 0.43))
    ]
    assert module.rows_of(module.Run("startup.py", (), (row,)), samples) == [
        "| `kamal-nb details`, process | 3 | 0 | 1.2 | 1.10 s | 0.44 s (floor 0.34 s) | 0.40x | - | 1.0 -> 1.0 "
        "| `benchmarks/startup.py` |"
    ]


def test_each_script_waits_a_bounded_time_for_the_load_to_settle(monkeypatch: Any) -> None:
    module = table()
    loads = iter([9.0, 4.0, 1.0, 1.0])
    slept: list[float] = []
    monkeypatch.setattr(module.os, "getloadavg", lambda: (next(loads), 0.0, 0.0))
    monkeypatch.setattr(module.time, "sleep", slept.append)
    module.settle(below=1.5, at_most=60)
    assert len(slept) == 2  # 9.0 and 4.0 waited for; 1.0 did not

    monkeypatch.setattr(module.os, "getloadavg", lambda: (50.0, 0.0, 0.0))
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(module.time, "monotonic", lambda: float(next(clock)))
    slept.clear()
    module.settle(below=1.5, at_most=60)
    assert 0 < len(slept) <= 6  # a load that never falls is waited for at most `at_most` seconds
