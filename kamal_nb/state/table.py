"""The result object every state table comes as: `.df`, `.style`, and text + HTML reprs.

Rows are kept as plain dicts; pandas is imported only when `.df` (or a repr) is asked for. Every
column has an explicit dtype, so a frame looks the same on pandas 2.2 and 3.x:

* ``string``: ``pd.StringDtype()`` (NA is ``pd.NA``; not pandas 3's default ``str``),
* ``Int64``, ``boolean``: the nullable extension types,
* ``datetime``: ``datetime64[ns, UTC]``; ``timedelta``: ``timedelta64[ns]``,
* ``category``: a ``CategoricalDtype`` with the categories given (unknown values are added at the
  end, never lost to NaN), ordered where order means something (states, severities).

Each row has a level (``ok``, ``warn`` or ``bad``) that colours it in HTML and in `.style`; the
``status`` column says the same in words, so the table reads alike without colour (GitHub, a
terminal, a saved notebook).
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

ColumnKind = Literal["string", "Int64", "boolean", "datetime", "timedelta", "category"]
Level = Literal["ok", "warn", "bad"]

ROW_CSS: dict[Level, str] = {
    "ok": "",
    "warn": "background-color: #fff3cd; color: #664d03",
    "bad": "background-color: #f8d7da; color: #721c24",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    categories: tuple[str, ...] = ()
    ordered: bool = False


def string(name: str) -> Column:
    return Column(name, "string")


def integer(name: str) -> Column:
    return Column(name, "Int64")


def boolean(name: str) -> Column:
    return Column(name, "boolean")


def moment(name: str) -> Column:
    return Column(name, "datetime")


def duration(name: str) -> Column:
    return Column(name, "timedelta")


def category(name: str, categories: Sequence[str], *, ordered: bool = False) -> Column:
    return Column(name, "category", tuple(dict.fromkeys(categories)), ordered)


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


def display_value(value: object) -> str:
    """A cell as text: times in UTC to the second, NA as ``-`` (None, NaN, pandas' NA and NaT alike)."""
    if value is None or str(value) in ("<NA>", "NaT", "nan", "NaN"):
        return "-"
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, datetime.timedelta):
        return format_duration(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class Table:
    """One state table: rows (dicts keyed by column name), their levels, and a title."""

    def __init__(
        self,
        title: str,
        columns: Sequence[Column],
        rows: Sequence[Mapping[str, Any]],
        levels: Sequence[Level] | None = None,
        *,
        empty: str = "no rows",
    ) -> None:
        if levels is not None and len(levels) != len(rows):
            raise ValueError("one level per row")
        names = [c.name for c in columns]
        if "status" not in names:
            raise ValueError("every state table has a status column")
        for row in rows:
            unknown = set(row) - set(names)
            if unknown:
                raise ValueError(f"{title}: unknown columns {sorted(unknown)}")
        self.title = title
        self.columns = tuple(columns)
        self.rows: tuple[Mapping[str, Any], ...] = tuple(rows)
        default: tuple[Level, ...] = tuple("ok" for _ in rows)
        self.levels: tuple[Level, ...] = tuple(levels) if levels is not None else default
        self.empty = empty

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def bad(self) -> tuple[Mapping[str, Any], ...]:
        """The rows that are not ``ok`` (warnings and errors)."""
        return tuple(r for r, level in zip(self.rows, self.levels, strict=True) if level != "ok")

    def column(self, name: str) -> list[Any]:
        return [row.get(name) for row in self.rows]

    # -- pandas ----------------------------------------------------------------------------------

    @cached_property
    def df(self) -> pd.DataFrame:
        """The table as a DataFrame with a RangeIndex and explicit, stable dtypes."""
        import pandas as pd

        data = {c.name: _series(c, self.column(c.name)) for c in self.columns}
        return pd.DataFrame(data, index=pd.RangeIndex(len(self.rows)), columns=[c.name for c in self.columns])

    @property
    def style(self) -> Styler:
        """A Styler with the bad rows highlighted (pandas' Styler needs jinja2, as Jupyter has)."""
        import importlib.util

        if importlib.util.find_spec("jinja2") is None:
            raise ImportError("Table.style needs jinja2 (as Jupyter has); the table's HTML repr does not")
        levels = self.levels

        def row_css(row: pd.Series[Any]) -> list[str]:
            return [ROW_CSS[levels[int(row.name)]]] * len(row)  # type: ignore[call-overload]

        return self.df.style.apply(row_css, axis=1).hide(axis="index").set_caption(self.caption)

    def row_css(self, position: int) -> str:
        """The CSS `.style` and the HTML repr give the row at ``position``."""
        return ROW_CSS[self.levels[position]]

    # -- display ---------------------------------------------------------------------------------

    @property
    def caption(self) -> str:
        flagged = sum(1 for level in self.levels if level != "ok")
        count = f"{len(self.rows)} row{'s' if len(self.rows) != 1 else ''}"
        return f"{self.title} ({count}" + (f", {flagged} flagged)" if flagged else ")")

    def display_rows(self) -> list[list[str]]:
        return [[display_value(row.get(c.name)) for c in self.columns] for row in self.rows]

    def to_text(self) -> str:
        if not self.rows:
            return f"{self.title}: {self.empty}"
        header = [c.name for c in self.columns]
        cells = [header, *self.display_rows()]
        widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in cells]
        return "\n".join([self.caption, *lines])

    def to_html(self) -> str:
        """A plain HTML table, bad rows coloured inline (no jinja2 needed; stays in saved notebooks)."""
        caption = f"<caption>{html.escape(self.caption)}</caption>"
        if not self.rows:
            return f"<p><b>{html.escape(self.title)}</b>: {html.escape(self.empty)}</p>"
        head = "".join(f"<th>{html.escape(c.name)}</th>" for c in self.columns)
        body = []
        for position, cells in enumerate(self.display_rows()):
            css = self.row_css(position)
            style = f' style="{css}"' if css else ""
            tds = "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
            body.append(f'<tr class="kamal-nb-{self.levels[position]}"{style}>{tds}</tr>')
        return (
            f'<table class="kamal-nb-state">{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>"
        )

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.caption}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.to_text())

    def _repr_mimebundle_(
        self, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None
    ) -> dict[str, Any]:
        return {"text/plain": self.to_text(), "text/html": self.to_html()}


def _series(column: Column, values: list[Any]) -> pd.Series[Any]:
    """A pandas Series of ``column``'s dtype from Python values (None is NA)."""
    import numpy as np
    import pandas as pd

    raw = pd.Series(values, dtype=object)
    if column.kind == "datetime":
        return pd.to_datetime(raw, utc=True).astype(pd.DatetimeTZDtype(unit="ns", tz="UTC"))
    if column.kind == "timedelta":
        return pd.to_timedelta(raw).astype(np.dtype("m8[ns]"))
    if column.kind == "category":
        present = [v for v in values if v is not None]
        categories = list(column.categories) + [v for v in dict.fromkeys(present) if v not in column.categories]
        return raw.astype(pd.CategoricalDtype(categories, ordered=column.ordered))
    return raw.astype(column.kind)
