"""``kamal lock ...`` (``Kamal::Cli::Lock``): status, acquire, release (with kamal_nb's --older-than)."""
