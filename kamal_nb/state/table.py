"""The result object every state table comes as: `.df`, `.style`, and text + HTML reprs.

Rows are kept as plain dicts; pandas is imported only when `.df` (or a repr) is asked for. Every
column has an explicit dtype, so a frame looks the same on pandas 2.2 and 3.x:

* ``string``: ``pd.StringDtype()`` (NA is ``pd.NA``; not pandas 3's default ``str``),
* ``Int64``, ``boolean``: the nullable extension types,
* ``datetime``: ``datetime64[ns, UTC]``; ``timedelta``: ``timedelta64[ns]``,
* ``category``: a ``CategoricalDtype`` with the categories given (unknown values are added at the
  end, never lost to NaN), ordered where order means something (states, severities).

Each row has a level (``ok``, ``info``, ``warn`` or ``bad``) that colours it in HTML and in `.style`; the
``status`` column says the same in words, so the table reads alike without colour (GitHub, a
terminal, a saved notebook).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from kamal_nb.engine.html_style import td, th
from kamal_nb.state.view import MISSING, View, display_value, format_duration

__all__ = ["MISSING", "Column", "Level", "Table", "View", "display_value", "format_duration"]

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

ColumnKind = Literal["string", "Int64", "boolean", "datetime", "timedelta", "category"]
Level = Literal["ok", "info", "warn", "bad"]

ROW_CSS: dict[Level, str] = {
    "ok": "",
    # worth knowing, nothing wrong (a fresh fleet: nothing deployed yet): neutral, not an alarm
    "info": "background-color: #eef3f8; color: #2b4a66",
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


# a column with only these in every row says nothing (health "none": no container has a health check)
_SAYS_NOTHING = (MISSING, "", "none")


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
        details: Sequence[str] = (),
    ) -> None:
        """`details`: columns kept in `.df` but left out of the text and HTML (on demand: `.df`,
        `.view(...)`), so the table fits a screen."""
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
        self.details = tuple(details)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def bad(self) -> tuple[Mapping[str, Any], ...]:
        """The rows that are flagged (warnings and errors; not ``ok`` or ``info``)."""
        return tuple(r for r, level in zip(self.rows, self.levels, strict=True) if level in ("warn", "bad"))

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

        styler = self.df.style.apply(row_css, axis=1).hide(axis="index").set_caption(self.caption)
        return styler.format(na_rep=MISSING)  # a missing value reads "—" here too, never <NA>, NaN, NaT

    def row_css(self, position: int) -> str:
        """The CSS `.style` and the HTML repr give the row at ``position``."""
        return ROW_CSS[self.levels[position]]

    # -- display ---------------------------------------------------------------------------------

    @property
    def caption(self) -> str:
        flagged = sum(1 for level in self.levels if level in ("warn", "bad"))
        count = f"{len(self.rows)} row{'s' if len(self.rows) != 1 else ''}"
        return f"{self.title} ({count}" + (f", {flagged} flagged)" if flagged else ")")

    @property
    def shown(self) -> tuple[Column, ...]:
        """The columns the text and HTML show: not the details, nor a column blank (or "none") in every
        row (status always; every column stays in `.df`)."""
        return tuple(
            c
            for c in self.columns
            if c.name == "status"
            or (
                c.name not in self.details
                and any(display_value(row.get(c.name)) not in _SAYS_NOTHING for row in self.rows)
            )
        )

    @property
    def hidden(self) -> list[str]:
        """The detail columns left out of the display that have a value (blank ones say nothing)."""
        shown = {c.name for c in self.shown}
        return [
            c.name for c in self.columns if c.name in self.details and c.name not in shown and any(self.column(c.name))
        ]

    def display_rows(self) -> list[list[str]]:
        return [[display_value(row.get(c.name)) for c in self.shown] for row in self.rows]

    def view(self, *columns: str, tail: int | None = None) -> View:
        """The table (`columns` of it, the last `tail` rows) ready to show: "—" where a value is
        missing; `.df` stays data (NA) for pandas' isna/dropna."""
        frame = self.df[list(columns)] if columns else self.df
        css = [self.row_css(position) for position in range(len(self.rows))]
        if tail is not None:
            frame, css = frame.tail(tail), css[len(css) - len(frame.tail(tail)) :]
        return View(frame, self.title, css)

    def to_text(self) -> str:
        if not self.rows:
            return f"{self.title}: {self.empty}"
        header = [c.name for c in self.shown]
        cells = [header, *self.display_rows()]
        widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in cells]
        more = [f"(in .df too: {', '.join(self.hidden)})"] if self.hidden else []
        return "\n".join([self.caption, *lines, *more])

    def to_html(self) -> str:
        """A plain HTML table, bad rows coloured inline (no jinja2 needed; stays in saved notebooks)."""
        caption = f"<caption>{html.escape(self.caption)}</caption>"
        if not self.rows:
            return f"<p><b>{html.escape(self.title)}</b>: {html.escape(self.empty)}</p>"
        head = "".join(th(c.name) for c in self.shown)
        body = []
        for position, cells in enumerate(self.display_rows()):
            css = self.row_css(position)
            style = f' style="{css}"' if css else ""
            tds = "".join(td(cell) for cell in cells)
            body.append(f'<tr class="kamal-nb-{self.levels[position]}"{style}>{tds}</tr>')
        more = (
            f"<p><small>in <code>.df</code> too: {html.escape(', '.join(self.hidden))}</small></p>"
            if self.hidden
            else ""
        )
        return (
            f'<table class="kamal-nb-state">{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>{more}"
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
