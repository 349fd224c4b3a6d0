"""`./dev demo`'s failure modes, one line each: not root, no Docker (the busybox demo on a sandbox fleet,
run for real here), the tutorial's images not built (the busybox demo on the same fleet); a bad
KAMAL_NB_FLEET_NUMBER refused."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from kamal_nb.testing import tour
from kamal_nb.testing.fleet import FleetError, numbered_fleet
from kamal_nb.testing.images import tutorial
from kamal_nb.testing.images.debian import ImageBuildError


def test_not_root_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert tour.why_no_fleet() == "not root: the real test fleet needs root (network, mount and UTS namespaces)"


def test_no_docker_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "dockerd" else f"/usr/bin/{name}")
    assert tour.why_no_fleet() == "no Docker: dockerd is not installed (as root, ./dev installs Debian's docker.io)"


def test_a_fleet_number_is_one_digit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fleet = numbered_fleet(tmp_path, "7")
    assert (fleet.subnet, fleet.prefix, fleet.bridge) == ("10.227.0", "d7-", "d7br0")
    assert numbered_fleet(tmp_path, "").subnet == "10.200.0"
    with pytest.raises(FleetError, match="KAMAL_NB_FLEET_NUMBER='12': a fleet number is one digit, 0 to 9"):
        numbered_fleet(tmp_path, "12")
    monkeypatch.setenv("KAMAL_NB_FLEET_NUMBER", "x")
    assert tour.main(["--out", str(tmp_path / "out")]) == 1


def test_images_not_built_runs_the_busybox_demo_on_the_fleet(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def fails(info: object) -> None:
        raise ImageBuildError("debootstrap --variant=minbase ... failed (1):\nE: Couldn't download packages")

    ran: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tutorial, "provide_tutorial_images", fails)

    def records(*args: Any) -> tour.Outcome:
        ran.append(args)
        return tour.Outcome(tmp_path)

    monkeypatch.setattr(tour, "run_notebooks", records)
    fleet = cast(Any, SimpleNamespace(base=tmp_path / "fleet"))
    info = cast(Any, SimpleNamespace(registry_password="registry-pass"))
    _, shown = tour.on_fleet(fleet, info, tmp_path)
    log = tmp_path / "image-build.log"
    assert capsys.readouterr().err.splitlines() == [
        "dev demo: image build failed (debootstrap --variant=minbase ... failed (1):; the whole message: "
        f"{log}): running the busybox demo instead"
    ]
    assert "Couldn't download packages" in log.read_text()
    [(which, parameters, _out, project, known)] = ran
    assert which == tour.BUSYBOX_TOUR and parameters["system"] == "demo" and parameters["backend"] == "real"
    assert project == tmp_path / "demo-project" and known == ["registry-pass"]
    assert shown.endswith("(the tutorial's images could not be built)")


@pytest.mark.slow
def test_without_root_the_busybox_demo_runs_on_a_sandbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # this process only: the sandbox needs no root
    monkeypatch.delenv("KAMAL_NB_SANDBOX_DIR", raising=False)
    out = tmp_path / "demo"
    assert tour.tour(out) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines()[0] == (
        "dev demo: not root: the real test fleet needs root (network, mount and UTS namespaces): "
        "running the busybox demo on a sandbox fleet instead"
    )
    summary = captured.out.strip().splitlines()[-1]
    assert summary.startswith("dev demo: ok in ")
    assert (
        "the busybox demo app on a sandbox fleet (3 local-directory hosts) v2 deployed through kamal-proxy" in summary
    )
    assert (out / "deploy-runbook.html").is_file() and (out / "sandbox" / "project").is_dir()
