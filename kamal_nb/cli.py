"""The ``kamal-nb`` console script (and ``python -m kamal_nb``).

It will share one argparse command tree with the ``%kamal`` magics; for now it knows its version,
its usage and ``config``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from kamal_nb import KAMAL_COMPAT_VERSION, __version__
from kamal_nb.cli_config import add_config_parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kamal-nb",
        description=(
            "Operate Kamal 2 fleets from Jupyter or a terminal. In a notebook: %load_ext kamal_nb, then %kamal COMMAND."
        ),
        epilog=f"Compatible with Kamal {KAMAL_COMPAT_VERSION}: same deploy.yml, same host commands.",
    )
    parser.add_argument("--version", action="version", version=f"kamal-nb {__version__} (Kamal {KAMAL_COMPAT_VERSION})")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_config_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    return int(handler(args))
