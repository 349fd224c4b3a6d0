"""The ``kamal-nb`` console script (and ``python -m kamal_nb``).

It will share one argparse command tree with the ``%kamal`` magics; for now it knows its version
and its usage.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from kamal_nb import KAMAL_COMPAT_VERSION, __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kamal-nb",
        description=(
            "Operate Kamal 2 fleets from Jupyter or a terminal. In a notebook: %load_ext kamal_nb, "
            "then %kamal COMMAND."
        ),
        epilog=f"Compatible with Kamal {KAMAL_COMPAT_VERSION}: same deploy.yml, same host commands.",
    )
    parser.add_argument(
        "--version", action="version", version=f"kamal-nb {__version__} (Kamal {KAMAL_COMPAT_VERSION})"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0
