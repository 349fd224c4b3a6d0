"""``python -m kamal_nb.conformance FILE.json [FILE.json…]``: run conformance cases, print each
failure with a diff, end with ``N passed, M failed``; exit 1 if any failed."""

from __future__ import annotations

import sys

from kamal_nb.conformance.runner import report, run_file


def main(argv: list[str] | None = None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m kamal_nb.conformance FILE.json [FILE.json ...]", file=sys.stderr)
        return 2
    outcomes = [outcome for path in paths for outcome in run_file(path)]
    text, failures = report(outcomes)
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
