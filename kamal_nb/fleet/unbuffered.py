"""invoke runners that keep no copy of a command's output: the SSH pool's and the sandbox's."""

from __future__ import annotations

from typing import Any


def unbuffered(runner_class: type[Any]) -> type[Any]:
    """An invoke Runner class that does not keep a copy of the whole output (invoke's own buffer,
    which also re-joins it on every chunk): the runner's out/err streams keep what is kept."""

    class Unbuffered(runner_class):  # type: ignore[misc]
        def _handle_output(self, buffer_: list[str], hide: bool, output: Any, reader: Any) -> None:
            for data in self.read_proc_output(reader):
                if not hide:
                    self.write_our_output(stream=output, string=data)

    Unbuffered.__name__ = Unbuffered.__qualname__ = f"Unbuffered{runner_class.__name__}"
    return Unbuffered
