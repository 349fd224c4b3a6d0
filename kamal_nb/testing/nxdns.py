"""A DNS server for the test fleet's bridge that answers every query with NXDOMAIN, at once.

The fleet's nodes have no route out, so their resolver points at the bridge. With nothing listening
there, Docker's embedded DNS waits 5 s on every name it cannot answer itself (a stopped container's
ID, say), where a real network answers "no such name" in a millisecond. This keeps the fleet
behaving like real servers without any query leaving the machine.

    python -m kamal_nb.testing.nxdns ADDRESS
"""

from __future__ import annotations

import socket
import struct
import sys

NXDOMAIN = 3


def answer(query: bytes) -> bytes | None:
    """The NXDOMAIN response to ``query`` (its header and question echoed), or None if malformed."""
    if len(query) < 12:
        return None
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    if flags & 0x8000:  # a response, not a query
        return None
    opcode_and_rd = flags & 0x7900
    response_flags = 0x8000 | opcode_and_rd | 0x0080 | NXDOMAIN  # QR, echoed opcode/RD, RA
    question_end = 12
    for _ in range(qdcount):
        while question_end < len(query) and query[question_end] != 0:
            question_end += query[question_end] + 1
        question_end += 5  # the root label, QTYPE, QCLASS
    if question_end > len(query):
        return None
    return struct.pack("!HHHHHH", ident, response_flags, qdcount, 0, 0, 0) + query[12:question_end]


def serve(address: str, port: int = 53) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((address, port))
        while True:
            query, client = sock.recvfrom(4096)
            response = answer(query)
            if response is not None:
                sock.sendto(response, client)


if __name__ == "__main__":
    serve(sys.argv[1])
