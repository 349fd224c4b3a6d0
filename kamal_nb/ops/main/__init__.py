"""Kamal's main commands (``Kamal::Cli::Main``): deploy, redeploy, rollback, setup, remove, upgrade, details, audit, version, docs, init."""
