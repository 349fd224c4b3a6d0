"""`kamal proxy boot`, and the proxy step of `deploy`: the `kamal` network on every host, then on
proxy hosts the registry login, the version check (Kamal refuses a kamal-proxy older than v0.9.2),
the apps-config directory and `docker container start kamal-proxy || docker run …`.
Two round trips per proxy host, one per other host."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kamal_nb.engine.errors import OperationError
from kamal_nb.engine.run import play
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.script import Answers, Do, Gate, Phase, Script, Verdict, register_script
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Cmd, Recorder, proxy_boot_first, proxy_boot_second
from kamal_nb.ops.steps import proxy_version_error as version_error

NETWORK, VERSION = "network", "proxy version"


class ProxyBootError(OperationError):
    pass


def _do(cmd: Cmd, capture: str | None = None) -> Do:
    return Do(cmd.command, tolerate=not cmd.strict, capture=capture, note=cmd.note)


def proxy_boot_script(ctx: Context, *, before: Mapping[str, Sequence[Cmd]] | None = None) -> Script:
    """`before`: commands a caller sends first, in the same round trip (proxy upgrade's clean-up)."""
    hosts, proxy_hosts = ctx.selection.hosts, ctx.selection.proxy_hosts
    first: dict[str, tuple[Do, ...]] = {}
    for host in hosts:
        network, *rest = proxy_boot_first(ctx, host)  # the network, then the login and the version
        captures = [None] * (len(rest) - 1) + [VERSION] if host in proxy_hosts else [None] * len(rest)
        first[host] = (
            *(_do(c) for c in (before or {}).get(host, ())),
            _do(network, NETWORK),
            *(_do(c, key) for c, key in zip(rest, captures, strict=True)),
        )

    def check(answers: Answers) -> Verdict:
        failed: dict[str, str] = {}
        for host in hosts:
            found = answers.get(host, {})
            network = found.get(NETWORK)
            if network is not None and not network.ok and "already exists" not in network.stderr + network.stdout:
                detail = network.stderr.strip() or network.stdout.strip()
                failed[host] = f"`docker network create kamal` exited {network.exit_code}: {detail}"
            elif host in proxy_hosts and VERSION in found:
                problem = version_error(found[VERSION].stdout)
                if problem:
                    failed[host] = problem
        return Verdict(failed=failed)

    items = (
        Phase(first),
        Gate(check, "the network may exist already; a kamal-proxy older than the minimum stops the boot"),
        Phase({h: tuple(_do(c) for c in proxy_boot_second(ctx, h)) for h in proxy_hosts}),
    )
    return Script("proxy boot", items, lock=True)


def boot_proxy(ctx: Context, rec: Recorder, *, before: Mapping[str, Sequence[Cmd]] | None = None) -> bool:
    """Boot kamal-proxy where it runs, inside another operation; False when a host failed."""
    return play(ctx, rec, proxy_boot_script(ctx, before=before))


def _build(ctx: Context, args: Args) -> Script:
    return proxy_boot_script(ctx)


register_script(("proxy", "boot"), "Boot proxy on servers", mutating=True, build=_build)
