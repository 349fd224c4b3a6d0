"""``kamal secrets fetch|extract|print`` (``Kamal::Cli::Secrets``): run here, never on a host.

On the command line they print exactly what Kamal prints: the fetched JSON, the extracted value,
``KEY=value`` lines (values in clear: ``print`` is Kamal's debugging command). In a notebook the
values would stay in the saved file, so they are shown redacted unless the command is given
``--reveal``; the result's ``data`` holds them as ``Secret`` values either way.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from kamal_nb.config.secrets import MissingAccount, Secrets, extract, fetch, fetch_json, print_secrets
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.local_result import LocalResult, local_result, puts, register_local
from kamal_nb.ops.script import local_env
from kamal_nb.ops.session import Context
from kamal_nb.redaction import REDACTED, Secret
from kamal_nb.ruby import json_text as ruby_json

REVEAL_HINT = "add --reveal to show the values"


def _fetch(ctx: Context, args: Args) -> LocalResult:
    from kamal_nb.config.secret_adapters import Shell

    # a vault CLI may prompt (op signin, lpass login) only where a terminal can answer
    interactive = sys.stdin is not None and sys.stdin.isatty()
    shell = Shell(env=local_env(ctx), cwd=str(ctx.session.root), interactive=interactive)
    try:
        results = fetch(
            args.get("secrets") or (),
            adapter=str(args["adapter"]),
            account=args.get("account"),
            from_=args.get("from"),
            shell=shell,
        )
    except MissingAccount as missing:
        return local_result("secrets fetch", puts(missing.detail))
    # with --inline Kamal returns the text to its caller instead of printing it
    text = "" if args.get("inline") else puts(fetch_json(results))
    shown = None if args.get("reveal") else puts(ruby_json.dump(_masked(results)))
    data = {key: Secret(ruby_json.to_s(value)) if value is not None else None for key, value in results.items()}
    return local_result("secrets fetch", text, data=data, shown=shown)


def _extract(ctx: Context, args: Args) -> LocalResult:
    value = extract(str(args["name"]), str(args["secrets"]))
    text = "" if args.get("inline") else puts(value)
    shown = None if args.get("reveal") else puts(REDACTED)
    return local_result("secrets extract", text, data=Secret(value), shown=shown)


def _print(ctx: Context, args: Args) -> LocalResult:
    secrets = ctx.config.secrets
    values: dict[str, Secret] = secrets.to_dict() if isinstance(secrets, Secrets) else {}
    text = print_secrets(secrets) if isinstance(secrets, Secrets) else ""
    shown = None if args.get("reveal") else puts(*(f"{key}={REDACTED}" for key in values))
    return local_result("secrets print", text, data=values, shown=shown)


def _masked(results: Mapping[str, Any]) -> dict[str, Any]:
    return {key: REDACTED if value is not None else None for key, value in results.items()}


def _fetch_notes(ctx: Context, args: Args) -> Sequence[str]:
    return (f"asks the {args.get('adapter')} adapter's CLI for the secrets (Kamal's commands), prints them as JSON",)


def _extract_notes(ctx: Context, args: Args) -> Sequence[str]:
    return (f"prints the value of {args.get('name')} from the JSON given",)


def _print_notes(ctx: Context, args: Args) -> Sequence[str]:
    return (f"loads the secrets files and prints KEY=value lines (in a notebook: redacted; {REVEAL_HINT})",)


register_local(("secrets", "fetch"), "Fetch secrets from a vault", _fetch, _fetch_notes)
register_local(
    ("secrets", "extract"), "Extract a single secret from the results of a fetch call", _extract, _extract_notes
)
register_local(("secrets", "print"), "Print the secrets (for debugging)", _print, _print_notes)
