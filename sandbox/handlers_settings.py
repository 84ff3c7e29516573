"""Gmail's users.settings methods: forwarding addresses, filters, auto-forwarding, sendAs."""
from __future__ import annotations

from sandbox.call import Call
from sandbox.errors import invalid, not_found


def _settings(call: Call):
    return call.core.settings[call.box.address]


def list_forwarding(call: Call) -> dict:
    settings = _settings(call)
    found = [settings.forwarding_json(email) for email in settings.forwarding]
    return {"forwardingAddresses": found} if found else {}


def get_forwarding(call: Call) -> dict:
    return _settings(call).forwarding_json(call.args["forwardingEmail"])


def create_forwarding(call: Call) -> dict:
    call.require_delegation()
    email = str(call.body.get("forwardingEmail") or "").strip()
    if "@" not in email:
        raise invalid("Invalid forwarding email address")
    return call.core.create_forwarding(call.box.address, email)


def delete_forwarding(call: Call) -> None:
    call.require_delegation()
    _settings(call).delete_forwarding(call.args["forwardingEmail"])


def list_filters(call: Call) -> dict:
    found = list(_settings(call).filters.values())
    return {"filter": found} if found else {}


def get_filter(call: Call) -> dict:
    return _settings(call).get_filter(call.args["id"])


def create_filter(call: Call) -> dict:
    return _settings(call).create_filter(call.body, call.box.labels)


def delete_filter(call: Call) -> None:
    _settings(call).delete_filter(call.args["id"])


def get_auto_forwarding(call: Call) -> dict:
    return dict(_settings(call).auto_forwarding)


def update_auto_forwarding(call: Call) -> dict:
    call.require_delegation()
    return dict(_settings(call).update_auto_forwarding(call.body))


def list_send_as(call: Call) -> dict:
    return {"sendAs": _settings(call).send_as()}


def get_send_as(call: Call) -> dict:
    for entry in _settings(call).send_as():
        if entry["sendAsEmail"] == call.args["sendAsEmail"].lower():
            return entry
    raise not_found()
