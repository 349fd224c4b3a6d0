"""`%kamal help config` and `kamal-nb help config` say what loading a config does on this machine:
no host is contacted, but the ERB in deploy.yml runs its commands locally, as in Kamal."""

from __future__ import annotations

import io

from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from kamal_nb.cli import main


def test_the_help_of_config_says_erb_commands_run_locally() -> None:
    out = io.StringIO()
    main(["help", "config"], out=out, err=io.StringIO())
    text = " ".join(out.getvalue().split())
    assert "No host is contacted" in text and "commands in it (backticks, %x(), system) run locally" in text, text
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "kamal_nb")
    try:
        with capture_output() as captured:
            shell.run_line_magic("kamal", "help config")
    finally:
        shell.run_line_magic("unload_ext", "kamal_nb")
    assert "run locally" in " ".join(captured.stdout.split()), captured.stdout
