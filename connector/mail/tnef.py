"""winmail.dat (Microsoft TNEF) unpacked into the files it carries: Outlook sends attachments inside
it, and an agent cannot open a winmail.dat.

Read here, in one bounded pass over the top-level attributes (MS-OXTNEF 2.1.3: level, id, type,
length, data, checksum): each file starts at attAttachRendData, is named by attAttachTitle and
held in attAttachData, in the codepage attOemCodepage gives. The MAPI property blocks are not
parsed: they carry counts a sender chooses, and tnefparse, which does parse them, was made to
spend 14 hours, gigabytes or a copy per object on files of 50 bytes (see bench/hostile_parse.py)."""
from __future__ import annotations

from connector.mail.charsets import decode_text
from connector.mail.file_types import type_of

TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
SIGNATURE = b"\x78\x9f\x3e\x22"
ATTACHMENT_LEVEL = 2
ATT_OEM_CODEPAGE, ATT_RENDDATA, ATT_TITLE, ATT_DATA = 0x9007, 0x9002, 0x8010, 0x800F
MAX_FILES = 100                     # more files than this in one winmail.dat are not a person's
MAX_TNEF_BYTES = 25 * 1024 * 1024   # over this it stays packed: honest ones are a few MB


def is_tnef(content_type: str, filename: str) -> bool:
    return content_type in TNEF_TYPES or filename.lower() == "winmail.dat"


def unpack_tnef(data: bytes) -> tuple[list[tuple[str, str, bytes]], str | None]:
    """([(file name, content type, bytes)], defect or None); no files when it cannot be read, and
    then the winmail.dat itself is what the agent gets."""
    if len(data) > MAX_TNEF_BYTES:
        return [], f"winmail.dat over {MAX_TNEF_BYTES // (1024 * 1024)} MB, kept packed"
    if not data.startswith(SIGNATURE):
        return [], "winmail.dat could not be unpacked (no TNEF signature), kept packed"
    files: list[list] = []          # [raw name, bytes] per file, in order
    codepage, pos, defect = "cp1252", 6, None
    while pos + 9 <= len(data):
        level, ident = data[pos], int.from_bytes(data[pos + 1:pos + 3], "little")
        start = pos + 9
        end = start + int.from_bytes(data[pos + 5:pos + 9], "little")
        if end + 2 > len(data):
            defect = "winmail.dat is cut short; the files before the cut are kept"
            break
        if ident == ATT_OEM_CODEPAGE and end - start >= 4:
            codepage = f"cp{int.from_bytes(data[start:start + 4], 'little')}"
        elif level == ATTACHMENT_LEVEL and ident == ATT_RENDDATA:
            if len(files) == MAX_FILES:
                defect = f"winmail.dat holds over {MAX_FILES} files; the first {MAX_FILES} are kept"
                break
            files.append([b"", b""])
        elif level == ATTACHMENT_LEVEL and files and ident == ATT_TITLE:
            files[-1][0] = data[start:end].split(b"\x00", 1)[0]
        elif level == ATTACHMENT_LEVEL and files and ident == ATT_DATA:
            files[-1][1] = data[start:end]
        pos = end + 2
    found = [(_name(raw, codepage, n), blob) for n, (raw, blob) in enumerate(files, 1) if blob]
    if not found:
        return [], defect or "winmail.dat could not be unpacked (no files in it), kept packed"
    return [(name, type_of(name), blob) for name, blob in found], defect


def _name(raw: bytes, codepage: str, index: int) -> str:
    name = decode_text(raw, codepage)[0].strip() if raw else ""
    return name or f"attachment{index}"
