"""Readable plain text from an HTML body, for mail that has no text/plain part.

A single forward pass with str.find and anchored regexes: html.parser rescans unterminated markup
(`<!--<a<a<a...`) at every `<` and took minutes on a megabyte of it."""
from __future__ import annotations

import html as html_entities
import re

_SKIP = {"script", "style", "head", "title"}
_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
          "table", "ul", "ol", "hr", "section", "article", "header", "footer"}

_MARKUP = re.compile(r"<[a-zA-Z/!?]")              # any other "<" is text, as in browsers
_TAG_NAME = re.compile(r"[a-zA-Z][^\t\n\r\f />\x00]*")
_ATTR_QUOTE = re.compile(r"""=\s*(["'])""")         # a quoted attribute value may hold ">"
# Where skipped content ends; a head also ends where the body starts, as browsers read it.
_SKIP_END = {name: re.compile(rf"</{name}(?=[\s/>]|$)", re.IGNORECASE) for name in _SKIP}
_SKIP_END["head"] = re.compile(r"</head(?=[\s/>]|$)|(?=<body(?:[\s/>]|$))", re.IGNORECASE)
_LONG_CHARREF = re.compile(r"&#(?:[xX][0-9a-fA-F]{20,}|[0-9]{20,});?")


def html_to_text(html: str) -> str:
    chunks: list[str] = []
    pos = 0
    while pos < len(html):
        found = _MARKUP.search(html, pos)
        if found is None:
            chunks.append(_unescape(html[pos:]))
            break
        start = found.start()
        chunks.append(_unescape(html[pos:start]))
        pos = _markup(html, start, chunks)
    text = "".join(chunks).replace("\xa0", " ")
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _markup(html: str, start: int, chunks: list[str]) -> int:
    """Read the markup at `start` (a "<" then a letter, "/", "!" or "?"); return where text resumes."""
    if html.startswith("<!--", start):
        end = html.find("-->", start + 4)
        return len(html) if end < 0 else end + 3     # an unterminated comment hides the rest
    name = _TAG_NAME.match(html, start + 1) if html[start + 1] != "/" else None
    if name is None:                                  # an end tag, a declaration or an instruction
        end = html.find(">", start + 1)
        closing = _TAG_NAME.match(html, start + 2) if html[start + 1] == "/" else None
        tag = closing.group().lower() if closing else ""
    else:
        end = _tag_end(html, name.end())
        tag = name.group().lower()
    if end < 0:                                       # a "<" never closed is text, to the end
        chunks.append(_unescape(html[start:]))
        return len(html)
    if tag in _BLOCK:
        chunks.append("\n")
    if name is not None and tag in _SKIP and html[end - 1] != "/":
        return _skip(html, tag, end + 1)
    return end + 1


def _tag_end(html: str, pos: int) -> int:
    """Index of the ">" that ends a start tag whose attributes begin at `pos`, or -1."""
    gt = html.find(">", pos)
    while gt >= 0:
        quote = _ATTR_QUOTE.search(html, pos, gt)
        if quote is None:
            return gt
        close = html.find(quote.group(1), quote.end())
        if close < 0:
            return gt                                 # an unclosed quote: the first ">" ends it
        pos = close + 1
        if pos > gt:
            gt = html.find(">", pos)
    return -1


def _skip(html: str, tag: str, pos: int) -> int:
    """Where text resumes after the content of a skipped element: past its end tag, or the end."""
    found = _SKIP_END[tag].search(html, pos)
    if found is None:
        return len(html)
    if found.start() == found.end():                  # <body> ends the head and is read itself
        return found.start()
    end = html.find(">", found.end())
    return len(html) if end < 0 else end + 1


def _unescape(text: str) -> str:
    if "&" not in text:
        return text
    # html.unescape raises on a numeric reference over 4,300 digits; any over 20 is no character.
    return html_entities.unescape(_LONG_CHARREF.sub("\ufffd", text))
