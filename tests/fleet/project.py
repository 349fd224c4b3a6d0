"""A Kamal project pointed at the test fleet, and the real Kamal to run against it (see
kamal_nb.testing.project, which benchmarks and notebooks use too)."""

from kamal_nb.testing.project import APP_SECRET, deploy_config, kamal_binary, real_kamal, write_project

__all__ = ["APP_SECRET", "deploy_config", "kamal_binary", "real_kamal", "write_project"]
