"""Every JSON body the sandbox answers is checked against the Gmail discovery document's schemas."""
from __future__ import annotations

import json
import re

import jsonschema
import pytest

from sandbox_world import HELPDESK_DOMAIN, SUPPORT, b64, mail
from sandbox import routes
from sandbox.seed import KINDS, sample_mail

SHARING = ["https://www.googleapis.com/auth/gmail.settings.sharing",
           "https://www.googleapis.com/auth/gmail.settings.basic"]
ERROR_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["error"],
    "properties": {"error": {
        "type": "object", "additionalProperties": False, "required": ["code", "message", "errors", "status"],
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "status": {"type": "string"},
                       "errors": {"type": "array", "minItems": 1, "items": {
                           "type": "object", "additionalProperties": False,
                           "required": ["message", "domain", "reason"],
                           "properties": {k: {"type": "string"} for k in ("message", "domain", "reason")}}}}}},
}


def _convert(node: dict) -> dict:
    """A discovery schema fragment as strict JSON Schema (int64 travels as a decimal string)."""
    if "$ref" in node:
        return {"$ref": f"#/definitions/{node['$ref']}"}
    kind = node.get("type")
    out: dict = {}
    if kind == "object":
        out["type"] = "object"
        out["properties"] = {k: _convert(v) for k, v in node.get("properties", {}).items()}
        extra = node.get("additionalProperties")
        out["additionalProperties"] = _convert(extra) if extra else False
    elif kind == "array":
        out = {"type": "array", "items": _convert(node["items"])}
    elif kind == "string" and node.get("format") in ("int64", "uint64"):
        out = {"type": "string", "pattern": r"^-?\d+$"}
    elif kind == "string" and node.get("format") == "byte":
        out = {"type": "string", "pattern": r"^[A-Za-z0-9_\-]*=*$"}
    elif kind in ("string", "integer", "boolean", "number"):
        out = {"type": kind}
    if "enum" in node:
        out["enum"] = node["enum"]
    return out


@pytest.fixture(scope="module")
def response_schemas():
    doc = routes.discovery_document()
    definitions = {name: _convert(schema) for name, schema in doc["schemas"].items()}
    by_method: dict[str, dict] = {}

    def walk(resource):
        for method in resource.get("methods", {}).values():
            if "response" in method:
                by_method[method["id"].removeprefix("gmail.users.")] = {
                    "$ref": f"#/definitions/{method['response']['$ref']}", "definitions": definitions}
        for child in resource.get("resources", {}).values():
            walk(child)
    walk(doc)
    return by_method


def _exercise_drafts_and_threads(users, ids: list[str]) -> None:
    drafts = users.drafts()
    draft = drafts.create(userId="me", body={"message": {"raw": b64(mail(to="x@example.org"))}}).execute()
    drafts.update(userId="me", id=draft["id"], body={"message": {"raw": b64(mail(to="y@example.org"))}}).execute()
    drafts.get(userId="me", id=draft["id"]).execute()
    drafts.list(userId="me").execute()
    drafts.send(userId="me", body={"id": draft["id"]}).execute()
    users.threads().modify(userId="me", id=ids[0], body={"addLabelIds": ["STARRED"]}).execute()
    users.threads().trash(userId="me", id=ids[0]).execute()
    users.threads().untrash(userId="me", id=ids[0]).execute()
    thread_id = users.messages().get(userId="me", id=ids[2]).execute()["threadId"]
    users.threads().delete(userId="me", id=thread_id).execute()
    users.messages().batchDelete(userId="me", body={"ids": [ids[4]]}).execute()


def _exercise(sandbox, gmail, admin, smtp_sink):
    """One pass over every method the sandbox serves, including some of their errors."""
    users, core = gmail.users(), sandbox.core
    cursor = users.getProfile(userId="me").execute()["historyId"]
    ids = [core.deliver(SUPPORT, sample_mail(kind)) for kind in KINDS]
    users.watch(userId="me", body={"topicName": "projects/p/topics/t"}).execute()
    users.stop(userId="me").execute()
    label = users.labels().create(userId="me", body={"name": "Helpdesk/Imported"}).execute()
    users.labels().get(userId="me", id=label["id"]).execute()
    users.labels().get(userId="me", id="INBOX").execute()
    users.labels().list(userId="me").execute()
    users.labels().patch(userId="me", id=label["id"], body={"name": "Helpdesk/Done"}).execute()
    users.labels().update(userId="me", id=label["id"], body={"id": label["id"], "name": "Helpdesk/Closed"}).execute()
    users.messages().list(userId="me", maxResults=2, q="-in:sent").execute()
    for fmt in ("minimal", "metadata", "full", "raw"):
        users.messages().get(userId="me", id=ids[1], format=fmt).execute()
    full = users.messages().get(userId="me", id=ids[1]).execute()
    attachment = next(p for p in full["payload"]["parts"] if p["filename"])
    users.messages().attachments().get(userId="me", messageId=ids[1], id=attachment["body"]["attachmentId"]).execute()
    users.messages().modify(userId="me", id=ids[0], body={"addLabelIds": [label["id"]]}).execute()
    users.messages().batchModify(userId="me", body={"ids": ids, "removeLabelIds": ["UNREAD"]}).execute()
    users.messages().trash(userId="me", id=ids[4]).execute()
    users.messages().untrash(userId="me", id=ids[4]).execute()
    users.messages().insert(userId="me", body={"raw": b64(mail()), "labelIds": ["INBOX"]}).execute()
    users.messages().import_(userId="me", body={"raw": b64(mail())}).execute()
    users.messages().send(userId="me", body={"raw": b64(mail(to="x@example.org"))}).execute()
    users.messages().delete(userId="me", id=ids[3]).execute()
    users.threads().list(userId="me").execute()
    users.threads().get(userId="me", id=ids[0]).execute()
    users.threads().get(userId="me", id=ids[0], format="metadata").execute()
    _exercise_drafts_and_threads(users, ids)
    users.history().list(userId="me", startHistoryId=cursor).execute()
    settings, admin_settings = users.settings(), admin.users().settings()
    target = f"tickets@{HELPDESK_DOMAIN}"
    admin_settings.forwardingAddresses().create(userId="me", body={"forwardingEmail": target}).execute()
    admin_settings.forwardingAddresses().create(userId="me", body={"forwardingEmail": "t@masociete.com"}).execute()
    settings.forwardingAddresses().list(userId="me").execute()
    settings.forwardingAddresses().get(userId="me", forwardingEmail=target).execute()
    rule = settings.filters().create(userId="me", body={"criteria": {"from": "a@b.c", "hasAttachment": True},
                                                        "action": {"forward": "t@masociete.com"}}).execute()
    settings.filters().list(userId="me").execute()
    settings.filters().get(userId="me", id=rule["id"]).execute()
    settings.getAutoForwarding(userId="me").execute()
    admin_settings.updateAutoForwarding(userId="me", body={"enabled": True, "emailAddress": "t@masociete.com",
                                                           "disposition": "archive"}).execute()
    settings.getAutoForwarding(userId="me").execute()
    settings.sendAs().list(userId="me").execute()
    settings.sendAs().get(userId="me", sendAsEmail=SUPPORT).execute()
    settings.filters().delete(userId="me", id=rule["id"]).execute()
    admin_settings.forwardingAddresses().delete(userId="me", forwardingEmail=target).execute()
    users.labels().delete(userId="me", id=label["id"]).execute()
    for failing in (users.messages().get(userId="me", id="0000000000000000"),
                    users.labels().create(userId="me", body={"name": "INBOX"}),
                    users.history().list(userId="me", startHistoryId="1"),
                    settings.filters().create(userId="me", body={"criteria": {"to": "x"},
                                                                 "action": {"forward": "nobody@else.org"}}),
                    settings.forwardingAddresses().create(userId="me", body={"forwardingEmail": target})):
        with pytest.raises(Exception):
            failing.execute()


def test_every_response_body_matches_its_discovery_schema(sandbox, connect, smtp_sink, response_schemas):
    recorded: list[tuple[str, int, dict]] = []
    sandbox.app.observers.append(lambda name, r: recorded.append(
        (name, r.status, json.loads(r.body) if r.body else None)))
    _exercise(sandbox, connect(SUPPORT), connect(SUPPORT, service_account_scopes=SHARING), smtp_sink)
    served_ok, validators = set(), {}
    for name, status, body in recorded:
        key = "error" if status >= 400 else name
        if body is None:
            continue
        if key not in validators:      # building a validator checks the schema: once per method is enough
            validators[key] = jsonschema.Draft7Validator(ERROR_SCHEMA if key == "error" else response_schemas[name])
        validators[key].validate(body)
        if key != "error":
            served_ok.add(name)
    bodied = {n for _, _, n, _ in routes.TABLE if n in response_schemas}
    assert bodied - served_ok == set(), "methods never exercised with a 200 body"
    assert {s for _, s, _ in recorded if s >= 400} == {400, 403, 404, 409}


def test_converted_schema_rejects_invented_fields_and_numeric_ids(response_schemas):
    schema = response_schemas["messages.get"]
    jsonschema.validate({"id": "1", "historyId": "42"}, schema)
    for bad in ({"id": "1", "invented": True}, {"id": "1", "historyId": 42}, {"id": 1}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    assert re.match(schema["definitions"]["Message"]["properties"]["internalDate"]["pattern"], "1700000000000")
