"""``kamal build ...`` (``Kamal::Cli::Build``): push/pull/deliver, multi-arch, the buildx setup, and which engine builds."""
