"""Only the Google adapter may import googleapiclient: everything else speaks the Gmail port."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ADAPTER = REPO / "connector" / "gmail" / "google.py"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def importers_of(package: str) -> list[str]:
    found = []
    for top in ("connector", "oauth", "jobs"):
        for path in sorted((REPO / top).rglob("*.py")):
            if any(name == package or name.startswith(package + ".") for name in imported_modules(path)):
                found.append(path.relative_to(REPO).as_posix())
    return found


def test_only_the_google_adapters_import_googleapiclient():
    # One adapter per Google API: Gmail, and the Pub/Sub subscription that Gmail push publishes to.
    assert importers_of("googleapiclient") == ["connector/gmail/google.py", "connector/pubsub/google.py"]


def test_the_scan_sees_both_import_forms(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import googleapiclient.discovery\nfrom googleapiclient import errors\n")
    assert imported_modules(sample) == {"googleapiclient.discovery", "googleapiclient"}
