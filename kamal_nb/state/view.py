"""A display-ready view of a DataFrame: missing values read as "—" (never `<NA>`, `NaN`, `NaT` or
`None`), times in UTC to the second, no index; the frame itself stays data.

Why a view and not a `.df` without NA: a pandas user filters with `.isna()`, `.dropna()` and
`.notna()`, and a blank string would make "no rollback version" look like a value. So `.df` keeps NA
(the truth as data) and `table.view(...)` (or `view(frame)` for a frame of your own) is what a cell
shows.

    state.releases.view("host", "role", "version", "status")
    view(audit[audit.message.str.startswith("Booted")].tail(5), "boots")
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kamal_nb.engine.html_style import td, th

if TYPE_CHECKING:
    import pandas as pd


def format_duration(value: datetime.timedelta) -> str:
    """``2d 3h``, ``1h 05m``, ``4m 09s``, ``12s``: an age at a glance."""
    seconds = int(value.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"


MISSING = "—"


def display_value(value: object) -> str:
    """A cell as text: times in UTC to the second, NA as ``—`` (None, NaN, pandas' NA and NaT alike)."""
    if value is None or str(value) in ("<NA>", "NaT", "nan", "NaN", "None"):
        return MISSING
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, datetime.timedelta):
        return format_duration(value)
    if isinstance(value, bool) or type(value).__name__ == "bool_":  # numpy's too
        return "yes" if value else "no"
    return str(value)


class View:
    """A frame shown as a caption line (title, rows), then its table, in text/plain and text/html."""

    def __init__(self, frame: pd.DataFrame, title: str = "", row_css: Sequence[str] = ()) -> None:
        self.frame = frame
        self.title = title
        self.row_css = tuple(row_css)

    @property
    def df(self) -> pd.DataFrame:
        return self.frame

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def caption(self) -> str:
        count = f"{len(self.frame)} row{'s' if len(self.frame) != 1 else ''}"
        return f"{self.title} ({count})" if self.title else count

    def cells(self) -> list[list[str]]:
        return [[display_value(value) for value in row] for row in self.frame.itertuples(index=False)]

    def to_text(self) -> str:
        header = [str(c) for c in self.frame.columns]
        rows = [header, *self.cells()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
        return "\n".join([self.caption, *(lines if len(rows) > 1 else [])])

    def to_html(self) -> str:
        head = "".join(th(str(c)) for c in self.frame.columns)
        body = []
        for position, cells in enumerate(self.cells()):
            css = self.row_css[position] if position < len(self.row_css) else ""
            style = f' style="{css}"' if css else ""
            body.append(f"<tr{style}>" + "".join(td(cell) for cell in cells) + "</tr>")
        return (
            f'<table class="kamal-nb-state"><caption>{html.escape(self.caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"<View {self.caption}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.to_text())

    def _repr_mimebundle_(
        self, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None
    ) -> dict[str, Any]:
        return {"text/plain": self.to_text(), "text/html": self.to_html()}


def view(frame: pd.DataFrame, title: str = "") -> View:
    """Any DataFrame shown as kamal_nb's tables are: "—" for a missing value, no index."""
    return View(frame, title)
