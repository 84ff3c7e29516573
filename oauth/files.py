"""Reading the JSON files an operator downloads from Google, with errors that name the file, never its content."""
from __future__ import annotations

import json
from pathlib import Path


def read_json_file(path: str | Path, error: type[Exception]) -> object:
    """The parsed file; `error` (the caller's own) when it cannot be read or is not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise error(f"{path} is not JSON") from None
