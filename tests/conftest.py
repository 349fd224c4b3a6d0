"""Fixtures shared by the whole suite: the real test fleet, brought up once per test run."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.helpers import require_fleet

REPO = Path(__file__).resolve().parent.parent
# The test fleet has its own names and subnet, so that a demo fleet (10.200.0.0/24) can stay up.
# KAMAL_NB_TEST_FLEET=N (0-9) gives a test run a fleet of its own, for test runs side by side.
_RUN_ID = os.environ.get("KAMAL_NB_TEST_FLEET", "")
# The tutorial's images are built once per test run, under a lock, whichever worker needs them first.
os.environ.setdefault("KAMAL_NB_IMAGE_CACHE", str(REPO / ".fleet" / f"test{_RUN_ID}" / "image-cache"))


def worker_fleet_number(run_id: str, worker: str) -> str:
    """The fleet number of a pytest-xdist worker (``gw0``, ``gw1``...): the first keeps the run's own,
    the others take the next numbers from 5 on that it does not use, so that every worker has its
    fleets (the test fleet and those the tests bring up, all named after the number) to itself."""
    index = int(worker.removeprefix("gw") or 0)
    if index == 0:
        return run_id
    others = [n for n in "5678901234" if n != run_id]
    if index > len(others):
        raise pytest.UsageError(f"at most {len(others) + 1} workers: each needs a fleet number (0-9) of its own")
    return others[index - 1]


_ID = worker_fleet_number(_RUN_ID, os.environ.get("PYTEST_XDIST_WORKER", ""))
if _ID != _RUN_ID:
    # set before any test module reads it: the tests that bring up fleets of their own name them after it
    os.environ["KAMAL_NB_TEST_FLEET"] = _ID
TEST_FLEET = (
    {"prefix": f"t{_ID}-", "bridge": f"t{_ID}br0", "subnet": f"10.21{_ID}.0"}
    if _ID.isdigit() and len(_ID) == 1
    else {"prefix": "kt-", "bridge": "ktbr0", "subnet": "10.201.0"}
)
FLEET_HOSTS = 3
_timings: dict[str, float] = {}


# -- the user's machine stays alone -----------------------------------------------------------------
# Every test, and every process a test starts (kamal-nb, notebook kernels, the real Kamal), sees a HOME
# and XDG directories of the test run's own: kamal_nb's run log ($XDG_STATE_HOME/kamal_nb/runs.jsonl),
# IPython's history, git's and docker's user config land there, never in the user's home.
USER_RUN_LOG = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "kamal_nb" / "runs.jsonl"
_ISOLATED = ("HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "KAMAL_NB_RUN_LOG")
_saved_env: dict[str, str | None] = {}
_test_home: Path | None = None


def _run_log_size() -> int:
    try:
        return USER_RUN_LOG.stat().st_size
    except OSError:
        return 0


_user_run_log_size = _run_log_size()


def pytest_configure(config: pytest.Config) -> None:
    global _test_home
    _test_home = Path(tempfile.mkdtemp(prefix="kamal-nb-test-home-"))
    # removed at exit, after IPython's own exit handlers (registered later, run earlier) wrote its history
    atexit.register(shutil.rmtree, _test_home, ignore_errors=True)
    _saved_env.update({name: os.environ.get(name) for name in _ISOLATED})
    os.environ.pop("KAMAL_NB_RUN_LOG", None)
    os.environ["HOME"] = str(_test_home)
    for name, where in (
        ("STATE", ".local/state"),
        ("CONFIG", ".config"),
        ("CACHE", ".cache"),
        ("DATA", ".local/share"),
    ):
        os.environ[f"XDG_{name}_HOME"] = str(_test_home / where)


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, value in _saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _our_runs_in_the_user_run_log(session: pytest.Session) -> list[str]:
    """Lines this test run appended to the user's run log: those of projects in its own directories
    (other test runs on the machine may write there at the same time: they are not ours to judge)."""
    if _run_log_size() <= _user_run_log_size:
        return []
    with USER_RUN_LOG.open("rb") as log:
        log.seek(_user_run_log_size)
        appended = log.read().decode(errors="replace").splitlines()
    basetemp = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]  # pytest sets it
    ours = [str(basetemp), str(REPO), str(_test_home)]
    return [line for line in appended if any(f'"project": "{where}' in line for where in ours)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A test run that wrote the user's own run log fails, whichever test did it."""
    leaked = _our_runs_in_the_user_run_log(session)
    if leaked:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(
                f"FAILED: this test run wrote {len(leaked)} line(s) to the user's run log {USER_RUN_LOG}"
            )


@pytest.fixture
def test_home() -> Path:
    """The HOME every test and its subprocesses see (a directory of this test run's own)."""
    assert _test_home is not None
    return _test_home


def make_test_fleet() -> Fleet:
    given = os.environ.get("KAMAL_NB_TEST_FLEET_BASE")
    # a base given for the run: each worker's fleet in a folder of its own beside the first's
    base = (given if _ID == _RUN_ID else f"{given}-{_ID}") if given else REPO / ".fleet" / f"test{_ID}"
    return Fleet(base, **TEST_FLEET)


@pytest.fixture(scope="session")
def fleet_control() -> Iterator[Fleet]:
    """The running test fleet's controller; skipped (failed under CI=true) where it cannot run."""
    require_fleet()
    fleet = make_test_fleet()
    started = time.monotonic()
    try:
        fleet.up(FLEET_HOSTS)
        _timings["bring-up"] = time.monotonic() - started
        yield fleet
    finally:
        _timings["tear-down"] = fleet.down()
        leftovers = fleet.leftover_pids()
        assert not leftovers, f"processes of the test fleet still running after down: {leftovers}"


@pytest.fixture(scope="session")
def fleet(fleet_control: Fleet) -> FleetInfo:
    """Where the test fleet's hosts, registry, keys and engines are."""
    return fleet_control.info()


@pytest.fixture
def clean_fleet(fleet_control: Fleet, fleet: FleetInfo) -> FleetInfo:
    """The fleet with every host wiped: no containers, images, volumes, ~/.kamal or registry login."""
    fleet_control.reset_hosts()
    return fleet


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _timings:
        parts = ", ".join(f"{what} {seconds:.2f}s" for what, seconds in _timings.items())
        terminalreporter.write_line(f"test fleet ({FLEET_HOSTS} hosts): {parts}")


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """Secret values a test revealed are masked process-wide: forget them so tests stay independent."""
    yield
    from kamal_nb.redaction import forget_all

    forget_all()
