"""A tiny authoritative DNS server on 127.0.0.1 (UDP) answering A, AAAA, MX, PTR and TXT from a dict, for tests.

A zone maps a name to its TXT strings (a list), or to {"TXT": [...], "A": [...], "AAAA": [...],
"MX": [host, ...] (preference by order), "PTR": [host, ...]}. A name present with no data of the
asked type answers NOERROR and no records; an absent name answers NXDOMAIN. `down` makes it
fail as a broken server does: "servfail" answers SERVFAIL, "silent" never answers.
"""
from __future__ import annotations

import socket
import threading

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

TYPES = ("A", "AAAA", "MX", "PTR", "TXT")


class TinyDns:
    def __init__(self, zone: dict, down: str | None = None, down_for: tuple[str, ...] = ()):
        self.zone = {name.lower().rstrip("."): ({"TXT": records} if isinstance(records, list) else records)
                     for name, records in zone.items()}
        self.down, self.down_for = down, tuple(name.lower() for name in down_for)
        self.queries: list[str] = []
        self.asked: list[tuple[str, str]] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> "TinyDns":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            response = self._answer(dns.message.from_wire(wire))
            if response is not None:       # None: play a server that never answers
                self.sock.sendto(response.to_wire(max_size=65535), peer)

    def _failing(self, name: str) -> str | None:
        if self.down and (not self.down_for or any(name == d or name.endswith("." + d) for d in self.down_for)):
            return self.down
        return None

    def _answer(self, query: dns.message.Message) -> dns.message.Message | None:
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().lower().rstrip(".")
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append(name)
        self.asked.append((name, rdtype))
        failing = self._failing(name)
        if failing == "silent":
            return None
        if failing == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
        elif name not in self.zone:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif self.zone[name].get(rdtype):
            response.answer.append(dns.rrset.from_text_list(question.name, 300, dns.rdataclass.IN, question.rdtype,
                                                            _texts(rdtype, self.zone[name][rdtype])))
        return response


def _texts(rdtype: str, values: list[str]) -> list[str]:
    if rdtype == "TXT":
        # One TXT string holds at most 255 bytes: a long record (a DKIM key) is several strings.
        return [" ".join('"' + v[i:i + 255].replace('"', '\\"') + '"' for i in range(0, len(v), 255)) or '""'
                for v in values]
    if rdtype == "MX":
        return [f"{10 * (n + 1)} {host.rstrip('.')}." for n, host in enumerate(values)]
    if rdtype == "PTR":
        return [f"{host.rstrip('.')}." for host in values]
    return list(values)
