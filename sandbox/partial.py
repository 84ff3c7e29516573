"""Google's `fields` parameter (partial responses): a mask parsed, checked against the method's schema, applied."""
from __future__ import annotations

import functools
import re

from sandbox import routes
from sandbox.errors import ApiError

# Syntax of Google's "Partial response" (developers.google.com/workspace/gmail/api/guides/performance):
# a comma-separated list of fields, `a/b` for a field inside another, `a(b,c)` for some sub-fields of
# an object or of every item of an array, `*` for every field at that level. A field the resource does
# not have, or a mask that does not parse, is a 400 before the call runs; error bodies are never masked.
Mask = dict  # field name -> its Mask, or None for the whole value
_TOKEN = re.compile(r"[^,()/\s]+|[,()/]|\s+")


def invalid_selection(what: str) -> ApiError:
    return ApiError(400, f"Invalid field selection {what}", "invalidParameter")


def requested(fields: str | None, method: str) -> Mask | None:
    """The call's mask (None: the whole resource), refused when the method's resource lacks a field."""
    if not fields or not fields.strip():
        return None
    mask = parse(fields)
    schema = response_schemas().get(method)
    if schema is not None:
        _check(mask, schema)
    return mask


def parse(text: str) -> Mask:
    tokens = [t for t in _TOKEN.findall(text) if not t.isspace()]
    mask, pos = _selection(tokens, 0, text)
    if pos != len(tokens):
        raise invalid_selection(text)
    return mask


def _selection(tokens: list[str], pos: int, text: str) -> tuple[Mask, int]:
    mask: Mask = {}
    while True:
        path = [_name(tokens, pos, text)]
        pos += 1
        while pos < len(tokens) and tokens[pos] == "/":
            path.append(_name(tokens, pos + 1, text))
            pos += 2
        sub = None
        if pos < len(tokens) and tokens[pos] == "(":
            sub, pos = _selection(tokens, pos + 1, text)
            if pos >= len(tokens) or tokens[pos] != ")":
                raise invalid_selection(text)
            pos += 1
        for name in reversed(path[1:]):
            sub = {name: sub}
        mask[path[0]] = _union(mask[path[0]], sub) if path[0] in mask else sub
        if pos < len(tokens) and tokens[pos] == ",":
            pos += 1
            continue
        return mask, pos


def _name(tokens: list[str], pos: int, text: str) -> str:
    if pos >= len(tokens) or tokens[pos] in ",()/":
        raise invalid_selection(text)
    return tokens[pos]


def _union(a: Mask | None, b: Mask | None) -> Mask | None:
    if a is None or b is None:
        return None
    return {k: _union(a[k], b[k]) if k in a and k in b else (a[k] if k in a else b[k]) for k in {**a, **b}}


def apply(value, mask: Mask | None):
    """Only what the mask selects; arrays are masked item by item, absent fields stay absent."""
    if mask is None:
        return value
    if isinstance(value, list):
        return [apply(item, mask) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        wanted = [mask[k] for k in (key, "*") if k in mask]
        if wanted:
            out[key] = apply(item, wanted[0] if len(wanted) == 1 else _union(*wanted))
    return out


def _check(mask: Mask, schema: dict) -> None:
    for name, sub in mask.items():
        if name == "*":
            continue
        field = schema.get("properties", {}).get(name) or schema.get("additionalProperties")
        if field is None:
            raise invalid_selection(name)
        if sub is not None:
            _check(sub, _object(field))


def _object(node: dict) -> dict:
    """The object schema a field holds: through `$ref`s and array items."""
    while True:
        if "$ref" in node:
            node = _schemas()[node["$ref"]]
        elif node.get("type") == "array":
            node = node["items"]
        else:
            return node


@functools.cache
def _schemas() -> dict[str, dict]:
    return routes.discovery_document()["schemas"]


@functools.cache
def response_schemas() -> dict[str, dict]:
    """Gmail method name -> the schema of its response body, from the discovery document."""
    found: dict[str, dict] = {}

    def walk(resource: dict) -> None:
        for method in resource.get("methods", {}).values():
            if "response" in method:
                found[method["id"].removeprefix("gmail.users.")] = _object(method["response"])
        for child in resource.get("resources", {}).values():
            walk(child)
    walk(routes.discovery_document())
    return found
