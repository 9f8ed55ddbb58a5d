"""A DNS server on loopback that answers A queries for the names it is given, the way Render's
discovery name answers with the address of every running instance of a service. Enough of
RFC 1035 for HAProxy's resolver: one question, A records, NXDOMAIN for names it does not know,
and an empty answer for other record types of a known name."""

from __future__ import annotations

import socket
import struct
import threading
from types import TracebackType

A, IN = 1, 1


def _question(packet: bytes) -> tuple[str, int, int]:
    """The queried name, type, and where the question ends."""
    labels, at = [], 12
    while packet[at]:
        length = packet[at]
        labels.append(packet[at + 1 : at + 1 + length].decode("ascii").lower())
        at += 1 + length
    qtype, _qclass = struct.unpack("!HH", packet[at + 1 : at + 5])
    return ".".join(labels), qtype, at + 5


def answer(packet: bytes, records: dict[str, list[str]]) -> bytes:
    """The response to one query: A records (TTL 1 s) for a known name."""
    ident, flags = struct.unpack("!HH", packet[:4])
    name, qtype, end = _question(packet)
    addresses = records.get(name.rstrip("."))
    rcode = 3 if addresses is None else 0  # NXDOMAIN
    answers = addresses if (addresses and qtype == A) else []
    header = struct.pack("!HHHHHH", ident, 0x8400 | (flags & 0x0100) | rcode, 1, len(answers), 0, 0)
    body = b"".join(
        struct.pack("!HHHIH", 0xC00C, A, IN, 1, 4) + socket.inet_aton(address)
        for address in answers
    )
    return header + packet[12:end] + body


class FakeDNS:
    """`with FakeDNS({"web-discovery": ["127.0.0.2"]}) as dns:` answers on `dns.address`;
    change `dns.records` to add or drop an instance."""

    def __init__(self, records: dict[str, list[str]]) -> None:
        self.records = records
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                packet, client = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            try:
                self.sock.sendto(answer(packet, self.records), client)
            except (IndexError, struct.error, UnicodeDecodeError):
                continue  # not a query this fake understands: no answer, as a lost packet

    def __enter__(self) -> FakeDNS:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stopping.set()
        self.thread.join(2)
        self.sock.close()
