"""`docker exec kamal-proxy kamal-proxy …` in the sandbox: the routes the fleet's kamal-proxy stand-in
keeps (deploy with a health check of the target, remove, stop/pause, resume, list, version).

Output and errors are the stand-in's (kamal_nb/testing/images/kamal-proxy), so a sandbox host and a
test-fleet host answer alike. Routes live in the proxy's config volume (kamal-proxy-config), so they
survive the proxy container being replaced, as they do on a real host.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from kamal_nb.sandbox.objects import rfc3339nano

VERSION = "v0.9.2-standin"
CONFIG_DIR = "/home/kamal-proxy/.config/kamal-proxy"

# kamal-proxy deploy's flags (kamal-proxy 0.9): value flags take `--flag=value` or `--flag value`.
DEPLOY_VALUE_FLAGS = {
    "--target",
    "--host",
    "--path-prefix",
    "--deploy-timeout",
    "--drain-timeout",
    "--health-check-path",
    "--health-check-interval",
    "--health-check-timeout",
    "--target-timeout",
    "--buffer-memory",
    "--max-request-body",
    "--max-response-body",
    "--log-request-header",
    "--log-response-header",
    "--error-pages",
    "--tls-certificate-path",
    "--tls-private-key-path",
    "--read-target",
    "--target-weight",
}
DEPLOY_BOOL_FLAGS = {
    "--tls",
    "--tls-redirect",
    "--buffer-requests",
    "--buffer-responses",
    "--strip-path-prefix",
    "--forward-headers",
    "--tls-acme-cache-path",
}

Result = tuple[int, str, str]
# (target host part, port, health path) -> None when healthy, else why not
HealthCheck = Callable[[str, str, str], str | None]


def _seconds(value: str) -> int:
    text = value.strip()
    try:
        if text.endswith("ms"):
            return max(1, int(float(text[:-2]) / 1000))
        if text.endswith("m"):
            return int(float(text[:-1]) * 60)
        return int(float(text.removesuffix("s")))
    except ValueError:
        return 0


class ProxyRoutes:
    """The routes of one kamal-proxy, kept in ``data`` (its config volume's contents)."""

    def __init__(self, data: dict[str, Any], log: Callable[[str, str], None], health: HealthCheck) -> None:
        self.routes: dict[str, dict[str, Any]] = data.setdefault("routes", {})
        self._log = log
        self._health = health

    def run(self, argv: list[str]) -> Result:
        command, *args = argv or ["run"]
        if command == "deploy":
            return self.deploy(args)
        if command == "remove":
            return self._with_route(args, lambda s: self._remove(s))
        if command in ("stop", "pause"):
            return self._with_route(args, lambda s: self._stop(s, command, args[1:]))
        if command == "resume":
            return self._with_route(args, lambda s: self._set_state(s, "running", "Resumed"))
        if command == "list":
            return 0, self.list_text(), ""
        if command in ("version", "--version"):
            return 0, VERSION + "\n", ""
        if command == "run":
            return 1, "", "Error: the proxy is already running (kamal-proxy run is the container's main process)\n"
        return 1, "", f'Error: unknown command "{command}" for "kamal-proxy"\n'

    def log(self, level: str, message: str) -> None:
        self._log(level, message)

    def deploy(self, args: list[str]) -> Result:
        if not args or args[0].startswith("--"):
            return 1, "", "Error: service name required\n"
        service, rest = args[0], args[1:]
        values: dict[str, list[str]] = {}
        flags: list[str] = []
        index = 0
        while index < len(rest):
            arg = rest[index]
            index += 1
            if not arg.startswith("--"):
                return 1, "", f'Error: unexpected argument "{arg}"\n'
            name, has_value, value = arg.partition("=")
            if name in DEPLOY_VALUE_FLAGS:
                if not has_value:
                    if index >= len(rest):
                        return 1, "", f"Error: flag needs an argument: {name}\n"
                    value = rest[index]
                    index += 1
                values.setdefault(name, []).append(value)
            elif name in DEPLOY_BOOL_FLAGS:
                flags.append(arg)
            else:
                return 1, "", f"Error: unknown flag: {name}\n"
        targets = values.get("--target", [])
        if not targets:
            return 1, "", "Error: --target is required\n"
        target = targets[0]
        path = (values.get("--health-check-path") or ["/up"])[-1]
        path = path if path.startswith("/") else "/" + path
        timeout = _seconds((values.get("--deploy-timeout") or ["30s"])[-1])
        host_part, _, port = target.rpartition(":")
        started = time.time()
        problem = self._health(host_part, port, path) if host_part else "no target host"
        if problem is not None:
            self.log("ERROR", f"Target failed to become healthy service={service} target={target} path={path}")
            return 1, "", f"Error: target failed to become healthy within configured timeout ({timeout}s)\n"
        hosts = ",".join(values.get("--host", [])) or "*"
        extra = [f"{k}={v}" for k, vs in values.items() if k not in ("--target", "--host") for v in vs]
        self.routes[service] = {
            "target": target,
            "hosts": hosts,
            "path": "/",
            "state": "running",
            "tls": "yes" if "--tls" in flags else "no",
            "health_check_path": path,
            "deployed_at": int(time.time()),
            "options": " ".join([*extra, *[f for f in flags if f != "--tls"]]),
            "message": "",
        }
        self.log("INFO", f"Deployed service={service} target={target} hosts={hosts} took={int(time.time() - started)}s")
        return 0, "", ""

    def _with_route(self, args: list[str], action: Callable[[str], Result]) -> Result:
        if not args or args[0] not in self.routes:
            return 1, "", "Error: service not found\n"
        return action(args[0])

    def _remove(self, service: str) -> Result:
        del self.routes[service]
        self.log("INFO", f"Removed service={service}")
        return 0, "", ""

    def _stop(self, service: str, command: str, args: list[str]) -> Result:
        message = next((a.partition("=")[2] for a in args if a.startswith("--message=")), "")
        self.routes[service]["state"] = "stopped" if command == "stop" else "paused"
        self.routes[service]["message"] = message
        self.log("INFO", f"Service {command} service={service}")
        return 0, "", ""

    def _set_state(self, service: str, state: str, verb: str) -> Result:
        self.routes[service]["state"] = state
        self.log("INFO", f"{verb} service={service}")
        return 0, "", ""

    def list_text(self) -> str:
        def row(*cells: str) -> str:
            service, host, path, target, state, tls = cells
            return f"{service:<20} {host:<20} {path:<6} {target:<24} {state:<8} {tls}\n"

        lines = [row("Service", "Host", "Path", "Target", "State", "TLS")]
        for service in sorted(self.routes):
            r = self.routes[service]
            lines.append(row(service, r["hosts"], r["path"], r["target"], r["state"], r["tls"]))
        return "".join(lines)


def log_line(level: str, message: str, ns: int) -> str:
    """A log line as the stand-in writes it to the proxy container's stdout."""
    stamp = rfc3339nano(ns - ns % 1_000_000_000)
    return json.dumps({"time": stamp, "level": level, "msg": message}, separators=(",", ":"))


def started_line(ns: int) -> str:
    return log_line("INFO", f"Server started (stand-in {VERSION}) http=80 args=", ns)
