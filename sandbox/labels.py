"""A mailbox's labels: Gmail's fixed system labels plus user labels with Gmail's naming rules."""
from __future__ import annotations

from sandbox.errors import ApiError, invalid, not_found

SYSTEM_LABELS = ("INBOX", "UNREAD", "SENT", "DRAFT", "SPAM", "TRASH", "IMPORTANT", "STARRED", "CHAT",
                 "CATEGORY_PERSONAL", "CATEGORY_SOCIAL", "CATEGORY_PROMOTIONS", "CATEGORY_UPDATES",
                 "CATEGORY_FORUMS")
_VISIBILITY = {"messageListVisibility": "show", "labelListVisibility": "labelShow"}
# What Gmail answers for its system labels, in the order it lists them, as in a recorded labels.list
# response: categories and UNREAD carry no visibility fields, TRASH is hidden from the label list.
_HIDE_SHOW = {"messageListVisibility": "hide", "labelListVisibility": "labelShow"}
_SYSTEM_SHAPE = {
    "CATEGORY_PERSONAL": {}, "CATEGORY_SOCIAL": {}, "CATEGORY_FORUMS": {}, "IMPORTANT": _HIDE_SHOW,
    "CATEGORY_UPDATES": {}, "CHAT": _HIDE_SHOW, "SENT": _HIDE_SHOW, "INBOX": _HIDE_SHOW,
    "TRASH": {"messageListVisibility": "hide", "labelListVisibility": "labelHide"},
    "CATEGORY_PROMOTIONS": {}, "DRAFT": _HIDE_SHOW, "SPAM": _HIDE_SHOW, "STARRED": _HIDE_SHOW, "UNREAD": {},
}
# A message's labelIds come in Gmail's own order, not sorted: UNREAD, STARRED and user labels first,
# INBOX last (["UNREAD", "IMPORTANT", "CATEGORY_PERSONAL", "INBOX"]). Code must not rely on any order.
_MESSAGE_RANK = {"UNREAD": 0, "STARRED": 1, "IMPORTANT": 3, "CATEGORY_PERSONAL": 4, "CATEGORY_SOCIAL": 4,
                 "CATEGORY_PROMOTIONS": 4, "CATEGORY_UPDATES": 4, "CATEGORY_FORUMS": 4, "SENT": 5, "DRAFT": 5,
                 "CHAT": 5, "SPAM": 6, "TRASH": 6, "INBOX": 7}


def gmail_order(label_ids) -> list[str]:
    """labelIds as Gmail lists them on a message (user labels, rank 2, by creation number)."""
    def rank(label_id: str) -> tuple[int, int, str]:
        number = label_id.removeprefix("Label_")
        return _MESSAGE_RANK.get(label_id, 2), int(number) if number.isdigit() else 0, label_id
    return sorted(label_ids, key=rank)


def _system(label_id: str) -> dict:
    return {"id": label_id, "name": label_id, **_SYSTEM_SHAPE[label_id], "type": "system"}


def search_form(name: str) -> str:
    """How `label:` names a label: Gmail folds case and treats spaces and slashes as dashes."""
    return name.lower().replace(" ", "-").replace("/", "-")


class LabelSet:
    def __init__(self) -> None:
        self._user: dict[str, dict] = {}
        self._next = 1

    def all(self) -> list[dict]:
        """In Gmail's mixed order: user labels come after the first category, not after the system ones."""
        system = [_system(lid) for lid in _SYSTEM_SHAPE]
        return system[:1] + [dict(label) for label in self._user.values()] + system[1:]

    def exists(self, label_id: str) -> bool:
        return label_id in SYSTEM_LABELS or label_id in self._user

    def get(self, label_id: str) -> dict:
        if label_id in SYSTEM_LABELS:
            return _system(label_id)
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
