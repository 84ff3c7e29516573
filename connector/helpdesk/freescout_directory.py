"""FreeScout's mailboxes (our queues) and the user the connector's notes and status changes are credited to.

HELPDESK_QUEUES may name a mailbox by id, name or address; GET /api/mailboxes resolves it
(https://api-docs.freescout.net/#list-mailboxes). FreeScout's API key belongs to no user, yet a
note needs `user` and a status change `byUser` (https://api-docs.freescout.net/#create-thread,
#update-conversation): they are credited to the given user, else to the oldest administrator.
"""
from __future__ import annotations

from connector.helpdesk.freescout_api import FreeScoutApi
from connector.helpdesk.port import HelpdeskRefused


class Directory:
    def __init__(self, api: FreeScoutApi, user: str | int | None = None):
        self._api = api
        self._wanted_user = str(user).strip() if user not in (None, "") else ""
        self._mailboxes: list[dict] | None = None
        self._user: dict | None = None

    def mailboxes(self, *, fresh: bool = False) -> list[dict]:
        if self._mailboxes is None or fresh:
            self._mailboxes = list(self._api.pages("/api/mailboxes", "mailboxes"))
        return self._mailboxes

    def mailbox(self, queue: str) -> dict | None:
        """The mailbox a queue names; the list is read again once when it names none (a mailbox just made)."""
        for fresh in (False, True):
            found = _match(self.mailboxes(fresh=fresh), queue)
            if found is not None:
                return found
        return None

    def user(self) -> dict:
        if self._user is None:
            self._user = self._find_user()
        return self._user

    def user_id(self) -> int:
        return int(self.user()["id"])

    def forget(self) -> None:
        self._mailboxes = self._user = None

    def _find_user(self) -> dict:
        wanted = self._wanted_user.lower()
        if wanted and not wanted.isdigit():
            users = list(self._api.pages("/api/users", "users", {"email": wanted}, max_pages=1))
        else:
            users = list(self._api.pages("/api/users", "users"))
        if wanted:
            found = [u for u in users if wanted in (str(u.get("id")), str(u.get("email", "")).lower())]
            if not found:
                raise HelpdeskRefused(f"FreeScout has no user {wanted} to credit the connector's notes to")
            return found[0]
        admins = sorted((u for u in users if u.get("role") == "admin"), key=lambda u: int(u.get("id") or 0))
        if not admins:
            raise HelpdeskRefused("FreeScout lists no administrator to credit the connector's notes and status "
                                  "changes to (GET /api/users)")
        return admins[0]


def _match(mailboxes: list[dict], queue: str) -> dict | None:
    wanted = (queue or "").strip()
    for mailbox in mailboxes:
        if wanted == str(mailbox.get("id")):
            return mailbox
    folded = wanted.casefold()
    for mailbox in mailboxes:
        if folded in (str(mailbox.get("name", "")).casefold(), str(mailbox.get("email", "")).casefold()):
            return mailbox
    return None


def describe(mailbox: dict) -> str:
    return f"mailbox #{mailbox.get('id')} {mailbox.get('name', '?')} <{mailbox.get('email', '?')}>"
