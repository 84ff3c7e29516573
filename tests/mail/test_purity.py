"""The mail core stays pure: no Google, database, scheduler or environment access."""
from __future__ import annotations

import ast
from pathlib import Path

import connector.mail

FORBIDDEN = ("googleapiclient", "google", "sqlmodel", "sqlalchemy", "apscheduler")
MAIL_DIR = Path(connector.mail.__file__).parent


def _imports(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _reads_environ(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                a.name in {"environ", "getenv"} for a in node.names):
            return True
    return False


def test_mail_core_has_modules_to_check():
    assert len(list(MAIL_DIR.rglob("*.py"))) >= 10


def test_mail_core_imports_nothing_impure():
    offenders = []
    for path in sorted(MAIL_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name in _imports(tree):
            if name.split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.relative_to(MAIL_DIR)} imports {name}")
        if _reads_environ(tree):
            offenders.append(f"{path.relative_to(MAIL_DIR)} reads the environment")
    assert offenders == []


def test_the_checker_itself_catches_forbidden_imports():
    tree = ast.parse("import os\nfrom google.oauth2 import credentials\nx = os.environ['A']\n")
    assert "google.oauth2" in _imports(tree)
    assert _reads_environ(tree)
