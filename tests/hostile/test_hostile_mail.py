"""The issue's acceptance test: hostile mail from anyone, through Gmail and SMTP, interleaved with ordinary mail.

`gmail-connector run` runs as a subprocess limited to 2 GiB of address space. Through both paths
at once it gets long encoded-word From headers, 1,500-level nested multiparts, a 1 MB HTML comment
bomb (100 KB through Gmail: see mails.Sizes), a 5,000-field header flood and a 20 MB attachment,
each followed by an ordinary request; the SMTP path also gets an 8-bit envelope sender with and
without SMTPUTF8. Meanwhile an innocent client keeps asking RCPT. The daemon must never die, ordinary mail must become tickets within a
minute, RCPT must be answered within a second, nothing may get a 451, and each mail over the
reading budget must be held back with its reason and raw bytes, then be recoverable or deletable.
"""
from __future__ import annotations

import hashlib
import threading
import time

import pytest

from tests.hostile.conftest import (DAEMON_ADDRESS_SPACE, FORWARDED, SUPPORT, InnocentClient, Scene, Sent,
                                    address_space_limit, children_of, deliver_gmail, facts, send_smtp,
                                    wait_processed)
from tests.hostile.mails import (ATTACHMENT_NAME, EIGHT_BIT_SENDER, QUICK, SUITE, Sizes, attachment_bytes,
                                 hostile_inputs, ordinary)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
TICKET_WITHIN_SECONDS = 60
RCPT_WITHIN_SECONDS = 1.0
ESCAPED_EIGHT_BIT = "j\\xf6ran@example.org"     # how the store keeps a Latin-1 envelope sender
MIB = 1 << 20
READER_ADDRESS_SPACE = 1024 * MIB               # PARSE_MEMORY_MB's default


def gmail_story(scene: Scene, sizes: Sizes, out: list[Sent]) -> None:
    """Ordinary, hostile, ordinary, ... delivered into the Gmail inbox, a moment apart so that they
    spread over several sync passes."""
    out.append(deliver_gmail(scene.sandbox, "ordinary", ordinary(SUPPORT, "g-ordinary-0")))
    for n, hostile in enumerate(hostile_inputs(sizes, "gmail"), 1):
        time.sleep(0.3)
        out.append(deliver_gmail(scene.sandbox, hostile.name, hostile.build(SUPPORT, f"g-{hostile.name}"),
                                 hostile.held, hostile.reason))
        out.append(deliver_gmail(scene.sandbox, "ordinary", ordinary(SUPPORT, f"g-ordinary-{n}")))


def smtp_story(scene: Scene, sizes: Sizes, out: list[Sent]) -> None:
    """The same through the SMTP receiver, plus the 8-bit envelope senders."""
    port = scene.daemon.smtp_port
    out.append(send_smtp(port, "ordinary", ordinary(FORWARDED, "s-ordinary-0")))
    for n, hostile in enumerate(hostile_inputs(sizes, "smtp"), 1):
        out.append(send_smtp(port, hostile.name, hostile.build(FORWARDED, f"s-{hostile.name}"),
                             hostile.held, hostile.reason))
        out.append(send_smtp(port, "ordinary", ordinary(FORWARDED, f"s-ordinary-{n}")))
        if n == 1:
            for options in (b"", b" SMTPUTF8"):
                name = f"8bit_envelope{options.decode().replace(' ', '_').lower()}"
                out.append(send_smtp(port, name, ordinary(FORWARDED, f"s-{name}"), mail_from=EIGHT_BIT_SENDER,
                                     options=options))


def report(scene: Scene, sent: list[Sent], found: dict, innocent: InnocentClient) -> list[str]:
    lines = [f"{'path':<6}{'input':<30}{'bytes':>11}{'to 250 s':>9}{'to done s':>10}{'daemon MiB':>11}"
             f"{'reader MiB':>11}  outcome"]
    for index, s in enumerate(sent):
        fact = found.get(index)
        done = fact.processed_at if fact and fact.processed_at else None
        peak = scene.memory.peak(s.sent_at, done or time.time())
        answered = f"{s.answered_at - s.sent_at:9.2f}" if s.answered_at else f"{'-':>9}"
        lines.append(f"{s.path:<6}{s.name[:29]:<30}{len(s.raw):>11,}{answered}"
                     f"{(done - s.sent_at) if done else float('nan'):10.2f}{peak['daemon_rss'] / MIB:11.0f}"
                     f"{peak['largest_reader_rss'] / MIB:11.0f}  "
                     f"{(fact.outcome if fact else 'never stored (' + repr(s.replies[-1:]) + ')')[:90]}")
    readers = max(scene.memory.child_peaks.values(), default=0)
    lines.append(f"daemon peak RSS (VmHWM) {scene.memory.daemon_peak / MIB:.0f} MiB; largest reader peak "
                 f"{readers / MIB:.0f} MiB; {len(scene.memory.child_peaks)} child processes seen; "
                 f"{len(innocent.probes)} innocent RCPTs, slowest {innocent.slowest_rcpt():.3f} s")
    return lines + [f"daemon log: {line}" for line in scene.daemon.errors()[-20:]]


def run_story(scene: Scene, sizes: Sizes) -> tuple[list[Sent], dict, InnocentClient, list[str]]:
    innocent = InnocentClient(scene.daemon.smtp_port).start()
    gmail: list[Sent] = []
    smtp: list[Sent] = []
    try:
        feeder = threading.Thread(target=gmail_story, args=(scene, sizes, gmail), name="gmail-feeder")
        feeder.start()
        smtp_story(scene, sizes, smtp)
        feeder.join()
        sent = gmail + smtp
        wait_processed(scene.engine, sent, seconds=TICKET_WITHIN_SECONDS + 30)
    finally:
        innocent.stop()
    found = facts(scene.engine, sent)
    story = report(scene, sent, found, innocent)
    print("\n".join(story))
    return sent, found, innocent, story


@pytest.mark.parametrize("sizes", [QUICK, SUITE], ids=["quick", "issue-sizes"])
def test_hostile_mail_never_hurts_the_daemon_or_ordinary_mail(scene, sizes):
    sent, found, innocent, story = run_story(scene, sizes)
    text = "\n".join(story)

    assert scene.daemon.alive() and scene.memory.died_at is None, f"the daemon died\n{text}"
    assert address_space_limit(scene.daemon.pid) == DAEMON_ADDRESS_SPACE
    readers = [address_space_limit(child) for child in children_of(scene.daemon.pid)]
    assert readers.count(READER_ADDRESS_SPACE) >= 2, f"the readers' own limits: {readers}"
    codes = [code for s in sent for code, _ in s.replies] + [c for _, _, cs in innocent.probes for c in cs]
    assert 451 not in codes, text
    assert all(s.replies[-1][0] == 250 for s in sent if s.path == "smtp"), text
    assert sorted(found) == list(range(len(sent))), f"not every message was stored\n{text}"
    assert all(fact.raw_kept for fact in found.values()), f"raw bytes not kept exactly\n{text}"

    for index, s in enumerate(sent):
        fact = found[index]
        assert fact.state == "processed", f"{s.path} {s.name}: {fact}\n{text}"
        if s.held:
            assert (fact.kind, fact.ticket_id) == ("too_complex", None), f"{s.path} {s.name}: {fact}\n{text}"
            assert s.reason in fact.reason and "raw message is kept" in fact.reason, f"{fact.reason}\n{text}"
        else:
            assert fact.ticket_id is not None, f"{s.path} {s.name} is no ticket: {fact}\n{text}"
            assert fact.processed_at - s.sent_at <= TICKET_WITHIN_SECONDS, f"{s.path} {s.name} too late\n{text}"

    eight_bit = [found[i].envelope_from for i, s in enumerate(sent) if s.name.startswith("8bit")]
    assert eight_bit == [ESCAPED_EIGHT_BIT, ESCAPED_EIGHT_BIT], text

    assert len(innocent.probes) >= 5 and not innocent.failures, f"{innocent.failures[:3]}\n{text}"
    assert all(codes == [220, 250, 250, 250, 250] for _, _, codes in innocent.probes), text
    assert innocent.slowest_rcpt() < RCPT_WITHIN_SECONDS, text

    _check_big_attachments(scene, sent, found, sizes, text)
    _recover_or_delete_each_held_mail(scene, sent, found, text)
    assert scene.daemon.alive(), f"the daemon died after recover/delete\n{text}"
    assert scene.daemon.stop() == 0, f"no clean stop\n{scene.daemon.log_tail()}"


def _check_big_attachments(scene: Scene, sent: list[Sent], found: dict, sizes: Sizes, text: str) -> None:
    for index, s in enumerate(sent):
        if s.name.startswith("attachment_"):
            status, ticket = scene.daemon.admin("GET", f"/tickets/{found[index].ticket_id}")
            assert status == 200, ticket
            files = [(a["filename"], a["size"]) for c in ticket["comments"] for a in c["attachments"]]
            assert files == [(ATTACHMENT_NAME, attachment_bytes(sizes.attachment_message_bytes))], text


def _recover_or_delete_each_held_mail(scene: Scene, sent: list[Sent], found: dict, text: str) -> None:
    """Every held mail is listed with its reason; of each input's two copies one is recovered and
    one deleted, Gmail's recovered for one input and SMTP's for the next."""
    status, listed = scene.daemon.admin("GET", "/suspended")
    assert status == 200, listed
    listed = {row["id"]: row for row in listed}
    held = [(i, s) for i, s in enumerate(sent) if s.held]
    names = sorted({s.name for _, s in held})
    for index, s in held:
        fact = found[index]
        assert listed[fact.suspended_id]["kind"] == "too_complex", listed[fact.suspended_id]
        assert listed[fact.suspended_id]["reason"] == fact.reason, listed[fact.suspended_id]
        recover = (s.path == "gmail") == (names.index(s.name) % 2 == 0)
        status, answer = scene.daemon.admin("POST", f"/suspended/{fact.suspended_id}/"
                                                    f"{'recover' if recover else 'delete'}")
        assert status == 200, f"{s.path} {s.name}: {status} {answer}\n{text}"
        assert answer["state"] == ("recovered" if recover else "deleted"), answer
        if recover:
            assert answer["outcome"].startswith("ticket "), answer
    after = facts(scene.engine, sent)
    status, deleted = scene.daemon.admin("GET", "/suspended?state=deleted")
    assert status == 200, deleted
    deleted_ids = {row["id"] for row in deleted}
    for index, s in held:
        fact = after[index]
        assert fact.raw_kept, f"{s.path} {s.name}: raw bytes lost after recover/delete"
        if fact.suspended_id in deleted_ids:
            assert fact.ticket_id is None, fact
            continue
        status, ticket = scene.daemon.admin("GET", f"/tickets/{fact.ticket_id}")
        assert status == 200, ticket
        originals = [a for c in ticket["comments"] for a in c["attachments"] if a["filename"] == "original.eml"]
        assert [(a["size"], a["sha256"]) for a in originals] == [(len(s.raw), hashlib.sha256(s.raw).hexdigest())], \
            f"{s.path} {s.name}: {ticket}"
    assert len(deleted_ids) == len(held) // 2, deleted
