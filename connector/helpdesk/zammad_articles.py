"""What the Zammad adapter writes on an article: body, sender and type, attachments, and our key markers.

Our idempotency key travels in the article's `message_id` as "<KEY@gmail-connector>"; the first
article of a ticket also carries the ticket's key in `references`, which Zammad's search index
holds (app/models/ticket/search_index.rb indexes every article attribute but message_id_md5),
so `find_ticket` can look it up and then check it exactly on the ticket's own articles.
"""
from __future__ import annotations

import base64
import re
from typing import Any, Iterable

from connector.helpdesk.port import FileToDeliver, HelpdeskMessage, Person

MARKER_DOMAIN = "gmail-connector"
_MARKER = re.compile(r"<([^<>@\s]+)@" + re.escape(MARKER_DOMAIN) + ">")
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')


def marker(key: str) -> str:
    return f"<{key}@{MARKER_DOMAIN}>"


def is_ours(article: dict[str, Any]) -> bool:
    """Written by the connector: only it puts a "@gmail-connector" marker in message_id."""
    return _MARKER.fullmatch(str(article.get("message_id") or "").strip()) is not None


def keys_in(references: Any) -> list[str]:
    return _MARKER.findall(str(references or ""))


def article_fields(message: HelpdeskMessage, *, thread_key: str | None = None,
                   origin_by_id: int | None = None) -> dict[str, Any]:
    """The article of a customer's mail (public email from the Customer) or of a note (internal)."""
    html = bool(message.body_html)
    fields: dict[str, Any] = {
        "body": message.body_html if html else message.body_text,
        "content_type": "text/html" if html else "text/plain",
        # Sender Customer on an email article is incoming mail: Zammad sends nothing for it
        # (ticket/article/enqueue_communicate_email_job.rb); a note is never mailed either.
        "type": "email" if message.public else "note",
        "sender": "Customer" if message.public else "Agent",
        "internal": not message.public,
        "from": address(message.author),
        "message_id": marker(message.key),
        # Zammad's triggers skip articles that say so: the default "auto reply" never answers ours.
        "preferences": {"send-auto-response": False},
        "attachments": [attachment(file) for file in message.attachments],
    }
    if message.cc:
        fields["cc"] = addresses(message.cc)
    if thread_key is not None:
        fields["references"] = marker(thread_key)
    if origin_by_id is not None and message.public:
        fields["origin_by_id"] = origin_by_id      # credited to the customer (needs ticket.agent)
    return fields


def attachment(file: FileToDeliver) -> dict[str, str]:
    """Zammad's documented attachment payload: filename, base64 data and mime-type, names kept as they are."""
    return {"filename": file.filename, "data": base64.b64encode(file.payload).decode("ascii"),
            "mime-type": file.content_type or "application/octet-stream"}


def address(person: Person) -> str:
    """"Name <email>" as Zammad shows it: Unicode kept (not RFC 2047 encoded), quoted only when needed."""
    name = " ".join(person.name.split())
    if not name:
        return person.email
    if _SPECIALS.search(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{person.email}>"


def addresses(people: Iterable[Person]) -> str:
    return ", ".join(address(person) for person in people)


def split_name(person: Person) -> tuple[str, str]:
    """Zammad keeps first and last names apart; the last word is the last name."""
    words = person.name.split()
    if len(words) < 2:
        return (words[0] if words else person.email.partition("@")[0]), ""
    return " ".join(words[:-1]), words[-1]
