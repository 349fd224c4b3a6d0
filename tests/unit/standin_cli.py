"""Stand-in command line tools for tests: small executables named like the real ones (``op``,
``bw``, ``aws``, ``docker``...) that print what the real tool prints and record how they were called.

Each stand-in answers from a list of replies for its exact argv (a word with ``*`` is a glob: ``-f=*``;
and, when given, the value of one
environment variable, as ``BW_SESSION=... bw status``), in order: the n-th matching call gets the
n-th reply, the last one repeats. An unexpected call fails with exit 97 and is recorded too, so a
test comparing the recorded calls sees it.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SCRIPT = """#!{python}
import fnmatch, json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
argv = [os.path.basename(sys.argv[0]), *sys.argv[1:]]
with open(os.path.join(here, "standin-rules.json")) as f:
    rules = json.load(f)
state_path = os.path.join(here, "standin-state.json")
state = json.load(open(state_path)) if os.path.exists(state_path) else {{"calls": [], "used": {{}}}}
watched = rules["env"]
state["calls"].append({{"argv": argv, "env": {{k: os.environ[k] for k in watched if k in os.environ}}}})
answer = None
for index, rule in enumerate(rules["rules"]):
    wanted = rule["env"]
    same = len(rule["argv"]) == len(argv) and all(
        fnmatch.fnmatchcase(a, r) if "*" in r else r == a for r, a in zip(rule["argv"], argv)
    )
    if same and all(os.environ.get(k) == v for k, v in wanted.items()) and (
        wanted or not any(k in os.environ for k in watched)
    ):
        used = state["used"].get(str(index), 0)
        state["used"][str(index)] = used + 1
        answer = rule["replies"][min(used, len(rule["replies"]) - 1)]
        break
with open(state_path, "w") as f:
    json.dump(state, f)
if answer is None:
    sys.stderr.write("stand-in: unexpected call: " + " ".join(argv) + "\\n")
    sys.exit(97)
sys.stdout.write(answer[0])
sys.exit(answer[1])
"""


@dataclass
class StandIns:
    """A directory of stand-in tools (put it first, or alone, on PATH)."""

    bin: Path
    watched_env: tuple[str, ...] = ("BW_SESSION",)
    rules: list[dict[str, Any]] = field(default_factory=list)

    def reply(self, command: str, stdout: str = "", exit: int = 0) -> None:
        """Answer ``command`` (a shell command line: ``2> /dev/null`` and a leading ``VAR=value``
        are the shell's, not the tool's) with ``stdout`` and ``exit``; called again, the next reply."""
        argv, env = split_command(command)
        tool = self.bin / argv[0]
        if not tool.exists():
            tool.write_text(_SCRIPT.format(python=sys.executable))
            tool.chmod(0o755)
        for rule in self.rules:
            if rule["argv"] == argv and rule["env"] == env:
                rule["replies"].append([stdout, exit])
                break
        else:
            self.rules.append({"argv": argv, "env": env, "replies": [[stdout, exit]]})
        (self.bin / "standin-rules.json").write_text(json.dumps({"rules": self.rules, "env": list(self.watched_env)}))

    def calls(self) -> list[tuple[list[str], dict[str, str]]]:
        """Every call, in order: argv and the watched environment variables that were set."""
        state = self.bin / "standin-state.json"
        if not state.exists():
            return []
        return [(call["argv"], call["env"]) for call in json.loads(state.read_text())["calls"]]


def split_command(command: str) -> tuple[list[str], dict[str, str]]:
    """What the tool receives from the shell for ``command``: argv, and its ``VAR=value`` prefix."""
    words = shlex.split(command)
    env: dict[str, str] = {}
    while words and "=" in words[0] and not words[0].startswith("-"):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    if words[-2:] == ["2>", "/dev/null"]:
        words = words[:-2]
    return words, env
