"""How kamal_nb's HTML table cells read: text left-aligned (JupyterLab aligns every cell right, which
reads badly for names, images and messages). An inline style on each cell, because JupyterLab drops a
`<style>` element from an output and its own rule is on the cells; GitHub drops styles, and the
table reads as before."""

import html

LEFT = ' style="text-align: left"'


def th(name: str) -> str:
    return f"<th{LEFT}>{html.escape(name)}</th>"


def td(cell: str) -> str:
    return f"<td{LEFT}>{html.escape(cell)}</td>"


FAILING = ("FAILED", "lost")  # a row's status (or its start) that is highlighted as a failure
