"""The playbooks run headless as a person or CI runs them: through papermill's own engine, with the
parameters given as `-p NAME VALUE` gives them; the executed notebook is returned (and kept)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kamal_nb.testing import demo


def run_with_papermill(name: str, out_dir: Path, *, timeout: float = 600, **parameters: Any) -> Any:
    import papermill

    out_dir.mkdir(parents=True, exist_ok=True)
    return papermill.execute_notebook(
        str(demo.NOTEBOOKS / f"{name}.ipynb"),
        str(out_dir / f"{name}.ipynb"),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(demo.NOTEBOOKS),
        progress_bar=False,
        execution_timeout=int(timeout),
    )


def text_of(nb: Any) -> str:
    """Every text output of the executed notebook, in order (stream text and text/plain)."""
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text") or output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)
