"""Each pytest-xdist worker of a test run gets a fleet number of its own (tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.conftest import worker_fleet_number


def test_the_first_worker_keeps_the_runs_number_and_the_others_take_unused_ones() -> None:
    assert worker_fleet_number("", "") == ""  # no xdist
    assert worker_fleet_number("", "gw0") == ""
    assert worker_fleet_number("3", "gw0") == "3"
    numbers = [worker_fleet_number("5", f"gw{i}") for i in range(10)]
    assert numbers[0] == "5" and len(set(numbers)) == 10  # all ten numbers, none twice


def test_more_workers_than_fleet_numbers_is_refused() -> None:
    with pytest.raises(pytest.UsageError, match="at most 10 workers"):
        worker_fleet_number("5", "gw10")
