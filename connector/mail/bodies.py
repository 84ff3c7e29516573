"""Walk the MIME tree: which parts are the text and HTML bodies, which are attachments."""
from __future__ import annotations

from dataclasses import dataclass, field

from connector.mail.attachments import FilePart, disposition, part_filename, payload_bytes
from connector.mail.charsets import decode_text
from connector.mail.file_types import type_of
from connector.mail.mime import MailPart
from connector.mail.tnef import is_tnef, unpack_tnef
from connector.mail.uuencode import split_uuencoded

_BODY_TYPES = ("text/plain", "text/html")


@dataclass
class Bodies:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachment_parts: list[MailPart | FilePart] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    def absorb(self, other: "Bodies", text: bool = True, html: bool = True) -> None:
        if text:
            self.texts.extend(other.texts)
        if html:
            self.htmls.extend(other.htmls)
        self.attachment_parts.extend(other.attachment_parts)
        self.defects.extend(other.defects)


def _is_body_text(part: MailPart) -> bool:
    """Inline text/plain or text/html without a filename is message text, anything else is a file."""
    if part.get_content_type() not in _BODY_TYPES:
        return False
    return disposition(part) != "attachment" and not part_filename(part)


def _decoded(part: MailPart, out: Bodies) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:  # a malformed charset parameter: fall back like an unknown one
        charset = None
    text, defect = decode_text(payload_bytes(part), charset)
    if defect:
        out.defects.append(f"{part.get_content_type()} part: {defect}")
    return text


def collect(root: MailPart) -> Bodies:
    """Bodies and attachments of the tree under `root`, in document order.

    A post-order walk with an explicit stack: how deep the tree goes is the sender's choice."""
    if not _is_container(root):
        return _leaf(root)
    # One frame per open multipart: (part, children still to visit in reverse, children's results).
    frames: list[tuple[MailPart, list[MailPart], list[Bodies]]] = [(root, _children(root), [])]
    while True:
        part, pending, done = frames[-1]
        if pending:
            child = pending.pop()
            if _is_container(child):
                frames.append((child, _children(child), []))
            else:
                done.append(_leaf(child, resource=_is_resource(part, child)))
            continue
        frames.pop()
        bodies = _combine(part, done)
        if not frames:
            return bodies
        frames[-1][2].append(bodies)


def _is_container(part: MailPart) -> bool:
    # message/delivery-status also has a list payload (its blocks of fields), but it is a report
    # to show as a file, not a container of bodies.
    return part.is_multipart() and part.get_content_maintype() == "multipart"


def _is_resource(parent: MailPart, child: MailPart) -> bool:
    """A part of multipart/related other than its root (RFC 2387: the first part, or the one its
    start parameter names) is something the root refers to: a file, even when it is text."""
    if parent.get_content_subtype() != "related":
        return False
    if parent.related_root is None:           # found once per multipart/related, not per child
        start = str(parent.get_param("start") or "").strip().strip("<>")
        children = [c for c in parent.get_payload() if isinstance(c, MailPart)]
        named = (c for c in children if start and str(c.get("Content-ID") or "").strip().strip("<>") == start)
        parent.related_root = next(named, children[0] if children else False)
    return child is not parent.related_root


def _children(part: MailPart) -> list[MailPart]:
    return [c for c in reversed(part.get_payload()) if isinstance(c, MailPart)]


def _combine(part: MailPart, options: list[Bodies]) -> Bodies:
    out = Bodies()
    if part.get_content_subtype() == "alternative":
        _choose_alternative(options, out)
    else:
        for option in options:
            out.absorb(option)
    return out


def _leaf(part: MailPart, resource: bool = False) -> Bodies:
    out = Bodies()
    if resource:
        out.attachment_parts.append(part)
    elif part.get_content_maintype() == "multipart":
        # The boundary was never found: the stdlib left the body as one string; read it as text.
        out.texts.append(_decoded(part, out))
    elif _is_body_text(part) and part.get_content_type() == "text/plain":
        text, files = split_uuencoded(_decoded(part, out))
        out.texts.append(text)
        out.attachment_parts.extend(FilePart(name, type_of(name), data) for name, data in files)
    elif _is_body_text(part):
        out.htmls.append(_decoded(part, out))
    else:
        out.attachment_parts.extend(_unpacked(part, out))
    return out


def _unpacked(part: MailPart, out: Bodies) -> list[MailPart | FilePart]:
    """The part itself, or for a winmail.dat the files in it."""
    if not is_tnef(part.get_content_type(), part_filename(part)):
        return [part]
    files, defect = unpack_tnef(payload_bytes(part))
    if defect:
        out.defects.append(defect)
    return [FilePart(name, ctype, data) for name, ctype, data in files] or [part]



def _choose_alternative(options: list[Bodies], out: Bodies) -> None:
    """Plain text from the first alternative that has it, HTML from the last (the richest)."""
    with_text = [o for o in options if o.texts]
    with_html = [o for o in options if o.htmls]
    chosen_text = with_text[0] if with_text else None
    chosen_html = with_html[-1] if with_html else None
    for option in options:
        out.absorb(option, text=option is chosen_text, html=option is chosen_html)
