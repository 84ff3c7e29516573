"""Pages of the status lists: cursors that neither repeat nor skip a row, filters that agree with each row."""
from __future__ import annotations

from datetime import timedelta
from itertools import product

from sqlalchemy import insert
from sqlmodel import select

from connector.admin import cursors
from connector.admin.status import build_status
from connector.admin.status_pages import inbox_page, suspended_page, ticket_page
from connector.store.consent_models import ServiceAccountKey
from connector.store.db import session_scope
from connector.store.helpdesk_models import HelpdeskTicket
from connector.store.models import Comment, Credential, Inbox, RawMail, SuspendedMail, Ticket
from connector.store.status_queries import InboxFilter, SuspendedFilter, TicketFilter

from .conftest import CIPHERTEXT, NOW


def add_inboxes(engine, addresses, **fields) -> list[int]:
    """Their ids, in the order of their addresses."""
    addresses = list(addresses)
    with session_scope(engine) as session:
        session.execute(insert(Inbox), [{"address": a, "created_at": NOW, "updated_at": NOW, **fields}
                                        for a in addresses])
        return list(session.exec(select(Inbox.id).where(Inbox.address.in_(list(addresses))).order_by(Inbox.address)))


def walk(fetch, limit: int) -> list[list[dict]]:
    """Every page of a list, following next_cursor until the last."""
    pages, cursor = [], None
    for _ in range(200):          # a cursor that never moves on must fail the test, not hang it
        page = fetch(cursor, limit)
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("the pages never ended")


def inbox_walk(engine, filters=InboxFilter(), limit=50) -> list[list[dict]]:
    def fetch(cursor, limit):
        with session_scope(engine) as session:
            return inbox_page(session, NOW, filters, cursor, limit)
    return walk(fetch, limit)


def test_walking_the_inbox_pages_visits_every_inbox_once_in_order(engine):
    addresses = [f"inbox{n:03d}@example.com" for n in range(120)]
    add_inboxes(engine, reversed(addresses))
    pages = inbox_walk(engine, limit=50)
    assert [len(page) for page in pages] == [50, 50, 20]
    assert [row["address"] for page in pages for row in page] == addresses


def test_an_inbox_added_between_two_pages_is_neither_repeated_nor_shifts_the_rest(engine):
    add_inboxes(engine, [f"m{n}@example.com" for n in range(6)])
    with session_scope(engine) as session:
        first = inbox_page(session, NOW, limit=3)
    # With OFFSET, an address sorting before the cursor would push m2 onto the second page again.
    add_inboxes(engine, ["a-new@example.com", "z-new@example.com"])
    with session_scope(engine) as session:
        second = inbox_page(session, NOW, cursor=first["next_cursor"], limit=10)
    assert [r["address"] for r in first["items"]] == ["m0@example.com", "m1@example.com", "m2@example.com"]
    assert [r["address"] for r in second["items"]] == ["m3@example.com", "m4@example.com", "m5@example.com",
                                                       "z-new@example.com"]
    assert second["next_cursor"] is None


def test_the_sql_filters_choose_exactly_the_inboxes_whose_row_says_so(engine):
    # Every combination that decides the credential state, as credential_state() reads it in Python.
    combos = list(product(("active", "paused", "needs_reauth", "error"), (False, True),
                          ("authorized_user", "service_account"), (0, 2), (None, "", "rate_limited: quota exceeded")))
    with session_scope(engine) as session:
        session.add(ServiceAccountKey(domain="keyed.example", secret_ciphertext=CIPHERTEXT, client_email="k@x",
                                      client_id="1"))
        for n, (state, own, kind, failures, error) in enumerate(combos):
            # Only the exact domain borrows the key: not a subdomain, not a longer name ending the same way.
            domain = ("keyed.example", "sub.keyed.example", "notkeyed.example")[n % 3]
            inbox = Inbox(address=f"i{n:03d}@{domain}", state=state, credential_kind=kind,
                          consecutive_failures=failures, last_error=error)
            session.add(inbox)
            session.flush()
            if own:
                session.add(Credential(inbox_id=inbox.id, kind=kind, secret_ciphertext=CIPHERTEXT))
    with session_scope(engine) as session:
        status = build_status(session, NOW, limit=None)
    shown = {row["address"]: row["credential"]["state"] for row in status["inboxes"]}
    assert set(shown.values()) == {"ok", "needs_reauth", "error"}
    for credential in ("ok", "needs_reauth", "error"):
        pages = inbox_walk(engine, InboxFilter(credential=credential), limit=7)
        chosen = {r["address"] for page in pages for r in page}
        assert chosen == {a for a, c in shown.items() if c == credential}, credential
    attention = {r["address"] for page in inbox_walk(engine, InboxFilter(attention=True)) for r in page}
    assert attention == {a for a, c in shown.items() if c != "ok"}
    assert status["totals"]["needs_reauth"] == sum(c == "needs_reauth" for c in shown.values())
    assert status["totals"]["needs_attention"] == status["needs_attention"]["count"] == len(attention)
    paused = {r["address"] for page in inbox_walk(engine, InboxFilter(state="paused")) for r in page}
    assert paused == {r["address"] for r in status["inboxes"] if r["state"] == "paused"}


def test_a_service_account_inbox_borrows_only_its_own_domains_key(engine):
    with session_scope(engine) as session:
        session.add(ServiceAccountKey(domain="keyed.example", secret_ciphertext=CIPHERTEXT, client_email="k@x",
                                      client_id="1"))
    add_inboxes(engine, ["a@keyed.example", "b@sub.keyed.example", "c@notkeyed.example"],
                credential_kind="service_account")
    rows = {r["address"]: r["credential"]["state"] for r in inbox_walk(engine)[0]}
    assert rows == {"a@keyed.example": "ok", "b@sub.keyed.example": "needs_reauth",
                    "c@notkeyed.example": "needs_reauth"}


def test_q_matches_address_or_group_in_any_case_and_wildcards_are_literal(engine):
    add_inboxes(engine, ["sales@example.com", "a_b@example.com", "axb@example.com"])
    add_inboxes(engine, ["help@example.com"], group="Sales EMEA")
    found = lambda q: [r["address"] for r in inbox_walk(engine, InboxFilter(q=q))[0]]  # noqa: E731
    assert found("SALES") == ["help@example.com", "sales@example.com"]
    assert found("_") == ["a_b@example.com"]          # not LIKE's any-character
    assert found("%") == []


def add_tickets(engine, inbox_ids) -> list[int]:
    rows = [{"subject": f"ticket {n}", "status": ("new", "open", "solved")[n % 3],
             "requester_email": f"cust{n}@example.org", "requester_name": "Zoë" if n == 4 else "",
             "inbox_id": inbox_ids[n % 2], "created_at": NOW, "updated_at": NOW} for n in range(8)]
    with session_scope(engine) as session:
        session.execute(insert(Ticket), rows)
        return list(session.exec(select(Ticket.id).order_by(Ticket.id)))


def ticket_walk(engine, filters=TicketFilter(), limit=3) -> list[list[dict]]:
    def fetch(cursor, limit):
        with session_scope(engine) as session:
            return ticket_page(session, filters, cursor, limit)
    return walk(fetch, limit)


def test_ticket_pages_newest_first_with_their_counts_links_and_filters(engine):
    inbox_ids = add_inboxes(engine, ["a@example.com", "b@example.com"])
    ids = add_tickets(engine, sorted(inbox_ids))
    with session_scope(engine) as session:
        for k in range(3):
            session.add(Comment(ticket_id=ids[5], message_id=f"c{k}@example.org"))
        session.add(HelpdeskTicket(ticket_id=ids[5], destination="rt", remote_id="77", url="https://rt.example/77"))
    pages = ticket_walk(engine)
    assert [len(p) for p in pages] == [3, 3, 2]
    rows = [row for page in pages for row in page]
    assert [row["id"] for row in rows] == sorted(ids, reverse=True)
    counted = {row["id"]: (row["comment_count"], row["helpdesk"]) for row in rows}
    assert counted[ids[5]] == (3, [{"destination": "rt", "id": "77", "url": "https://rt.example/77"}])
    assert counted[ids[4]] == (0, [])
    solved = [r["id"] for p in ticket_walk(engine, TicketFilter(status="solved"), 1) for r in p]
    assert solved == [ids[5], ids[2]]
    by_inbox = {r["inbox"] for p in ticket_walk(engine, TicketFilter(inbox="B@example.com")) for r in p}
    assert by_inbox == {"b@example.com"}
    assert [r["id"] for p in ticket_walk(engine, TicketFilter(q="CUST7")) for r in p] == [ids[7]]
    assert [r["id"] for p in ticket_walk(engine, TicketFilter(q="zoë")) for r in p] == [ids[4]]


def test_held_back_mail_received_in_the_same_instant_is_paged_by_id_without_loss(engine):
    inbox_id = add_inboxes(engine, ["a@example.com"])[0]
    with session_scope(engine) as session:
        session.execute(insert(RawMail), [{"source": "gmail", "inbox_id": inbox_id, "gmail_id": f"g{n}",
                                           "sha256": "0", "size": 0, "raw": b"", "received_at": NOW}
                                          for n in range(7)])
        raw_ids = list(session.exec(select(RawMail.id).order_by(RawMail.id)))
        at = [NOW] * 5 + [NOW + timedelta(microseconds=1), NOW - timedelta(days=1)]
        session.execute(insert(SuspendedMail), [
            {"raw_mail_id": r, "kind": "bounce" if n % 2 else "auto_reply", "reason": f"why {n}",
             "from_email": f"s{n}@example.org", "subject": f"subject {n}", "received_at": at[n],
             "state": "deleted" if n == 6 else "suspended", "created_at": NOW} for n, r in enumerate(raw_ids)])
        ids = list(session.exec(select(SuspendedMail.id).order_by(SuspendedMail.id)))

    def held(filters=SuspendedFilter(), limit=2):
        def fetch(cursor, limit):
            with session_scope(engine) as session:
                return suspended_page(session, filters, cursor, limit)
        return [row["id"] for page in walk(fetch, limit) for row in page]
    # Newest first; the five of one instant by id, across page boundaries (seconds alone would tie them all).
    assert held() == [ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]]
    assert held(SuspendedFilter(kind="bounce"), 1) == [ids[5], ids[3], ids[1]]
    assert held(SuspendedFilter(q="S2@EXAMPLE")) == [ids[2]]
    assert held(SuspendedFilter(q="why 4")) == [ids[4]]
    assert held(SuspendedFilter(state="deleted")) == [ids[6]]


def test_any_cursor_of_the_right_form_is_a_position_in_its_list(engine):
    add_inboxes(engine, ["a@example.com", "b@example.com", "c@example.com"])
    with session_scope(engine) as session:
        after = lambda cursor: [r["address"] for r in inbox_page(session, NOW, cursor=cursor)["items"]]  # noqa: E731
        assert after(inbox_page(session, NOW, limit=1)["next_cursor"]) == ["b@example.com", "c@example.com"]
        assert after("b") == ["b@example.com", "c@example.com"]          # made by hand: still just a position
        assert after("a@example.com\x00zzz") == ["b@example.com", "c@example.com"]
        assert after("zzz") == []
        assert ticket_page(session, cursor=str(2**40))["next_cursor"] is None   # above every id: from the newest
        for bad in ("abc", "-1", "1.5", ""):
            try:
                ticket_page(session, cursor=bad or "x")
            except cursors.BadCursor:
                continue
            raise AssertionError(f"accepted {bad!r}")
        for bad in ("2024-05-01T12:00:00-3", "noon-3", "12-", "12"):
            try:
                suspended_page(session, cursor=bad)
            except cursors.BadCursor:
                continue
            raise AssertionError(f"accepted {bad!r}")


def test_a_suspended_cursor_keeps_microseconds_and_an_id_above_any_keeps_the_whole_instant(engine):
    at = NOW + timedelta(microseconds=123457)
    assert cursors.after_suspended(cursors.suspended_cursor(at, 42)) == (at, 42)
    assert cursors.after_suspended(cursors.suspended_cursor(at, 2**40)) == (at, None)
    before_1970 = NOW.replace(year=1969)
    assert cursors.after_suspended(cursors.suspended_cursor(before_1970, 7)) == (before_1970, 7)


def test_each_inbox_row_names_the_daemon_holding_its_lease(engine):
    from connector.store.lease_models import InboxLease

    held, lapsed, free = add_inboxes(engine, ["a@example.com", "b@example.com", "c@example.com"])
    with session_scope(engine) as session:
        session.add(InboxLease(inbox_id=held, holder="host-a:1:x", acquired_at=NOW - timedelta(hours=1),
                               expires_at=NOW + timedelta(seconds=90)))
        session.add(InboxLease(inbox_id=lapsed, holder="host-b:2:y", acquired_at=NOW - timedelta(hours=2),
                               expires_at=NOW - timedelta(seconds=1)))
        session.add(InboxLease(inbox_id=free))
    leases = {row["address"]: row["lease"] for row in inbox_walk(engine)[0]}
    assert leases == {
        "a@example.com": {"holder": "host-a:1:x", "since": "2024-05-01T11:00:00Z", "expires_at": "2024-05-01T12:01:30Z",
                          "expired": False},
        "b@example.com": {"holder": "host-b:2:y", "since": "2024-05-01T10:00:00Z", "expires_at": "2024-05-01T11:59:59Z",
                          "expired": True},
        "c@example.com": None}
