"""HTML-to-text converters compared on real mail: how close each one's rendering of the HTML
alternative comes to the sender's own text/plain alternative, and how long each takes on hostile HTML.

Usage: .venv/bin/python bench/html_text.py   (inscriptis and html2text are optional: pip install them)
Reads the mail corpora in ../shared/corpus; writes bench/results/html_text.json.
"""
from __future__ import annotations

import difflib
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.mail.html_text import html_to_text  # noqa: E402
from connector.mail.mime import parse_tree, walk_parts  # noqa: E402
from connector.mail.bodies import Bodies, _decoded  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
RESULTS = ROOT / "bench" / "results" / "html_text.json"


def converters() -> dict:
    found = {"connector": html_to_text}
    try:
        from inscriptis import get_text
        found["inscriptis"] = get_text
    except ImportError:
        pass
    try:
        import html2text
        found["html2text"] = lambda html: html2text.HTML2Text(bodywidth=0).handle(html)
    except ImportError:
        pass
    return found


def pairs() -> list[tuple[str, str, str]]:
    """(name, text/plain, text/html) of every multipart/alternative with both, in the corpora."""
    out = []
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix not in (".eml", ".box"):
            continue
        root = parse_tree(path.read_bytes())
        for part in walk_parts(root):
            if part.get_content_type() != "multipart/alternative":
                continue
            kids = {c.get_content_type(): c for c in part.get_payload()
                    if not isinstance(c, str) and not c.is_multipart()}
            if "text/plain" in kids and "text/html" in kids:
                sink = Bodies()
                out.append((path.name, _decoded(kids["text/plain"], sink), _decoded(kids["text/html"], sink)))
    return out


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# Compared on their first characters: SequenceMatcher is quadratic, and a few KB show the rendering.
COMPARED_CHARS = 4000
BOMB_TIMEOUT = 60.0


def _similarity(text: str, rendered: str) -> float:
    return difflib.SequenceMatcher(None, _fold(text)[:COMPARED_CHARS], _fold(rendered)[:COMPARED_CHARS],
                                   autojunk=False).ratio()


def _bomb_seconds(name: str) -> float | None:
    """Seconds to convert 1 MB of unterminated comment and tags, in a child (None: over the timeout)."""
    code = (f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'bench')!r})\n"
            "from html_text import converters; from tests.mail import hostile\n"
            "bomb = hostile.html_comment_bomb(1_000_000).split(b'\\r\\n\\r\\n', 1)[1].decode()\n"
            f"convert = converters()[{name!r}]; t = time.perf_counter(); convert(bomb); print(time.perf_counter() - t)")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=BOMB_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None
    return float(done.stdout.strip() or "nan")


def main() -> int:
    found, samples, report = converters(), pairs(), {}
    for name, convert in found.items():
        ratios = [_similarity(text, convert(html)) for _, text, html in samples]
        report[name] = {"mean_similarity": sum(ratios) / len(ratios), "at_least_0.9": sum(r >= 0.9 for r in ratios),
                        "bomb_seconds": _bomb_seconds(name)}
    print(f"{len(samples)} text/HTML alternatives\n{'converter':<12}{'mean':>8}{'>=0.9':>8}{'1 MB bomb':>14}")
    for name, r in report.items():
        bomb = f"{r['bomb_seconds']:.2f} s" if r["bomb_seconds"] is not None else f"> {BOMB_TIMEOUT:.0f} s"
        print(f"{name:<12}{r['mean_similarity']:>8.3f}{r['at_least_0.9']:>8}{bomb:>14}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"samples": len(samples), "converters": report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
