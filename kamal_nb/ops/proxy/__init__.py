"""``kamal proxy ...`` (``Kamal::Cli::Proxy``): boot, boot_config, reboot/start/stop/restart/remove/logs."""
