"""python -m kamal_nb.sandbox init DIR [--hosts N] [--subnet 10.200.0] [--force] | status DIR | down DIR HOST | up DIR HOST"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kamal_nb.sandbox.fleet import create_sandbox, load_sandbox, set_host_down
from kamal_nb.sandbox.layout import Layout, SandboxError, engine_file, read_json


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kamal_nb.sandbox", description="A sandbox fleet of local-directory hosts"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", help="create a sandbox fleet with the demo project")
    init.add_argument("dir")
    init.add_argument("--hosts", type=int, default=3)
    init.add_argument(
        "--subnet", default="10.200.0", help="hosts are SUBNET.11, SUBNET.12, …; the registry SUBNET.1:5000"
    )
    init.add_argument("--force", action="store_true", help="replace an existing sandbox fleet")
    init.add_argument("--if-missing", action="store_true", help="do nothing when a sandbox fleet exists already")
    status = commands.add_parser("status", help="hosts and their containers")
    status.add_argument("dir")
    for name, text in (("down", "make a host unreachable"), ("up", "make a host reachable again")):
        toggle = commands.add_parser(name, help=text)
        toggle.add_argument("dir")
        toggle.add_argument("host")
    args = parser.parse_args(argv)
    try:
        if args.command == "init":
            if args.if_missing and Layout(args.dir).exists():
                print(f"sandbox fleet at {Layout(args.dir).root} (exists)")
                return 0
            info = create_sandbox(args.dir, hosts=args.hosts, subnet=args.subnet, force=args.force)
            print(f"sandbox fleet at {info.root}: hosts {', '.join(info.hosts)}; registry {info.registry}")
            print(f"demo project: {info.project}")
            print(f"use it: export KAMAL_NB_BACKEND=sandbox KAMAL_NB_SANDBOX_DIR={info.root}")
        elif args.command == "status":
            info = load_sandbox(args.dir)
            layout = Layout(info.root)
            for host in info.hosts:
                state = read_json(engine_file(layout.host_dir(host)), {})
                containers = state.get("containers", {}).values()
                listed = ", ".join(
                    f"{c['name']} ({c['status']})" for c in sorted(containers, key=lambda c: c["created"])
                )
                print(f"{host}: {listed or 'no containers'}")
        else:
            set_host_down(args.dir, args.host, args.command == "down")
    except SandboxError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
