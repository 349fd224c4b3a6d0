"""Write a file on a host over SFTP in two round trips.

paramiko's ``open``/``chmod``/``write``/``close`` wait for each reply in turn: four round trips per
file, each one on the critical path of a boot (the env file goes up just before ``docker run``).
SFTP numbers its requests and the server (OpenSSH's sftp-server) handles them in the order they
came, so only the open has to be awaited (its reply is the handle the rest name); the mode, the
bytes and the close go out together and their replies are read after.
"""

from __future__ import annotations

from typing import Any

# what paramiko's own files send per write request (servers accept at least 32 KiB)
CHUNK = 32768


def write_file(sftp: Any, path: str, content: bytes, mode: int) -> None:
    """Create or truncate ``path`` with ``mode`` set before any byte is written; OSError on failure.

    ``sftp`` is paramiko's SFTPClient, or anything with paramiko's file API (the sandbox's)."""
    import paramiko

    if not isinstance(sftp, paramiko.SFTPClient):
        with sftp.open(path, "w") as remote:
            remote.chmod(mode)
            remote.write(content)
        return
    from paramiko.sftp import (
        CMD_CLOSE,
        CMD_FSETSTAT,
        CMD_HANDLE,
        CMD_OPEN,
        CMD_WRITE,
        SFTP_FLAG_CREATE,
        SFTP_FLAG_TRUNC,
        SFTP_FLAG_WRITE,
        int64,
    )
    from paramiko.sftp_attr import SFTPAttributes

    client: Any = sftp  # its request methods are private: the stubs do not name them
    attrs = SFTPAttributes()
    attrs.st_mode = mode  # a file created now has the mode from the start (less the host's umask)
    kind, msg = client._request(CMD_OPEN, path, SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC, attrs)
    if kind != CMD_HANDLE:
        raise OSError(f"no handle for {path} (SFTP reply {kind})")
    handle = msg.get_binary()
    nothing = type(None)  # paramiko's marker for a reply nobody reads asynchronously
    # an existing file keeps its old mode through the open: it is set before the first write
    sent = [client._async_request(nothing, CMD_FSETSTAT, handle, attrs)]
    sent += [
        client._async_request(nothing, CMD_WRITE, handle, int64(offset), content[offset : offset + CHUNK])
        for offset in range(0, len(content), CHUNK)
    ]
    sent.append(client._async_request(nothing, CMD_CLOSE, handle))
    first: OSError | None = None
    for number in sent:  # every reply is read, so none is left for the next request to trip on
        try:
            client._read_response(number)
        except OSError as error:
            first = first or error
    if first is not None:
        raise first
