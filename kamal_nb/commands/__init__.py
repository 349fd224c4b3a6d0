"""Pure builders of the commands Kamal 2.12 sends to hosts: no I/O, one module per Kamal command class."""
