"""A streamed command (logs -f, exec --stream) hands on whole lines, masked, whatever the reads cut."""

from __future__ import annotations

from kamal_nb.fleet.stream import StreamedCommand
from kamal_nb.redaction import register


def fed(*reads: bytes) -> list[str]:
    lines: list[str] = []
    command = StreamedCommand("true", lines.append)
    for data in reads:
        command._feed(data)
    command._feed(b"", final=True)
    return lines


def test_lines_whole_across_reads_without_their_ends() -> None:
    assert fed(b"one\r\ntw", b"o\n\nthr", "ee \u00e9".encode()[:-1], "\u00e9".encode()[-1:]) == [
        "one",
        "two",
        "",
        "three \u00e9",
    ]
    assert fed(b"a\n") == ["a"] and fed(b"") == [] and fed(b"a\n\n") == ["a", ""]


def test_a_secret_cut_by_a_read_is_masked() -> None:
    register("Str3am-Secret")
    assert fed(b"x Str3am-", b"Secret y\nnext\n") == ["x [REDACTED] y", "next"]


def test_a_line_without_end_is_passed_on_in_pieces() -> None:
    from kamal_nb.fleet.output import LINE_LIMIT

    lines = fed(*[b"y" * 10_000] * 20)  # 200 000 characters, no newline
    assert [len(line) for line in lines] == [LINE_LIMIT, LINE_LIMIT, LINE_LIMIT, 200_000 - 3 * LINE_LIMIT]
