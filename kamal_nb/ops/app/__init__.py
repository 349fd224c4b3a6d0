"""``kamal app ...`` (``Kamal::Cli::App``): boot, start/stop/remove/exec/logs/maintenance/live, stale containers, the hidden removes."""
