"""A command that ends on its host when its SSH channel closes (Ctrl-C, SIGTERM, a host declared lost).

Without a terminal, sshd does not signal a command when its channel closes: it only closes the
command's pipes, so a command that writes dies of SIGPIPE on its next write, and one that does not
(``sleep``, a silent migration, ``docker logs -f`` on a quiet container) runs on for ever. With a
terminal the kernel would send SIGHUP, but a terminal merges stderr into stdout and changes what
programs print, so kamal_nb, as Kamal, runs commands without one.

So the command's text is sent after a small prelude that starts a watcher: it reads the channel's
stdin, which nothing ever writes to or closes (the runner sends no input), so the read ends only when
sshd closes the channel; if the command is still running then, the watcher sends SIGHUP to the
command's process group (the session sshd made for it, led by the login shell), as a terminal's
hang-up would. A server that made no such group gets no signal sent anywhere (there is no group of
the shell's id). The watcher keeps none of the command's output pipes, so it never holds the channel
open.

The command's own text runs as written, after the prelude, in the same shell. The wrapped text goes
only on the wire: plans, run logs and results show the command.
"""

from __future__ import annotations

# fd 3 keeps the channel's stdin for the watcher (an `&` job's stdin is /dev/null otherwise); the
# watcher is started from a subshell that exits at once, so the command's `wait` never waits for it;
# `$$` is the login shell, that is the command (or what it exec'd into): hung up only while it runs,
# with the group it leads (`-$$`).
PRELUDE = (
    "exec 3<&0; "
    "( ( cat <&3 >/dev/null 2>&1; kill -0 $$ 2>/dev/null && kill -s HUP -- -$$ ) </dev/null >/dev/null 2>&1 & ); "
    "exec 3<&-\n"
)


def wrap(wire: str) -> str:
    """``wire`` as sent: the watcher's prelude, then the command's own text unchanged."""
    return PRELUDE + wire
