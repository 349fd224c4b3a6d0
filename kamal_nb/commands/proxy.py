"""The kamal-proxy container on a host (``Kamal::Commands::Proxy``).

With ``proxy.run`` in the config the container is started from those settings; without it, from the
legacy per-host ``.kamal/proxy/{options,image,image_version,run_command}`` files (``boot_config``).
"""

from __future__ import annotations

from kamal_nb.commands import proxy_paths
from kamal_nb.commands.arguments import optionize
from kamal_nb.commands.base import Base
from kamal_nb.commands.command import Command, Token, any_of, chain, cmd, combine, docker, pipe, substitute, xargs
from kamal_nb.config import Config, ProxyRun

TRAEFIK_TITLE = "label=org.opencontainers.image.title=Traefik"
PROXY_TITLE = "label=org.opencontainers.image.title=kamal-proxy"


class Proxy(Base):
    def __init__(self, config: Config, *, host: str) -> None:
        super().__init__(config)
        self.host = host
        self.proxy_run_config: ProxyRun | None = config.proxy_run(host)

    def run(self) -> Command:
        run = self.proxy_run_config
        if run is None:
            return pipe(self.boot_config(), xargs(self._docker_run()))
        return cmd(
            self._docker_run_head(),
            run_docker_options_args(self.config, run),
            run.image,
            run_command(run),
        )

    def start(self) -> Command:
        return docker("container", "start", proxy_paths.CONTAINER_NAME)

    def stop(self, *, name: str = proxy_paths.CONTAINER_NAME) -> Command:
        return docker("container", "stop", name)

    def start_or_run(self) -> Command:
        return any_of(self.start(), self.run())

    def info(self) -> Command:
        return docker("ps", "--filter", f"'name=^{proxy_paths.CONTAINER_NAME}$'")

    def version(self) -> Command:
        return pipe(
            docker("inspect", proxy_paths.CONTAINER_NAME, "--format '{{.Config.Image}}'"),
            cmd("awk", "-F:", "'{print $NF}'"),
        )

    def logs(
        self,
        *,
        timestamps: bool = True,
        since: str | None = None,
        lines: int | str | None = None,
        grep: str | None = None,
        grep_options: str | None = None,
    ) -> Command:
        return pipe(
            docker(
                "logs",
                proxy_paths.CONTAINER_NAME,
                f"--since {since}" if since else None,
                f"--tail {lines}" if lines else None,
                "--timestamps" if timestamps else None,
                "2>&1",
            ),
            f"grep '{grep}'" + (f" {grep_options}" if grep_options else "") if grep else None,
        )

    def follow_logs(
        self, *, host: str, timestamps: bool = True, grep: str | None = None, grep_options: str | None = None
    ) -> Command:
        followed = self.followed_logs(timestamps=timestamps, grep=grep, grep_options=grep_options)
        return self.run_over_ssh(followed, host=host)

    def followed_logs(
        self, *, timestamps: bool = True, grep: str | None = None, grep_options: str | None = None
    ) -> Command:
        """What ``follow_logs`` runs on the host (inside its ``ssh -t``)."""
        return pipe(
            docker(
                "logs",
                proxy_paths.CONTAINER_NAME,
                "--timestamps" if timestamps else None,
                "--tail",
                "10",
                "--follow",
                "2>&1",
            ),
            f'grep "{grep}"' + (f" {grep_options}" if grep_options else "") if grep else None,
        )

    def remove_container(self) -> Command:
        return docker("container", "prune", "--force", "--filter", PROXY_TITLE)

    def remove_image(self) -> Command:
        return docker("image", "prune", "--all", "--force", "--filter", PROXY_TITLE)

    def cleanup_traefik(self) -> Command:
        """Kamal 1's Traefik, stopped and pruned (``kamal upgrade``)."""
        return chain(
            docker("container", "stop", "traefik"),
            combine(
                docker("container", "prune", "--force", "--filter", TRAEFIK_TITLE),
                docker("image", "prune", "--all", "--force", "--filter", TRAEFIK_TITLE),
            ),
        )

    def ensure_proxy_directory(self) -> Command:
        return self.make_directory(proxy_paths.host_directory(self.config))

    def remove_proxy_directory(self) -> Command:
        return self.remove_directory(proxy_paths.host_directory(self.config))

    def ensure_apps_config_directory(self) -> Command:
        return self.make_directory(proxy_paths.apps_directory(self.config))

    # -- the legacy boot config files ------------------------------------------------------------

    def boot_config(self) -> Command:
        text = (
            f"{substitute(self.read_boot_options())} {substitute(self.read_image())}:"
            f"{substitute(self.read_image_version())} {substitute(self.read_run_command())}"
        )
        return cmd("echo", text)

    def read_boot_options(self) -> Command:
        return _read_file(proxy_paths.options_file(self.config), default=" ".join(proxy_paths.default_boot_options()))

    def read_image(self) -> Command:
        return _read_file(proxy_paths.image_file(self.config), default=proxy_paths.IMAGE_DEFAULT)

    def read_image_version(self) -> Command:
        return _read_file(proxy_paths.image_version_file(self.config), default=proxy_paths.MINIMUM_VERSION)

    def read_run_command(self) -> Command:
        return _read_file(proxy_paths.run_command_file(self.config))

    def reset_boot_options(self) -> Command:
        return self.remove_file(proxy_paths.options_file(self.config))

    def reset_image(self) -> Command:
        return self.remove_file(proxy_paths.image_file(self.config))

    def reset_image_version(self) -> Command:
        return self.remove_file(proxy_paths.image_version_file(self.config))

    def reset_run_command(self) -> Command:
        return self.remove_file(proxy_paths.run_command_file(self.config))

    def _docker_run_head(self) -> Command:
        return docker(
            "run",
            "--name",
            proxy_paths.CONTAINER_NAME,
            "--network",
            "kamal",
            "--detach",
            "--restart",
            "unless-stopped",
            "--volume",
            "kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy",
        )

    def _docker_run(self) -> Command:
        return cmd(self._docker_run_head(), proxy_paths.apps_volume(self.config).docker_args())


def _read_file(file: str, *, default: str = "") -> Command:
    return any_of(cmd("cat", file, "2>", "/dev/null"), cmd("echo", f'"{default}"'))


def run_docker_options_args(config: Config, run: ProxyRun) -> list[Token]:
    """Volumes, ports, logging, metrics and extra options of the kamal-proxy container (``proxy.run``)."""
    args: list[Token] = [*proxy_paths.apps_volume(config).docker_args()]
    if run.publish:
        args.append(proxy_paths.publish_args(run.http_port, run.https_port, run.bind_ips))
    args += proxy_paths.logging_args(run.log_max_size)
    if run.metrics_port is not None and str(run.metrics_port).strip():
        args.append(f"--expose={run.metrics_port}")
    if run.raw.get("options"):
        args += optionize(run.options)
    return args


def run_command(run: ProxyRun) -> str:
    """``kamal-proxy run [--debug] [--metrics-port "<port>"]``."""
    options: dict[object, object] = {}
    if run.debug:
        options["debug"] = True
    if run.metrics_port is not None:
        options["metrics-port"] = run.metrics_port
    return " ".join(str(token) for token in ["kamal-proxy", "run", *optionize(options)])


__all__ = ["Proxy", "run_command", "run_docker_options_args"]
