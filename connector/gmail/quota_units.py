"""Google's published per-user quota units per Gmail API method (Gmail API reference, "Usage limits").

One table for the whole project: the connector counts what it spends with it, and the sandbox
charges with it (the sandbox's 2026 tier raises messages.get and threads.get).
"""
from __future__ import annotations

GMAIL_UNITS: dict[str, int] = {
    "getProfile": 1, "watch": 100, "stop": 50, "history.list": 2,
    "drafts.create": 10, "drafts.delete": 10, "drafts.get": 5, "drafts.list": 5, "drafts.send": 100,
    "drafts.update": 15,
    "labels.create": 5, "labels.delete": 5, "labels.get": 1, "labels.list": 1, "labels.update": 5,
    "labels.patch": 5,
    "messages.attachments.get": 5, "messages.batchDelete": 50, "messages.batchModify": 50,
    "messages.delete": 10, "messages.get": 5, "messages.import": 25, "messages.insert": 25,
    "messages.list": 5, "messages.modify": 5, "messages.send": 100, "messages.trash": 5, "messages.untrash": 5,
    "threads.delete": 20, "threads.get": 10, "threads.list": 10, "threads.modify": 10, "threads.trash": 10,
    "threads.untrash": 10,
    "settings.filters.create": 5, "settings.filters.delete": 5, "settings.filters.get": 1,
    "settings.filters.list": 1,
    "settings.forwardingAddresses.create": 100, "settings.forwardingAddresses.delete": 5,
    "settings.forwardingAddresses.get": 1, "settings.forwardingAddresses.list": 1,
    "settings.getAutoForwarding": 1, "settings.updateAutoForwarding": 5,
    "settings.sendAs.get": 1, "settings.sendAs.list": 1,
}
