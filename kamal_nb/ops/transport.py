"""deploy.yml's `ssh:` and `sshkit:` sections, mapped onto the transport's settings."""

from __future__ import annotations

from kamal_nb.config import Config
from kamal_nb.fleet import SshSettings
from kamal_nb.redaction import Secret


def ssh_settings(
    config: Config,
    *,
    command_timeout: float | None = None,
    connect_timeout: float = 30.0,
    keepalive_interval: float = 15.0,
    keepalive_count_max: int = 3,
) -> SshSettings:
    """Kamal always sets net-ssh's keepalive (every 30 s, giving up after 3 unanswered): deploy.yml
    has no key for it, so the liveness rule's numbers are kamal_nb's own settings (Session,
    %config KamalMagics), by default a host silent for 45 s is lost. A host's ServerAliveInterval
    and ServerAliveCountMax in the ssh config files win (fleet/pool.py reads them)."""
    ssh = config.ssh
    configured = ssh.config
    config_files: bool | tuple[str, ...]
    if configured is None:
        config_files = True  # net-ssh reads the default files unless told otherwise
    elif isinstance(configured, bool):
        config_files = configured
    else:
        config_files = (configured,) if isinstance(configured, str) else configured
    key_data = tuple(
        value if isinstance(value, Secret) else Secret(value if isinstance(value, str) else value.reveal())
        for value in (config.ssh_key_data() or ())
    )
    port = ssh.port if isinstance(ssh.port, int) else int(ssh.port)
    return SshSettings(
        user=ssh.user,
        port=port,
        keys=ssh.keys or (),
        key_data=key_data,
        keys_only=bool(ssh.keys_only),
        proxy_jump=ssh.proxy,
        proxy_command=ssh.proxy_command,
        config_files=config_files,
        forward_agent=bool(ssh.forward_agent),
        connect_timeout=connect_timeout,
        command_timeout=command_timeout,
        keepalive_interval=keepalive_interval,
        keepalive_count_max=keepalive_count_max,
        max_parallel=config.sshkit.max_concurrent_starts,
    )
