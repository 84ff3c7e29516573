"""What the connector's RT user can do in a queue, as REST 2.0 shows it (and nothing more)."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from connector.helpdesk.rt_requests import RTClient

TICKET_FIELD = "RT::Queue-RT::Ticket"                       # a ticket custom field's LookupType
MESSAGE_FIELD = "RT::Queue-RT::Ticket-RT::Transaction"      # a transaction custom field's


@dataclass(frozen=True)
class Queue:
    id: int
    name: str
    can_create: bool                                        # the queue's `create` hyperlink: CreateTicket
    fields: dict[tuple[str, str], str]                      # (name, LookupType) -> id

    def field(self, name: str, lookup_type: str) -> str | None:
        return self.fields.get((name, lookup_type))


class Queues:
    """Queue lookups, kept once a queue is usable (create right, both key fields applied)."""

    def __init__(self, rt: RTClient, key_field: str, message_key_field: str):
        self._rt, self._usable = rt, {}
        self._needed = ((key_field, TICKET_FIELD), (message_key_field, MESSAGE_FIELD))

    def lookup(self, name: str) -> Queue | None:
        """The queue as RT_USER sees it; None when it does not exist or RT_USER may not SeeQueue
        (RT answers 403 to both)."""
        if name in self._usable:
            return self._usable[name]
        response = self._rt.request("GET", f"/queue/{quote(name, safe='')}", ok=(200, 403, 404))
        if response.status_code != 200:
            return None
        data = self._rt.json(response)
        links = {link.get("ref") for link in data.get("_hyperlinks") or []}
        listing = self._rt.get(f"/queue/{int(data['id'])}/customfields",
                               {"fields": "Name,LookupType", "per_page": 100})
        fields = {(item.get("Name"), item.get("LookupType")): str(item.get("id"))
                  for item in listing.get("items") or []}
        queue = Queue(id=int(data["id"]), name=str(data.get("Name", name)), can_create="create" in links,
                      fields=fields)
        if queue.can_create and all(queue.field(*needed) for needed in self._needed):
            self._usable[name] = queue
        return queue

    def forget(self) -> None:
        self._usable.clear()

