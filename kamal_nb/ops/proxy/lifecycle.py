"""``kamal proxy reboot [--rolling]|start|stop|restart|remove [--force]|logs`` as Kamal 2.12 does them
(``lib/kamal/cli/proxy.rb``), and the hidden steps of ``remove`` on their own (``remove_container``,
``remove_image``, ``remove_proxy_directory``, each under the lock). ``proxy boot`` is part of deploy
(kamal_nb.ops.proxy.boot); ``boot_config`` is kamal_nb.ops.proxy.boot_config, ``upgrade`` kamal_nb.ops.main.upgrade.

Arguments: reboot ``rolling``; remove ``force``; logs ``since``, ``lines``, ``grep``,
``skip_timestamps``, ``follow`` (refused: headless).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kamal_nb.commands import Proxy, Registry, Server
from kamal_nb.ops.accessory import log_lines, refuse_follow
from kamal_nb.ops.audit import audit
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.script import (
    Action,
    Answers,
    Do,
    Gate,
    Item,
    Phase,
    RunHook,
    Script,
    Section,
    Verdict,
    answer,
    flag,
    register_script,
    text,
)
from kamal_nb.ops.session import Context

APPS = "proxy:apps"


def _login(ctx: Context) -> list[Action]:
    login = Registry(ctx.config).login()
    return [Do(login)] if login is not None else []


def reboot(ctx: Context, *, rolling: bool) -> Section:
    hosts = list(ctx.selection.proxy_hosts)
    groups = [[host] for host in hosts] if rolling else [hosts]
    items: list[Item] = []
    for group in groups:
        items.append(RunHook("pre-proxy-reboot", tuple(group), "proxy", "reboot"))
        steps: dict[str, list[Action]] = {}
        for host in group:
            proxy = Proxy(ctx.config, host=host)
            steps[host] = [
                Do(audit(ctx, "Rebooted proxy")),
                *_login(ctx),
                Do(proxy.stop(), tolerate=True),
                Do(proxy.remove_container()),
                Do(proxy.ensure_apps_config_directory()),
                Do(proxy.run()),
            ]
        items.append(Phase(steps))
        items.append(RunHook("post-proxy-reboot", tuple(group), "proxy", "reboot"))
    return Section(tuple(items))


def start(ctx: Context) -> Phase:
    return Phase(
        {
            host: (Do(audit(ctx, "Started proxy")), Do(Proxy(ctx.config, host=host).start()))
            for host in ctx.selection.proxy_hosts
        }
    )


def stop(ctx: Context) -> Phase:
    return Phase(
        {
            host: (Do(audit(ctx, "Stopped proxy")), Do(Proxy(ctx.config, host=host).stop(), tolerate=True))
            for host in ctx.selection.proxy_hosts
        }
    )


def remove(ctx: Context, *, force: bool) -> Section:
    """Stop, remove the container, the image and .kamal/proxy, unless other apps are installed
    (``ls .kamal/apps | wc -l`` above 0 on a proxy host) and ``force`` is not given."""
    hosts = ctx.selection.proxy_hosts
    count = Server(ctx.config).app_directory_count()

    def allowed(answers: Answers) -> Verdict:
        installed = [h for h in hosts if _int(answer(answers, h, APPS)) > 0]
        if not installed:
            return Verdict()
        if force:
            return Verdict(message="Forcing, so removing the proxy, even though other apps are installed")
        return Verdict(
            go=False,
            message="Not removing the proxy, as other apps are installed, ignore this check with kamal proxy remove --force",
        )

    return Section(
        (
            Phase({host: (Do(count, capture=APPS),) for host in hosts}),
            Gate(allowed, "the proxy is kept when other apps are installed on its hosts (unless --force)"),
            stop(ctx),
            remove_container(ctx),
            remove_image(ctx),
            remove_proxy_directory(ctx),
        )
    )


def _on_each(ctx: Context, make: Callable[[Proxy], Sequence[Action]]) -> Phase:
    return Phase({host: tuple(make(Proxy(ctx.config, host=host))) for host in ctx.selection.proxy_hosts})


def remove_container(ctx: Context) -> Phase:
    return _on_each(ctx, lambda p: (Do(audit(ctx, "Removed proxy container")), Do(p.remove_container())))


def remove_image(ctx: Context) -> Phase:
    return _on_each(ctx, lambda p: (Do(audit(ctx, "Removed proxy image")), Do(p.remove_image())))


def remove_proxy_directory(ctx: Context) -> Phase:
    return _on_each(ctx, lambda p: (Do(p.remove_proxy_directory(), tolerate=True),))


def _int(value: str) -> int:
    try:
        return int(value.split()[0]) if value.split() else 0
    except ValueError:
        return 0


def _reboot(ctx: Context, args: Args) -> Script:
    return Script(
        "proxy reboot",
        (reboot(ctx, rolling=flag(args, "rolling")),),
        lock=True,
        notes=("This will cause a brief outage on each host",),
    )


def _start(ctx: Context, args: Args) -> Script:
    return Script("proxy start", (start(ctx),), lock=True)


def _stop(ctx: Context, args: Args) -> Script:
    return Script("proxy stop", (stop(ctx),), lock=True)


def _restart(ctx: Context, args: Args) -> Script:
    return Script("proxy restart", (stop(ctx), start(ctx)), lock=True)


def _remove(ctx: Context, args: Args) -> Script:
    return Script("proxy remove", (remove(ctx, force=flag(args, "force")),), lock=True)


def _logs(ctx: Context, args: Args) -> Script:
    refuse_follow(args, "proxy logs")
    steps = {
        host: (
            Do(
                Proxy(ctx.config, host=host).logs(
                    timestamps=not flag(args, "skip_timestamps"),
                    since=text(args, "since"),
                    lines=log_lines(args),
                    grep=text(args, "grep"),
                )
            ),
        )
        for host in ctx.selection.proxy_hosts
    }
    return Script("proxy logs", (Phase(steps),))


register_script(
    ("proxy", "reboot"),
    "Reboot proxy on servers (stop container, remove container, start new container)",
    mutating=True,
    build=_reboot,
)
register_script(("proxy", "start"), "Start existing proxy container on servers", mutating=True, build=_start)
register_script(("proxy", "stop"), "Stop existing proxy container on servers", mutating=True, build=_stop)
register_script(("proxy", "restart"), "Restart existing proxy container on servers", mutating=True, build=_restart)
register_script(("proxy", "remove"), "Remove proxy container and image from servers", mutating=True, build=_remove)
register_script(("proxy", "logs"), "Show log lines from proxy on servers", mutating=False, build=_logs)


def _hidden(name: str, phase: Callable[[Context], Phase], summary: str) -> None:
    """Kamal's hidden steps of `proxy remove`, each under the lock."""

    def build(ctx: Context, args: Args) -> Script:
        return Script(f"proxy {name}", (phase(ctx),), lock=True)

    register_script(("proxy", name), summary, mutating=True, build=build)


_hidden("remove_container", remove_container, "Remove proxy container from servers")
_hidden("remove_image", remove_image, "Remove proxy image from servers")
_hidden("remove_proxy_directory", remove_proxy_directory, "Remove the proxy directory from servers")
