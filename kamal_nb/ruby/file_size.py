"""A size limit checked before a config or secrets file is read: a deploy.yml of hundreds of MB is
a wrong file (a log, a dump), and reading and parsing it would take seconds and gigabytes before
any message. Kamal has no limit; these are far above any real file."""

from __future__ import annotations

import os

from kamal_nb.ruby.errors import ConfigError

MiB = 1024 * 1024
CONFIG_FILE_LIMIT = 8 * MiB  # config/deploy.yml and its destination files (real ones: a few KB)
SECRETS_FILE_LIMIT = 2 * MiB  # .kamal/secrets* (real ones: a few KB, certificates included)


def size_text(size: int) -> str:
    if size >= MiB:
        return f"{size / MiB:.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size} bytes"


def check_file_size(path: str | os.PathLike[str], limit: int, *, kind: str, display_path: str) -> None:
    """Raise ConfigError, naming the file, its size and the limit, when `path` is larger than
    `limit` bytes (a file whose size cannot be read is left to the reader's own error)."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return
    if size > limit:
        raise ConfigError(
            f"the {kind} is {size_text(size)}, over kamal_nb's limit of {size_text(limit)} for it; "
            "not read (is this the right file?)",
            path=display_path,
        )


__all__ = ["CONFIG_FILE_LIMIT", "SECRETS_FILE_LIMIT", "check_file_size", "size_text"]
