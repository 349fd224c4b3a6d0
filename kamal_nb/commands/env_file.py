"""The content of a secrets env file, as ``Kamal::EnvFile`` writes it for ``docker run --env-file``."""

from __future__ import annotations

from collections.abc import Mapping

from kamal_nb.commands.arguments import value_text
from kamal_nb.commands.quoting import env_file_value
from kamal_nb.redaction import Secret


def env_file(env: Mapping[str, object]) -> Secret:
    """``KEY=value`` lines; never empty (``"\\n"``), so the upload is never an empty file.

    The content is returned as a Secret: it holds secret values, and only the upload may reveal it.
    """
    content = "".join(f"{key}={env_file_value(value_text(value))}\n" for key, value in env.items())
    return Secret(content or "\n")
