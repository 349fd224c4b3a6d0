"""What the runner keeps of a command's output: all of it up to a cap from each end, with a note
saying how much was dropped; every line is still streamed, whole, in events of many lines; batch
markers survive."""

from __future__ import annotations

import re

from kamal_nb.fleet import Batch, EventStream, HostEvent, Output
from kamal_nb.fleet.output import LINE_LIMIT, OUTPUT_KEEP, OutputEmitter


def emitter(marker: str | None = None, keep: int | None = None) -> tuple[OutputEmitter, list[HostEvent]]:
    events = EventStream()
    seen: list[HostEvent] = []
    events.subscribe(seen.append)
    return OutputEmitter(events, "h", 0, "stdout", marker, keep), seen


def test_small_output_is_kept_exactly() -> None:
    out, seen = emitter()
    for chunk in ("a\r\nb", "c\n\n", "no newline"):
        out.write(chunk)
    out.finish()
    assert out.text() == "a\r\nbc\n\nno newline"
    assert [line for e in seen if isinstance(e, Output) for line in e.lines] == ["a", "bc", "", "no newline"]


def test_ten_megabytes_keep_the_first_and_last_parts_and_say_what_was_dropped() -> None:
    out, seen = emitter()
    line = "x" * 99 + "\n"
    total_lines = 100_000  # 10 MB
    block = line * 1000
    out.write("first line\n")
    for _ in range(total_lines // 1000):
        out.write(block)
    out.write("last line\n")
    out.finish()
    text = out.text()
    assert len(text) <= 2 * OUTPUT_KEEP + 2 * len(line) + 200
    assert text.startswith("first line\n") and text.endswith("x\nlast line\n")
    note = re.search(
        r"\[kamal_nb: (\d+) characters \((\d+) lines\) of output dropped here; kept the first .*\]\n", text
    )
    assert note is not None
    dropped_chars, dropped_lines = int(note.group(1)), int(note.group(2))
    kept = len(text) - len(note.group(0))
    assert dropped_chars + kept == len("first line\n") + total_lines * len(line) + len("last line\n")
    assert dropped_lines == dropped_chars // len(line)
    # every line was still streamed, in events of many lines
    events = [e for e in seen if isinstance(e, Output)]
    assert sum(len(e.lines) for e in events) == total_lines + 2
    assert len(events) <= total_lines // 1000 + 2


def test_a_line_without_end_is_streamed_and_kept_in_pieces() -> None:
    out, seen = emitter(keep=LINE_LIMIT * 2)
    out.write("y" * (LINE_LIMIT * 10))
    out.finish()
    assert all(len(e.text) <= LINE_LIMIT for e in seen if isinstance(e, Output))
    text = out.text()
    assert "of output dropped here" in text and len(text) < LINE_LIMIT * 6


def test_a_batch_keeps_every_marker_so_each_command_gets_its_own_output() -> None:
    batch = Batch(("big", "small"))
    out, _ = emitter(batch.marker, keep=1000)
    out.write("z\n" * 100_000)
    out.write(f"tail{batch.marker} 0\n")
    out.write(f"small output\n{batch.marker} 3\n")
    out.finish()
    err, _ = emitter(batch.marker, keep=1000)
    err.write(f"{batch.marker}\noops\n{batch.marker}\n")
    err.finish()
    (d1, c1, o1, e1), (d2, c2, o2, e2) = batch.split(out.text(), err.text())
    assert (d1, c1, e1) == ("big", 0, "") and o1.startswith("z\n") and o1.endswith("z\ntail")
    assert "of output dropped here" in o1 and len(o1) < 2200
    assert (d2, c2, o2, e2) == ("small", 3, "small output\n", "oops\n")


def test_a_line_split_between_reads_is_never_split_between_events() -> None:
    out, seen = emitter()
    out.write("one\ntw")
    out.flush()  # invoke flushes after every read: no line ends there
    out.write("o\nthree")
    out.write("\nfour")
    out.finish()
    assert [e.text for e in seen if isinstance(e, Output)] == ["one", "two", "three", "four"]


def test_a_secret_across_two_reads_is_masked_whole() -> None:
    from kamal_nb.redaction import register

    register("s3cr3t-Value")
    out, seen = emitter()
    out.write("x\nthe value: s3cr3t-")
    out.write("Value\nmore\n")
    out.finish()
    shown = "\n".join(e.text for e in seen if isinstance(e, Output))
    assert "s3cr3t" not in shown and "[REDACTED]" in shown


def test_one_read_bigger_than_the_cap_keeps_whole_lines_of_its_head_and_tail() -> None:
    out, seen = emitter(keep=100)
    out.write("first\n" + "n\n" * 10_000 + "last\n")
    out.finish()
    text = out.text()
    assert text.startswith("first\n") and text.endswith("n\nlast\n") and len(text) < 400
    assert "20000 characters" not in text and "of output dropped here" in text
    assert sum(len(e.lines) for e in seen if isinstance(e, Output)) == 10_002


def test_a_character_split_between_two_reads_is_decoded_whole() -> None:
    from invoke.runners import Local

    from kamal_nb.fleet.unbuffered import unbuffered

    runner_class = unbuffered(Local)
    runner = object.__new__(runner_class)  # no invoke Context: only the decoding is asked of it
    runner.encoding, runner.read_chunk_size = "utf-8", 4
    data = iter([b"caf\xc3", b"\xa9 \xe2\x82", b"\xac\n", b""])
    assert "".join(runner.read_proc_output(lambda size: next(data))) == "café €\n"
