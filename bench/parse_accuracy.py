"""Parser accuracy on real mail with another helpdesk's expectations (Zammad's `mailNNN.box` +
`mailNNN.yml`), field by field, side by side with a naive stdlib parser (bench/naive_parser.py).

Usage: .venv/bin/python bench/parse_accuracy.py [--corpus DIR] [--show FIELD]
DIR defaults to ../shared/corpus/zammad; point it at any folder of the same layout (the held-out
half is measured this way). Prints a table and writes bench/results/parse_accuracy.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from naive_parser import naive_parse  # noqa: E402

from connector.mail.parse import parse_mail  # noqa: E402
from tests.mail.zammad_expect import FIELDS, load, score  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "parse_accuracy.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "zammad")
    parser.add_argument("--show", choices=FIELDS, help="print each mail where ours disagrees on FIELD")
    args = parser.parse_args(argv)
    boxes = sorted(args.corpus.glob("*.box"))
    if not boxes:
        print(f"no .box files in {args.corpus}", file=sys.stderr)
        return 2
    totals = {name: dict.fromkeys(FIELDS, 0) for name in ("connector", "naive")}
    for box in boxes:
        expect = load(box)
        for name, parse in (("connector", parse_mail), ("naive", naive_parse)):
            for field, (ok, want, got) in score(expect, parse(expect.raw)).items():
                totals[name][field] += ok
                if not ok and name == "connector" and args.show == field:
                    print(f"{box.stem}: want {want!r}\n{'':>{len(box.stem)}}  ours {got!r}")
    print(f"{len(boxes)} mails in {args.corpus}\n{'field':<20}{'connector':>10}{'naive':>10}")
    for field in FIELDS:
        print(f"{field:<20}" + "".join(f"{100 * totals[n][field] / len(boxes):>9.1f}%" for n in totals))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"corpus": str(args.corpus), "mails": len(boxes), "agreeing": totals}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
