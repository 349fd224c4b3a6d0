"""The one style rule kamal_nb's HTML tables share: text cells read left-aligned (JupyterLab aligns
every cell right, which reads badly for names, images and messages). A `<style>` element, placed after
the table so that an output still begins with its summary; where HTML is sanitized (an untrusted
notebook, GitHub) it is dropped and the table reads as before."""

TABLE_CLASSES = ("kamal-nb-state", "kamal-nb-result", "kamal-nb-answer")

LEFT_ALIGNED = (
    "<style>"
    + ", ".join(f"table.{name} td, table.{name} th" for name in TABLE_CLASSES)
    + " { text-align: left; }</style>"
)
