"""A mailbox's labels: Gmail's fixed system labels plus user labels with Gmail's naming rules."""
from __future__ import annotations

from sandbox.errors import ApiError, invalid, not_found

SYSTEM_LABELS = ("INBOX", "UNREAD", "SENT", "DRAFT", "SPAM", "TRASH", "IMPORTANT", "STARRED", "CHAT",
                 "CATEGORY_PERSONAL", "CATEGORY_SOCIAL", "CATEGORY_PROMOTIONS", "CATEGORY_UPDATES",
                 "CATEGORY_FORUMS")
_VISIBILITY = {"messageListVisibility": "show", "labelListVisibility": "labelShow"}


def search_form(name: str) -> str:
    """How `label:` names a label: Gmail folds case and treats spaces and slashes as dashes."""
    return name.lower().replace(" ", "-").replace("/", "-")


class LabelSet:
    def __init__(self) -> None:
        self._user: dict[str, dict] = {}
        self._next = 1

    def all(self) -> list[dict]:
        system = [{"id": lid, "name": lid, "type": "system"} for lid in SYSTEM_LABELS]
        return system + [dict(label) for label in self._user.values()]

    def exists(self, label_id: str) -> bool:
        return label_id in SYSTEM_LABELS or label_id in self._user

    def get(self, label_id: str) -> dict:
        if label_id in SYSTEM_LABELS:
            return {"id": label_id, "name": label_id, "type": "system"}
        if label_id not in self._user:
            raise not_found()
        return dict(self._user[label_id])

    def require(self, label_ids) -> list[str]:
        for label_id in label_ids:
            if not self.exists(label_id):
                raise invalid(f"Invalid label: {label_id}")
        return list(label_ids)

    def create(self, body: dict) -> dict:
        name = str(body.get("name") or "").strip()
        if not name:
            raise invalid("Invalid label name")
        self._check_free(name)
        label = {"id": f"Label_{self._next}", "name": name, "type": "user", **_VISIBILITY}
        for key in ("messageListVisibility", "labelListVisibility", "color"):
            if key in body:
                label[key] = body[key]
        self._next += 1
        self._user[label["id"]] = label
        return dict(label)

    def update(self, label_id: str, body: dict) -> dict:
        label = self._user.get(label_id)
        if label is None:
            raise not_found() if label_id not in SYSTEM_LABELS else invalid("Invalid update request")
        if "name" in body and body["name"] != label["name"]:
            self._check_free(str(body["name"]))
            label["name"] = str(body["name"])
        for key in ("messageListVisibility", "labelListVisibility", "color"):
            if key in body:
                label[key] = body[key]
        return dict(label)

    def delete(self, label_id: str) -> None:
        if label_id in SYSTEM_LABELS:
            raise invalid("Invalid delete request")
        if self._user.pop(label_id, None) is None:
            raise not_found()

    def ids_for_search(self, name: str) -> set[str]:
        wanted = search_form(name)
        found = {lid for lid in SYSTEM_LABELS if lid.lower() == wanted}
        found |= {lid for lid, label in self._user.items() if search_form(label["name"]) == wanted}
        return found

    def _check_free(self, name: str) -> None:
        taken = {lid.lower() for lid in SYSTEM_LABELS} | {l["name"].lower() for l in self._user.values()}
        if name.lower() in taken:
            raise ApiError(409, "Label name exists or conflicts", "duplicate", "ALREADY_EXISTS")
