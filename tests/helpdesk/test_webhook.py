"""The signed webhook, against a real receiver on 127.0.0.1 that verifies signatures and dedupes by event id."""
from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from datetime import datetime, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from connector.admin.app import create_app
from connector.admin.attachment_links import link_signer, links_for
from connector.admin.server import AdminServer
from connector.bootstrap import bootstrap
from connector.helpdesk import signing
from connector.helpdesk.port import (FileToDeliver, HelpdeskMessage, HelpdeskRefused, HelpdeskUnavailable,
                                     NewHelpdeskTicket, Person)
from connector.helpdesk.webhook import SignedWebhook
from connector.settings import Settings
from connector.store.attachment_files import write_attachment
from connector.store.db import session_scope
from connector.store.models import Comment, StoredAttachment, Ticket

SECRET = "whsec-3b9f0c-do-not-leak"
ANN = Person("Ann Customer", "ann@example.com")
BOB = Person("Bob Colleague", "bob@example.com")
SENT = datetime(2024, 5, 1, 12, 0, 5, tzinfo=timezone.utc)


class Receiver:
    """What a careful receiver does (docs/webhook.md): verify, dedupe by event id, answer a replay the same."""

    def __init__(self, secret: str = SECRET):
        self.secret, self.deliveries, self.events, self.answers = secret, [], [], {}
        self.script: list[tuple[int, dict, bytes]] = []     # canned answers, used first
        self.delay = 0.0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                status, headers, answer = receiver.handle(dict(self.headers), body)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(answer))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/gmail"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()

    def handle(self, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        with self._lock:
            self.deliveries.append(headers)
            if self.script:
                return self.script.pop(0)
            if not signing.verify(self.secret, body, headers.get(signing.HEADER), now=time.time()):
                return 400, {}, b'{"error": "signature does not verify"}'
            event = json.loads(body)
            if event["id"] not in self.answers:        # a replayed id gets its first answer again
                self.events.append(event)
                self.answers[event["id"]] = self.answer(event)
            return 200, {"Content-Type": "application/json"}, self.answers[event["id"]]

    def answer(self, event: dict) -> bytes:
        if event["type"] == "ticket.created":
            number = sum(e["type"] == "ticket.created" for e in self.events)
            return json.dumps({"ticket_id": f"R-{number}", "url": f"https://desk.example/t/R-{number}"}).encode()
        return json.dumps({"ticket_id": event.get("ticket", {}).get("remote_id")}).encode()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def webhook(receiver):
    made = []

    def make(url: str | None = None, secret: str = SECRET, **kwargs) -> SignedWebhook:
        kwargs.setdefault("inline_max_bytes", 1024)
        kwargs.setdefault("link_for", None)
        made.append(SignedWebhook(receiver.url if url is None else url, secret, **kwargs))
        return made[-1]

    yield make
    for hook in made:
        hook.close()


def message(key: str = "gmc-t42-m1", public: bool = True, attachments=(), ticket: int = 42) -> HelpdeskMessage:
    return HelpdeskMessage(key=key, author=ANN, body_text="The printer is on fire.",
                           body_html="<p>The printer is on fire.</p>", message_id=f"{key}@mail.example.com",
                           created_at=SENT, public=public, cc=(BOB,),
                           attachments=tuple(attachments), our_ticket_id=ticket)


def new_ticket(**kwargs) -> NewHelpdeskTicket:
    return NewHelpdeskTicket(key="gmc-t42", our_ticket_id=42, subject="Printer on fire", requester=ANN,
                             queue="General", first=message(**kwargs), cc=(BOB,))


def test_a_ticket_its_comment_note_and_reopen_arrive_signed_with_the_documented_bodies(receiver, webhook):
    now = int(time.time())
    hook = webhook(clock=lambda: now)
    png = b"\x89PNG tiny"
    shot = FileToDeliver("shot.png", "image/png", png, inline=True, content_id="shot1", attachment_id=7)

    delivered = hook.open_ticket(new_ticket(attachments=[shot]))
    comment = hook.add_message(delivered.remote_ticket_id, message("gmc-t42-m2"))
    note = hook.add_message(delivered.remote_ticket_id, message("gmc-t42-m3", public=False))
    hook.reopen(delivered.remote_ticket_id, "gmc-t42-r1")

    assert (delivered.remote_ticket_id, delivered.url) == ("R-1", "https://desk.example/t/R-1")
    assert comment.remote_ticket_id == note.remote_ticket_id == "R-1"
    assert [(e["id"], e["type"]) for e in receiver.events] == [
        ("gmc-t42", "ticket.created"), ("gmc-t42-m2", "comment.added"), ("gmc-t42-m3", "note.added"),
        ("gmc-t42-r1", "ticket.reopened")]
    created, added, noted, reopened = receiver.events
    stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ann = {"name": "Ann Customer", "email": "ann@example.com"}
    bob = {"name": "Bob Colleague", "email": "bob@example.com"}
    assert created == {
        "id": "gmc-t42", "type": "ticket.created", "created_at": stamp,
        "ticket": {"id": 42, "key": "gmc-t42", "subject": "Printer on fire", "requester": ann, "queue": "General",
                   "cc": [bob]},
        "message": {"key": "gmc-t42-m1", "message_id": "gmc-t42-m1@mail.example.com", "author": ann, "public": True,
                    "body_text": "The printer is on fire.", "body_html": "<p>The printer is on fire.</p>",
                    "created_at": "2024-05-01T12:00:05Z", "cc": [bob],
                    "attachments": [{"filename": "shot.png", "content_type": "image/png", "size": 9,
                                     "sha256": hashlib.sha256(png).hexdigest(), "inline": True,
                                     "content_id": "shot1", "content_base64": base64.b64encode(png).decode(),
                                     "url": None, "expires_at": None}]}}
    assert added["ticket"] == noted["ticket"] == {"id": 42, "remote_id": "R-1"}
    assert (added["message"]["public"], noted["message"]["public"]) == (True, False)
    assert reopened == {"id": "gmc-t42-r1", "type": "ticket.reopened", "created_at": stamp,
                        "ticket": {"remote_id": "R-1"}}
    for headers, event in zip(receiver.deliveries, receiver.events):
        assert headers["Gmail-Connector-Event"] == event["type"]
        assert headers["Gmail-Connector-Event-Id"] == event["id"]
        assert headers["User-Agent"] == "gmail-connector"
        assert headers[signing.HEADER].startswith(f"t={now},v1=")


def test_a_replayed_ticket_created_is_deduplicated_and_answers_the_same_ticket_id(receiver, webhook):
    hook = webhook()
    first, again = hook.open_ticket(new_ticket()), hook.open_ticket(new_ticket())
    assert first == again and first.remote_ticket_id == "R-1"
    assert len(receiver.deliveries) == 2 and len(receiver.events) == 1
    assert hook.find_ticket("gmc-t42") is None and hook.find_message("R-1", "gmc-t42-m1") is None


def test_a_tampered_body_is_refused(receiver, webhook):
    class Tampering(requests.Session):
        """Somebody on the way changes a word after we signed."""

        def post(self, url, data=None, **kwargs):
            return super().post(url, data=data.replace(b"on fire", b"fine!!!"), **kwargs)

    with pytest.raises(HelpdeskRefused) as refused:
        webhook(session=Tampering()).open_ticket(new_ticket())
    assert "answered 400 to ticket.created gmc-t42" in refused.value.reason
    assert "signature does not verify" in refused.value.reason and receiver.events == []


def test_a_2xx_without_json_keeps_our_ticket_id(receiver, webhook):
    receiver.script.append((204, {}, b""))
    receiver.script.append((200, {"Content-Type": "text/plain"}, b"thanks"))
    hook = webhook()
    assert hook.open_ticket(new_ticket()).remote_ticket_id == "42"
    assert hook.add_message("42", message("gmc-t42-m2")).remote_ticket_id == "42"


def test_a_500_and_a_429_are_unavailable_with_their_retry_after(receiver, webhook):
    now = time.time()
    receiver.script += [(500, {}, b"database\nis down"), (429, {"Retry-After": "30"}, b"slow down"),
                        (503, {"Retry-After": formatdate(now + 120, usegmt=True)}, b"")]
    hook = webhook(clock=lambda: now)
    failures = []
    for _ in range(3):
        with pytest.raises(HelpdeskUnavailable) as caught:
            hook.open_ticket(new_ticket())
        failures.append(caught.value)
    assert failures[0].retry_after is None and "answered 500 to ticket.created gmc-t42: database is down" in \
        failures[0].reason
    assert failures[1].retry_after == 30.0
    assert 118 <= failures[2].retry_after <= 121 and "(empty answer)" in failures[2].reason


def test_another_4xx_is_refused_on_one_line_without_the_secret(receiver, webhook):
    receiver.script.append((422, {}, f"bad field\nyou sent secret {SECRET} {'x' * 500}".encode()))
    with pytest.raises(HelpdeskRefused) as refused:
        webhook().add_message("R-1", message())
    reason = refused.value.reason
    assert "\n" not in reason and SECRET not in reason and "answered 422 to comment.added gmc-t42-m1" in reason
    assert len(reason) < 300 and SECRET not in repr(webhook())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_connection_refused_and_timeouts_are_unavailable(receiver, webhook):
    with pytest.raises(HelpdeskUnavailable) as refused:
        webhook(url=f"http://127.0.0.1:{free_port()}/hook").open_ticket(new_ticket())
    assert "cannot reach the webhook at 127.0.0.1: ConnectionError" == refused.value.reason
    receiver.delay = 0.3
    with pytest.raises(HelpdeskUnavailable) as slow:
        webhook(timeout=(1.0, 0.05)).open_ticket(new_ticket())
    assert "did not answer in time" in slow.value.reason
    with pytest.raises(HelpdeskRefused, match="WEBHOOK_URL is not a usable"):
        webhook(url="").open_ticket(new_ticket())


def test_a_big_attachment_travels_as_a_link_and_original_eml_inline(receiver, webhook):
    links = []

    def link_for(attachment_id: int) -> str:
        links.append(attachment_id)
        return f"https://connector.example.com/attachments/{attachment_id}?expires=1714600000&signature=ab12"

    big = FileToDeliver("scan.pdf", "application/pdf", b"%PDF" * 1000, attachment_id=9)
    original = FileToDeliver("original.eml", "message/rfc822", b"X" * 5000)      # no stored attachment
    webhook(link_for=link_for).open_ticket(new_ticket(attachments=[big, original]))

    scan, eml = receiver.events[0]["message"]["attachments"]
    assert links == [9] and scan["content_base64"] is None and scan["size"] == 4000
    assert scan["url"].startswith("https://connector.example.com/attachments/9?")
    assert scan["expires_at"] == "2024-05-01T21:46:40Z"
    assert base64.b64decode(eml["content_base64"]) == b"X" * 5000 and eml["url"] is None


def test_check_pings_and_names_each_problem_on_one_line(receiver, webhook):
    good = webhook().check(["General", "Billing"])
    assert good.problems == [] and good.ok[0] == "127.0.0.1 accepted a signed ping (200)"
    assert receiver.deliveries[-1]["Gmail-Connector-Event"] == "ping"

    wrong = webhook(secret="not-the-receivers").check(["General"])
    assert len(wrong.problems) == 1 and "WEBHOOK_SECRET differs from the receiver's" in wrong.problems[0]

    gone = webhook(url=f"http://127.0.0.1:{free_port()}/hook").check([])
    assert gone.ok == [] and "cannot reach the webhook at 127.0.0.1" in gone.problems[0]
    assert all("\n" not in line for line in good.ok + wrong.problems + gone.problems)


def test_check_refuses_plain_http_to_another_machine_and_an_empty_secret(webhook):
    result = webhook(url=f"http://192.0.2.1:{free_port()}/hook", secret="", timeout=(0.05, 0.05)).check([])
    assert any("WEBHOOK_SECRET is empty" in p for p in result.problems)
    assert any("not https://" in p for p in result.problems)
    assert "not a usable" in webhook(url="ftp://files.example.com/in").check([]).problems[-1]


# The receiver's side: what docs/webhook.md tells it to run.

def test_verify_rejects_an_old_timestamp_and_a_wrong_secret():
    body, now = b'{"id": "gmc-t42"}', 1_714_564_800
    header = signing.sign(SECRET, body, now)
    assert signing.verify(SECRET, body, header, now=now + 299)
    assert not signing.verify(SECRET, body, header, now=now + 301)
    assert not signing.verify("another secret", body, header, now=now)
    assert not signing.verify(SECRET, body + b" ", header, now=now)
    for garbage in ("", None, "v1=abc", f"t=,v1={'0' * 64}", f"t={now}", "t=１２,v1=00"):
        assert not signing.verify(SECRET, body, garbage, now=now)


def test_verify_accepts_a_rotated_secret_among_two_v1_entries():
    body, now = b"{}", 1_714_564_800
    header = signing.sign(["old-secret", "new-secret"], body, now)
    assert header.count("v1=") == 2
    assert signing.verify("new-secret", body, header, now=now) and signing.verify("old-secret", body, header, now=now)
    assert signing.verify(["newer", "new-secret"], body, header, now=now)
    assert not signing.verify("third", body, header, now=now)


def test_the_signature_is_the_documented_hmac():
    import hmac as hmac_module

    body, now = b'{"type":"ping"}', 1_714_564_800
    expected = hmac_module.new(SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    assert signing.sign(SECRET, body, now) == f"t={now},v1={expected}"


def test_an_expires_parameter_that_is_not_a_number_gives_no_expiry(receiver, webhook):
    big = FileToDeliver("scan.pdf", "application/pdf", b"0" * 2000, attachment_id=3)
    webhook(link_for=lambda i: f"https://c.example/a/{i}").open_ticket(new_ticket(attachments=[big]))
    assert receiver.events[0]["message"]["attachments"][0]["expires_at"] is None


# The other end of a link: the admin endpoint serves the file to whoever holds a valid signature.

ADMIN_TOKEN = "admin-token-77aa-do-not-leak"
PAYLOAD = b"%PDF-1.7 quarterly invoice " * 100


@pytest.fixture
def admin(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", admin_token=ADMIN_TOKEN, webhook_secret=SECRET)
    runtime = bootstrap(settings)
    sha256, path = write_attachment(settings.attachments_dir, PAYLOAD)
    with session_scope(runtime.engine) as session:
        ticket = Ticket(subject="Invoice", requester_email="ann@example.com")
        session.add(ticket)
        session.flush()
        comment = Comment(ticket_id=ticket.id, message_id="m1@example.com", body_text="see attached")
        session.add(comment)
        session.flush()
        stored = StoredAttachment(comment_id=comment.id, filename="Facture n°7 \"Q1\".pdf",
                                  content_type="application/pdf", size=len(PAYLOAD), sha256=sha256, path=path)
        session.add(stored)
        session.flush()
        attachment_id = stored.id
    server = AdminServer(create_app(runtime), "127.0.0.1", 0)
    server.start()
    http = requests.Session()          # no Authorization header, ever
    base = f"http://127.0.0.1:{server.port}"
    yield base, http, attachment_id
    http.close()
    server.stop()
    runtime.close()
    runtime.engine.dispose()


def signer(base: str, clock=time.time, secret: str = SECRET):
    return link_signer(secret, base, 3600, clock)


def test_a_signed_link_serves_the_file_without_the_admin_token(admin):
    base, http, attachment_id = admin
    response = http.get(signer(base)(attachment_id), timeout=5)
    assert response.status_code == 200 and response.content == PAYLOAD
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == \
        "attachment; filename=\"Facture n_7 _Q1_.pdf\"; filename*=UTF-8''Facture%20n%C2%B07%20%22Q1%22.pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert http.get(f"{base}/status", timeout=5).status_code == 401      # the rest still needs the token


def test_a_tampered_or_expired_link_is_403_and_an_unknown_id_404(admin):
    base, http, attachment_id = admin
    link = signer(base)(attachment_id)
    tampered = link[:-1] + ("0" if link[-1] != "0" else "1")
    other_id = link.replace(f"/attachments/{attachment_id}?", f"/attachments/{attachment_id + 1}?")
    expired = signer(base, clock=lambda: time.time() - 7200)(attachment_id)
    wrong_key = signer(base, secret="another secret")(attachment_id)
    for url, why in [(tampered, "signature is not valid"), (other_id, "signature is not valid"),
                     (wrong_key, "signature is not valid"), (expired, "expired"),
                     (f"{base}/attachments/{attachment_id}", "signature is not valid")]:
        response = http.get(url, timeout=5)
        assert response.status_code == 403 and why in response.json()["detail"], url
        assert PAYLOAD not in response.content
    assert http.get(signer(base)(999_999), timeout=5).status_code == 404


def test_links_are_made_from_the_settings_only_with_a_secret():
    assert links_for(Settings(webhook_secret="")) is None
    link = links_for(Settings(webhook_secret=SECRET, admin_bind=("::1", 8080)), clock=lambda: 100)(5)
    assert link.startswith("http://[::1]:8080/attachments/5?expires=604900&signature=")
    public = links_for(Settings(webhook_secret=SECRET, admin_public_url="https://c.example.com"), clock=lambda: 100)
    assert public(5).startswith("https://c.example.com/attachments/5?expires=604900&")
    with pytest.raises(ValueError):
        signer("https://c.example.com", secret="")


def test_the_receiver_example_in_the_docs_verifies_like_signing_does():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "webhook.md").read_text(encoding="utf-8")
    example = docs.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(example, namespace)
    body, now = b'{"type":"ping"}', int(time.time())
    assert namespace["verify"](SECRET, body, signing.sign(SECRET, body, now))
    assert namespace["verify"]("new", body, signing.sign(["old", "new"], body, now))
    assert not namespace["verify"]("wrong", body, signing.sign(SECRET, body, now))
    assert not namespace["verify"](SECRET, body, signing.sign(SECRET, body, now - 400))


def test_a_receiver_refusing_our_signature_with_401_is_retried_not_parked(receiver, webhook):
    from connector.helpdesk.port import CredentialsRefused

    receiver.script.append((401, {}, b'{"error": "bad signature"}'))
    with pytest.raises(CredentialsRefused) as refused:
        webhook().open_ticket(new_ticket())
    assert isinstance(refused.value, HelpdeskUnavailable) and "WEBHOOK_SECRET" in refused.value.reason
