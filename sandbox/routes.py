"""The Gmail route table: (HTTP method, path pattern) -> Gmail method name and handler, plus its scopes."""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import unquote

from sandbox import handlers_drafts as dr
from sandbox import handlers_mailbox as mb
from sandbox import handlers_messages as msg
from sandbox import handlers_settings as st
from sandbox import handlers_threads as th

U = "/gmail/v1/users/{userId}"
TABLE: tuple[tuple[str, str, str, Callable], ...] = (
    ("GET", U + "/profile", "getProfile", mb.get_profile),
    ("POST", U + "/watch", "watch", mb.watch),
    ("POST", U + "/stop", "stop", mb.stop),
    ("GET", U + "/history", "history.list", mb.list_history),
    ("GET", U + "/labels", "labels.list", mb.list_labels),
    ("POST", U + "/labels", "labels.create", mb.create_label),
    ("GET", U + "/labels/{id}", "labels.get", mb.get_label),
    ("PUT", U + "/labels/{id}", "labels.update", mb.update_label),
    ("PATCH", U + "/labels/{id}", "labels.patch", mb.update_label),
    ("DELETE", U + "/labels/{id}", "labels.delete", mb.delete_label),
    ("GET", U + "/messages", "messages.list", msg.list_messages),
    ("POST", U + "/messages", "messages.insert", msg.insert_message),
    ("POST", U + "/messages/import", "messages.import", msg.import_message),
    ("POST", U + "/messages/send", "messages.send", msg.send_message),
    ("POST", U + "/messages/batchModify", "messages.batchModify", msg.batch_modify),
    ("POST", U + "/messages/batchDelete", "messages.batchDelete", th.batch_delete),
    ("GET", U + "/messages/{id}", "messages.get", msg.get_message),
    ("DELETE", U + "/messages/{id}", "messages.delete", msg.delete_message),
    ("POST", U + "/messages/{id}/modify", "messages.modify", msg.modify_message),
    ("POST", U + "/messages/{id}/trash", "messages.trash", msg.trash_message),
    ("POST", U + "/messages/{id}/untrash", "messages.untrash", msg.untrash_message),
    ("GET", U + "/messages/{messageId}/attachments/{id}", "messages.attachments.get", msg.get_attachment),
    ("GET", U + "/threads", "threads.list", mb.list_threads),
    ("GET", U + "/threads/{id}", "threads.get", mb.get_thread),
    ("DELETE", U + "/threads/{id}", "threads.delete", th.delete_thread),
    ("POST", U + "/threads/{id}/modify", "threads.modify", th.modify_thread),
    ("POST", U + "/threads/{id}/trash", "threads.trash", th.trash_thread),
    ("POST", U + "/threads/{id}/untrash", "threads.untrash", th.untrash_thread),
    ("GET", U + "/drafts", "drafts.list", dr.list_drafts),
    ("POST", U + "/drafts", "drafts.create", dr.create_draft),
    ("POST", U + "/drafts/send", "drafts.send", dr.send_draft),
    ("GET", U + "/drafts/{id}", "drafts.get", dr.get_draft),
    ("PUT", U + "/drafts/{id}", "drafts.update", dr.update_draft),
    # UPLOADS below are all POSTs; drafts.update uploads its message with a PUT.
    ("PUT", "/upload" + U + "/drafts/{id}", "drafts.update", dr.update_draft),
    ("DELETE", U + "/drafts/{id}", "drafts.delete", dr.delete_draft),
    ("GET", U + "/settings/forwardingAddresses", "settings.forwardingAddresses.list", st.list_forwarding),
    ("POST", U + "/settings/forwardingAddresses", "settings.forwardingAddresses.create", st.create_forwarding),
    ("GET", U + "/settings/forwardingAddresses/{forwardingEmail}", "settings.forwardingAddresses.get",
     st.get_forwarding),
    ("DELETE", U + "/settings/forwardingAddresses/{forwardingEmail}", "settings.forwardingAddresses.delete",
     st.delete_forwarding),
    ("GET", U + "/settings/filters", "settings.filters.list", st.list_filters),
    ("POST", U + "/settings/filters", "settings.filters.create", st.create_filter),
    ("GET", U + "/settings/filters/{id}", "settings.filters.get", st.get_filter),
    ("DELETE", U + "/settings/filters/{id}", "settings.filters.delete", st.delete_filter),
    ("GET", U + "/settings/autoForwarding", "settings.getAutoForwarding", st.get_auto_forwarding),
    ("PUT", U + "/settings/autoForwarding", "settings.updateAutoForwarding", st.update_auto_forwarding),
    ("GET", U + "/settings/sendAs", "settings.sendAs.list", st.list_send_as),
    ("GET", U + "/settings/sendAs/{sendAsEmail}", "settings.sendAs.get", st.get_send_as),
)
# Media uploads carry the message itself; they reach the same handlers.
UPLOADS = {"/upload" + U + "/messages": "messages.insert", "/upload" + U + "/messages/import": "messages.import",
           "/upload" + U + "/messages/send": "messages.send", "/upload" + U + "/drafts": "drafts.create",
           "/upload" + U + "/drafts/send": "drafts.send"}


@dataclass(frozen=True)
class Route:
    http_method: str
    pattern: re.Pattern
    name: str
    handler: Callable

    @property
    def scopes(self) -> frozenset[str]:
        return method_scopes()[self.name]


def _compile(path: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")


@functools.cache
def routes() -> tuple[Route, ...]:
    table = [Route(m, _compile(p), n, h) for m, p, n, h in TABLE]
    handlers = {n: h for _, _, n, h in TABLE}
    table += [Route("POST", _compile(p), n, handlers[n]) for p, n in UPLOADS.items()]
    return tuple(table)


def match(http_method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """The route, its path arguments, and whether the path exists for some other HTTP method."""
    path_known = False
    for route in routes():
        found = route.pattern.match(path)
        if found:
            path_known = True
            if route.http_method == http_method:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}, True
    return None, {}, path_known


def discovery_document() -> dict:
    import googleapiclient
    path = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "gmail.v1.json"
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def method_scopes() -> dict[str, frozenset[str]]:
    """Per-method scope lists, straight from the discovery document the Google client ships."""
    found: dict[str, frozenset[str]] = {}

    def walk(resource: dict) -> None:
        for method in resource.get("methods", {}).values():
            found[method["id"].removeprefix("gmail.users.")] = frozenset(method.get("scopes", []))
        for child in resource.get("resources", {}).values():
            walk(child)
    walk(discovery_document())
    return found
