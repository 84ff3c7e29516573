"""Memory benchmark: the SMTP receiver's peak RSS while several large messages arrive at once.

    python bench/smtp_memory.py [--clients 4] [--megabytes 34] [--stage receive|store|ticket]

Starts the real `InboundServer` in a subprocess (a fresh SQLite store under a temporary DATA_DIR),
sends `--clients` messages of `--megabytes` MiB concurrently over 127.0.0.1, and reads the
receiver's peak resident set (VmHWM in /proc/PID/status) once every client has its answer.
`--stage` says how far the subprocess takes each message: `receive` answers 250 without storing
(the SMTP side alone), `store` (the default) stores it as the daemon does but does not ticket it,
`ticket` also tickets it, and the peak is read again once that finished.
"""
from __future__ import annotations

import argparse
import base64
import random
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import print_table, write_result  # noqa: E402

SUPPORT, EXTERNAL = "aide@helpdesk.example.com", "aide@masociete.com"
MIB = 1024 * 1024


def serve(data_dir: Path, stage: str) -> int:
    """Child side: run the receiver, print its port, then obey 'idle' and 'stop' lines on stdin."""
    from connector.bootstrap import bootstrap
    from connector.inbound.server import InboundServer
    from connector.settings import Settings
    from connector.store.addresses import add_external_address
    from connector.store.db import session_scope

    runtime = bootstrap(Settings(data_dir=data_dir, inbound_domain="helpdesk.example.com",
                                 inbound_max_bytes=64 * MIB))
    with session_scope(runtime.engine) as session:
        add_external_address(session, EXTERNAL, SUPPORT, "Support")
    server = InboundServer(runtime, "127.0.0.1", 0)
    if stage == "receive":
        server.intake.store = lambda mail_from, rcpt_tos, raw: len(raw)
    if stage != "ticket":
        server.submit = lambda raw_id: None
    with server:
        print(server.port, flush=True)
        for line in sys.stdin:
            if line.strip() == "idle":
                server.wait_idle(timeout=600)
                print("idle", flush=True)
            elif line.strip() == "stop":
                break
    runtime.engine.dispose()
    return 0


def big_mail(size: int, index: int) -> bytes:
    """A plain message of about `size` bytes: headers and 76-column base64 lines ending in CRLF."""
    head = (f"From: Client <client{index}@example.org>\r\nTo: {EXTERNAL}\r\nSubject: big {index}\r\n"
            f"Message-ID: <big{index}@example.org>\r\nDate: Tue, 07 Apr 2026 10:00:00 +0000\r\n"
            "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode()
    encoded = base64.b64encode(random.Random(index).randbytes((size - len(head)) * 57 // 78))
    lines = [encoded[i:i + 76] for i in range(0, len(encoded), 76)]
    return head + b"\r\n".join(lines) + b"\r\n"


def vm(pid: int, key: str) -> int:
    """A /proc/PID/status figure (VmHWM, VmRSS) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def send_all(port: int, mails: list[bytes]) -> list[str]:
    answers: list[str] = [""] * len(mails)

    def send(i: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=600) as client:
                client.sendmail(f"client{i}@example.org", [SUPPORT], mails[i])
            answers[i] = "250"
        except smtplib.SMTPException as exc:
            answers[i] = repr(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(mails))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def measure(clients: int, megabytes: int, stage: str) -> dict:
    mails = [big_mail(megabytes * MIB, i) for i in range(clients)]
    with tempfile.TemporaryDirectory(prefix="smtp-memory-") as data_dir:
        command = [sys.executable, __file__, "--serve", data_dir, "--stage", stage]
        child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            port = int(child.stdout.readline())
            idle_rss = vm(child.pid, "VmHWM")
            started = time.monotonic()
            answers = send_all(port, mails)
            elapsed = time.monotonic() - started
            received_peak = vm(child.pid, "VmHWM")
            if stage == "ticket":
                child.stdin.write("idle\n")
                child.stdin.flush()
                child.stdout.readline()
            overall_peak = vm(child.pid, "VmHWM")
            child.stdin.write("stop\n")
            child.stdin.flush()
        finally:
            child.stdin.close()
            child.wait(60)
    return {"clients": clients, "message_bytes": len(mails[0]), "answers": answers, "seconds": elapsed,
            "rss_before_bytes": idle_rss, "peak_after_answers_bytes": received_peak,
            "peak_overall_bytes": overall_peak, "stage": stage}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--megabytes", type=int, default=34, help="size of each message in MiB")
    parser.add_argument("--stage", choices=("receive", "store", "ticket"), default="store",
                        help="how far each message goes: answered, stored, or ticketed too")
    parser.add_argument("--serve", metavar="DATA_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(Path(args.serve), args.stage)
    result = measure(args.clients, args.megabytes, args.stage)
    print_table(f"SMTP receiver memory, {args.clients} x {args.megabytes} MiB at once, up to {args.stage}", [
        ("answers", ", ".join(result["answers"])),
        ("seconds to all answers", result["seconds"]),
        ("RSS before sending (MiB)", result["rss_before_bytes"] / MIB),
        ("peak RSS at the answers (MiB)", result["peak_after_answers_bytes"] / MIB),
        ("peak RSS overall (MiB)", result["peak_overall_bytes"] / MIB),
    ])
    write_result(f"smtp_memory_{args.stage}", result)
    return 0 if all(answer == "250" for answer in result["answers"]) else 1


if __name__ == "__main__":
    sys.exit(main())
