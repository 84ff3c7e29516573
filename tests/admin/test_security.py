"""Other sites' pages cannot use the admin API: no DNS rebinding, no cross-site writes, dashboard still works."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from connector.admin.app import create_app
from connector.bootstrap import Runtime
from connector.settings import Settings
from connector.store.db import session_scope
from connector.store.inboxes import get_inbox

from .conftest import ADMIN_TOKEN

INBOX = "help@example.com"
PAUSE = f"/inboxes/{INBOX}/pause"
CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True)
class HostSettings(Settings):
    """Settings with ADMIN_ALLOWED_HOSTS, whether or not connector.settings has the key yet."""
    admin_allowed_hosts: str = ""


def make_runtime(engine, tmp_path, token: str = "", bind: str = "127.0.0.1", hosts: str = "") -> Runtime:
    settings = HostSettings(data_dir=tmp_path / "data", admin_token=token, admin_bind=(bind, 8080),
                            admin_allowed_hosts=hosts)
    return Runtime(settings=settings, engine=engine)


def state(engine) -> str:
    with session_scope(engine) as session:
        return get_inbox(session, INBOX).state


def origin_of(client) -> str:
    return client.base                          # http://127.0.0.1:PORT, the server's own origin


# --- DNS rebinding: the Host header names a foreign site -------------------------------------------

def test_a_rebound_name_cannot_read_tickets_in_the_default_setup(populated, tmp_path, serve):
    client = serve(make_runtime(populated, tmp_path), token=None)
    response = client.get("/tickets", headers={"Host": "rebind.attacker.example"})
    assert response.status_code == 400 and "ADMIN_ALLOWED_HOSTS" in response.json()["detail"]
    assert client.get("/tickets").status_code == 200           # 127.0.0.1:PORT, as the server was reached


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8080", "127.0.0.1:1", "[::1]:8080", "[::1]"])
def test_loopback_names_are_answered(populated, tmp_path, serve, host):
    client = serve(make_runtime(populated, tmp_path), token=None)
    assert client.get("/tickets", headers={"Host": host}).status_code == 200


def test_extra_names_come_from_admin_allowed_hosts(populated, tmp_path, serve):
    client = serve(make_runtime(populated, tmp_path, hosts=" admin.internal , helpdesk.lan:8443"), token=None)
    assert client.get("/tickets", headers={"Host": "admin.internal:8080"}).status_code == 200
    assert client.get("/tickets", headers={"Host": "helpdesk.lan"}).status_code == 200
    assert client.get("/tickets", headers={"Host": "admin.internal.attacker.example"}).status_code == 400


def test_an_open_bind_with_a_token_answers_any_name(populated, tmp_path, serve):
    client = serve(make_runtime(populated, tmp_path, token=ADMIN_TOKEN, bind="0.0.0.0"))
    assert client.get("/tickets", headers={"Host": "helpdesk.example.com"}).status_code == 200
    # ...but the token still decides: the name alone opens nothing.
    assert client.get("/tickets", headers={"Host": "helpdesk.example.com", "Authorization": ""}).status_code == 401


def test_an_open_bind_with_allowed_hosts_answers_only_those(populated, tmp_path, serve):
    client = serve(make_runtime(populated, tmp_path, token=ADMIN_TOKEN, bind="0.0.0.0", hosts="helpdesk.example.com"))
    assert client.get("/tickets", headers={"Host": "helpdesk.example.com"}).status_code == 200
    assert client.get("/tickets", headers={"Host": "other.example.com"}).status_code == 400


def test_a_loopback_bind_with_a_token_still_checks_the_name(populated, tmp_path, serve):
    client = serve(make_runtime(populated, tmp_path, token=ADMIN_TOKEN))
    assert client.get("/status", headers={"Host": "rebind.attacker.example"}).status_code == 400


# --- Cross-site writes ------------------------------------------------------------------------------

@pytest.mark.parametrize("token", ["", ADMIN_TOKEN])
@pytest.mark.parametrize("headers", [
    {"Origin": "http://attacker.example"},
    {"Origin": "http://127.0.0.1:1"},                     # another port on this machine
    {"Origin": "null"},                                   # sandboxed frames, data: pages
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},                      # what a browser says for another localhost port
])
def test_a_cross_site_post_changes_nothing(populated, tmp_path, serve, token, headers):
    client = serve(make_runtime(populated, tmp_path, token=token), token=token or None)
    response = client.post(PAUSE, headers={"Accept": "text/html", **headers})
    assert response.status_code == 403 and "cross-site" in response.json()["detail"]
    assert state(populated) == "active"


def test_a_cross_site_reply_is_not_queued(populated, tmp_path, serve):
    client = serve(make_runtime(populated, tmp_path), token=None)
    response = client.post("/api/tickets/1/replies", json={"body": "phish"},
                           headers={"Origin": "http://attacker.example"})
    assert response.status_code == 403


def test_the_dashboards_own_form_post_still_works(populated, tmp_path, serve):
    client = serve(make_runtime(populated, tmp_path), token=None)
    response = client.post(PAUSE, headers={"Accept": "text/html", "Origin": origin_of(client),
                                           "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 303 and state(populated) == "paused"


def test_the_browser_saying_same_origin_is_believed_over_a_null_origin(populated, tmp_path, serve):
    # What Chromium sends for the dashboard's forms, whose page has Referrer-Policy: no-referrer.
    client = serve(make_runtime(populated, tmp_path), token=None)
    response = client.post(PAUSE, headers={"Accept": "text/html", "Origin": "null", "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 303 and state(populated) == "paused"


def test_scripts_without_an_origin_keep_working(populated, tmp_path, serve):
    client = serve(make_runtime(populated, tmp_path), token=None)
    response = client.post(PAUSE)
    assert response.status_code == 200 and response.json()["state"] == "paused"


def test_cross_site_reads_are_not_refused(populated, tmp_path, serve):
    # A cross-site GET cannot read the answer (no CORS headers), and links from elsewhere must open.
    client = serve(make_runtime(populated, tmp_path), token=None)
    assert client.get("/tickets", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200


# --- The replies route documents every answer -----------------------------------------------------

def test_a_body_that_is_not_utf8_gets_the_documented_400(runtime, serve):
    client = serve(runtime)
    response = client.post("/api/tickets/1/replies", data=b'{"body": "\xff"}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    schema = create_app(Runtime(settings=Settings(data_dir=Path("unused")), engine=None)).openapi()
    assert "400" in schema["paths"]["/api/tickets/{ticket_id}/replies"]["post"]["responses"]


# --- In a real browser --------------------------------------------------------------------------------

@pytest.fixture
def browser_page():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            yield browser.new_page()
        finally:
            browser.close()


@pytest.fixture
def other_port_page():
    """Serves one page on another 127.0.0.1 port: a local app the operator happens to open."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield pages, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/?token={ADMIN_TOKEN}")
    assert page.url == f"{base}/"


def test_pause_on_the_dashboard_pauses_the_inbox(runtime, serve, browser_page):
    base = serve(runtime).base
    sign_in(browser_page, base)
    row = browser_page.locator("tr", has=browser_page.locator(f"td:first-child:text-is('{INBOX}')"))
    row.get_by_role("button", name="Pause").click()
    browser_page.wait_for_url(f"{base}/")
    assert state(runtime.engine) == "paused"
    assert row.get_by_role("button", name="Resume").count() == 1


def test_a_page_on_another_local_port_cannot_pause_an_inbox(runtime, serve, browser_page, other_port_page):
    base = serve(runtime).base
    sign_in(browser_page, base)                  # the cookie is in the jar, SameSite=Strict
    pages, other = other_port_page
    pages["/"] = (f'<form id="f" method="post" action="{base}{PAUSE}"></form>'
                  '<script>document.getElementById("f").submit()</script>').encode()
    with browser_page.expect_response(f"{base}{PAUSE}") as answer:
        browser_page.goto(f"{other}/")
    assert answer.value.status == 403
    assert state(runtime.engine) == "active"
