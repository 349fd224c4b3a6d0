"""kamal_nb's version and the Kamal release it reproduces: a leaf module every layer may import
(the package root imports the notebook layer when the extension loads)."""

__version__ = "0.1.0"

# The Kamal release whose configuration, host commands and host state kamal_nb reproduces.
KAMAL_COMPAT_VERSION = "2.12.0"
