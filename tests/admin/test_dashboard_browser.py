"""The dashboard in headless Chromium, against a daemon syncing the Gmail sandbox: what a person sees."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlmodel import select

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
from connector.store.models import Comment, StoredAttachment, Ticket
from connector.store.outbound_models import OutgoingMail
from connector.store.types import utcnow
from jobs.daemon import Daemon
from tests.sync.conftest import BILLING, CUSTOMER, SUPPORT, connect, control, make_runtime, sandbox  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "browser-test-admin-token"
WEBHOOK_SECRET = "browser-test-webhook-secret"   # signs the ticket page's attachment links
EVIL = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">"
WAIT_SECONDS = 30

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
Axe = pytest.importorskip("axe_playwright_python.sync_playwright",
                          reason="axe-playwright-python is not installed (pip install -e '.[test]')").Axe
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
    engine: object = None


@pytest.fixture
def live(tmp_path, sandbox):
    base = make_runtime(tmp_path, sandbox, admin_token=TOKEN, poll_interval_seconds=60, webhook_secret=WEBHOOK_SECRET)
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
        yield Live(f"http://127.0.0.1:{admin.port}", ticket_subjects(runtime), runtime.engine)
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


WIDTHS = {"desktop": 1280, "phone": 375}
# axe-core's two worst impacts; "moderate" and "minor" findings are printed but do not fail the run.
BLOCKING = ("serious", "critical")


ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "dashboard"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """tests/artifacts/dashboard: kept after the run (pytest's tmp dirs rotate away), never committed."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # The folder ignores itself, so a run never leaves files for `git add` to pick up.
    (ARTIFACTS.parent / ".gitignore").write_text("*\n")
    return ARTIFACTS


def ticket_to_show(runtime_url_engine) -> int:
    """A ticket with an attachment, given a sent reply beside the failed one the fixture left."""
    with session_scope(runtime_url_engine) as session:
        ticket_id = session.exec(select(Comment.ticket_id).join(StoredAttachment, StoredAttachment.comment_id == Comment.id)
                                 .order_by(Comment.ticket_id)).first()
        session.add(OutgoingMail(ticket_id=ticket_id, from_address=SUPPORT, message_id="out-2@help.example",
                                 to_addresses=CUSTOMER, subject="Re: export stops at 99%", state="sent",
                                 transport="gmail", sent_at=utcnow() - timedelta(minutes=1), attempts=1))
        return ticket_id


def axe_blocking(page) -> list[str]:
    results = Axe().run(page).response
    for v in results["violations"]:
        print(f"axe {v['impact']}: {v['id']} ({len(v['nodes'])}): {v['help']}")
    return [f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results["violations"] if v["impact"] in BLOCKING]


def test_every_page_reads_well_on_a_desktop_and_a_phone(live, page, screenshots):
    """Dashboard, inbox, ticket and search pages at 1280 and 375 px: no sideways scroll, no serious axe finding."""
    page.goto(f"{live.url}/?token={TOKEN}")
    ticket_id = ticket_to_show(live.engine)
    paths = {"dashboard": "/", "inbox": f"/dashboard/inboxes/{SUPPORT}", "ticket": f"/dashboard/tickets/{ticket_id}",
             "search": "/dashboard/search?q=masociete"}
    findings = {}
    for device, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in paths.items():
            page.goto(live.url + path)
            page.screenshot(path=str(screenshots / f"{name}-{device}.png"), full_page=True)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"{name} is {wide} px wide at {width} px: the page scrolls sideways"
            findings[f"{name} at {width} px"] = axe_blocking(page)
    assert findings == {key: [] for key in findings}


def test_the_charts_and_pages_say_what_they_show(live, page):
    page.goto(f"{live.url}/?token={TOKEN}")
    charts = page.locator("svg[role=img]")
    assert charts.count() == 5
    for n in range(5):           # every picture is named by its own <title> and <desc>
        label = charts.nth(n).get_attribute("aria-labelledby").split()
        assert all(page.locator(f"[id='{i}']").count() == 1 for i in label)
    hourly = page.locator("#chart-hourly")
    imported = sum(int(cell) for cell in hourly.locator("tbody td.num").all_text_contents())
    assert imported == len(live.subjects) + 3    # every ticket's mail, the auto-reply, the bounce, billing's
    assert f"{imported} mails imported in the last 24 hours" in hourly.inner_text()
    assert "auto reply" in page.locator("#chart-held").inner_text()

    page.keyboard.press("Tab")   # the first stop is the skip link, and it leads to the content
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    page.fill("#q", "Mallory")   # the hostile ticket's requester
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/search?q=Mallory")
    page.locator("a.ticket", has_text="window.pwned").first.click()
    assert "Please help: " + EVIL in page.locator("article.message pre").first.inner_text()
    assert page.locator("script").count() == 0 and page.evaluate("window.pwned === undefined")
