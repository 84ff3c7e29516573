"""The dashboard in headless Chromium, against a daemon syncing the Gmail sandbox: what a person sees."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from connector import demo_mail
from connector.admin.app import create_app
from connector.admin.server import AdminServer
from connector.gmail.usage import ApiUsage
from connector.bootstrap import Runtime
from connector.gmail.google import GoogleGmail
from oauth.gmail_access import token_failure
from connector.store.db import session_scope
from connector.store.forwarding_models import ExternalAddress
from connector.store.inboxes import get_inbox
from connector.store.models import Ticket
from connector.store.outbound_models import OutgoingMail
from connector.store.types import utcnow
from jobs.daemon import Daemon
from tests.sync.conftest import BILLING, CUSTOMER, SUPPORT, connect, control, make_runtime, sandbox  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "browser-test-admin-token"
EVIL = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">"
WAIT_SECONDS = 30

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


@dataclass
class MeteredRuntime(Runtime):
    """The wiring proposed for bootstrap: each inbox's adapter reports its calls to one ApiUsage."""
    usage: ApiUsage = field(default_factory=ApiUsage)

    def open_gateway(self, address: str):
        return GoogleGmail(self.credentials_for(address), self.settings.gmail_api_endpoint, timeout=10,
                           sleep=lambda _: None, on_call=self.usage.recorder(address), on_token_failure=token_failure)


def hostile_mail() -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Mallory <{CUSTOMER}>", SUPPORT, EVIL
    msg["Message-ID"] = "<evil-1@gmail.com>"
    msg.set_content("Please help: " + EVIL)
    return msg.as_bytes()


def wait_for(check, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def inbox_state(runtime, address: str) -> tuple[str, bool]:
    with session_scope(runtime.engine) as session:
        inbox = get_inbox(session, address)
        return inbox.state, inbox.last_success_at is not None


def add_forwarding_and_outgoing(runtime) -> None:
    """What the forwarding and outgoing-mail jobs leave behind: one failure, one pending confirmation."""
    with session_scope(runtime.engine) as session:
        session.add(ExternalAddress(external_address="facturation@masociete.com", support_address="billing-fwd@help.example",
                                    group="Billing", state="failed", last_check_at=utcnow() - timedelta(minutes=3),
                                    failure_reason="the filter forwarding facturation@masociete.com's mail was deleted in Gmail"))
        session.add(ExternalAddress(external_address="contact@masociete.com", support_address="contact-fwd@help.example",
                                    state="awaiting_confirmation", confirmation_code="618033988",
                                    confirmation_link="https://mail-settings.google.com/mail/vf-abc"))
        ticket = session.exec(Ticket.__table__.select().limit(1)).first()
        session.add(OutgoingMail(ticket_id=ticket.id, from_address=SUPPORT, message_id="out-1@help.example",
                                 to_addresses=CUSTOMER, subject="Re: your order", state="failed",
                                 last_error="smtp relay refused: 550 5.7.1 sender not allowed"))


@dataclass
class Live:
    url: str
    subjects: list[str]


@pytest.fixture
def live(tmp_path, sandbox):
    base = make_runtime(tmp_path, sandbox, admin_token=TOKEN, poll_interval_seconds=60)
    runtime = MeteredRuntime(settings=base.settings, engine=base.engine)
    for raw in [*demo_mail.demo_inbox_mail(SUPPORT), hostile_mail()]:
        sandbox.core.deliver(SUPPORT, raw)
    sandbox.core.deliver(BILLING, demo_mail.customer_mail(BILLING, 9))
    connect(runtime, sandbox, SUPPORT)
    connect(runtime, sandbox, BILLING, group="Billing")
    daemon = Daemon(runtime)
    daemon.start()
    admin = AdminServer(create_app(runtime, daemon), "127.0.0.1", 0)
    try:
        admin.start()
        wait_for(lambda: inbox_state(runtime, SUPPORT)[1] and inbox_state(runtime, BILLING)[1], "a first pass")
        # The grant is withdrawn in Google's account page; the next pass finds out.
        control(sandbox, "revoke", {"mailbox": BILLING})
        daemon.sync_now(BILLING)
        wait_for(lambda: inbox_state(runtime, BILLING)[0] == "needs_reauth", "billing to need consent")
        add_forwarding_and_outgoing(runtime)
        yield Live(f"http://127.0.0.1:{admin.port}", ticket_subjects(runtime))
    finally:
        admin.stop()
        daemon.stop(wait=True)
        runtime.engine.dispose()


@pytest.fixture
def page():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 900})
        finally:
            browser.close()


def row_text(page, first_cell: str) -> str:
    """The text of the table row whose first cell is exactly `first_cell`."""
    row = page.locator("tr", has=page.locator(f"td:first-child:text-is('{first_cell}')"))
    assert row.count() == 1, first_cell
    return row.inner_text()


def section_text(page, heading: str) -> str:
    """Everything between a heading and the next one."""
    return page.evaluate("""heading => {
        const h = [...document.querySelectorAll('h2')].find(e => e.textContent === heading);
        let text = '';
        for (let e = h.nextElementSibling; e && e.tagName !== 'H2'; e = e.nextElementSibling) text += e.innerText + '\\n';
        return text;
    }""", heading)


def ticket_subjects(runtime) -> list[str]:
    with session_scope(runtime.engine) as session:
        return [subject for (subject,) in session.exec(Ticket.__table__.select().with_only_columns(Ticket.subject))]


def test_a_person_sees_what_needs_doing(live, page, tmp_path):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live.url}/?token={TOKEN}")
    assert page.url == f"{live.url}/"                # the token left the address bar for a cookie
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    billing = row_text(page, BILLING)
    assert "needs re-authorisation" in billing and "Sync now" not in billing
    assert "Google refused the stored grant" in billing                    # and why
    assert "after consent is given again" in billing
    assert f"gmail-connector auth add {BILLING} --client-secrets client_secret.json" in billing
    support = row_text(page, SUPPORT)
    assert "ok" in support and "not measured" not in support   # quota units were counted

    tickets = section_text(page, "Tickets")
    assert all(subject in tickets for subject in live.subjects) and len(live.subjects) >= 5
    held = section_text(page, "Held-back mail")
    assert "Automatic reply: your request" in held and "Delivery Status Notification (Failure)" in held
    assert "auto-reply" in held and "bounce" in held     # each with the reason it was held back

    assert EVIL in tickets                        # hostile text shown as text...
    assert page.locator("script").count() == 0    # ...never as markup
    assert page.evaluate("window.pwned === undefined") and dialogs == []

    forwarding = row_text(page, "facturation@masociete.com")
    assert "failed" in forwarding and "was deleted in Gmail" in forwarding
    pending = row_text(page, "contact@masociete.com")
    assert "awaiting Google's confirmation" in pending and "618033988" in pending
    outgoing = section_text(page, "Outgoing mail")
    assert "1 failed to send" in outgoing and "550 5.7.1 sender not allowed" in outgoing
