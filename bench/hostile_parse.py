"""Hostile-mail benchmark: time and peak memory of parse_mail on each hostile input.

    python bench/hostile_parse.py [--only NAME ...] [--code-root DIR] [--timeout 120]

Each input runs in a fresh interpreter: it is built (tests/mail/hostile.py), parsed once for the
time, then once under tracemalloc for the peak of Python allocations during the parse; the
process's peak RSS (ru_maxrss) includes the input itself. --code-root DIR parses with the
`connector` package found in DIR instead (a checkout of an older commit, for a before/after);
the inputs always come from this tree. A child over --timeout seconds is stopped and reported so.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "mail" / "hostile.py"

# name -> (builder in tests/mail/hostile.py, its arguments). The first nine are the issue's; the
# rest probe the other limits just below or above where they bite.
INPUTS = {
    "from_4000_encoded_words": ("encoded_word_from", 4_000),
    "from_8000_encoded_words": ("encoded_word_from", 8_000),
    "nested_1500_multiparts": ("nested_multipart", 1_500),
    "header_flood_3000_fields": ("header_flood", 3_000),
    "subject_200_kb": ("long_subject", 200_000),
    "parts_10000_tiny": ("many_parts", 10_000),
    "html_comment_bomb_1_mb": ("html_comment_bomb", 1_000_000),
    "no_headers": ("no_headers",),
    "attachment_35_mb": ("big_attachment", 35_000_000),
    "nested_100_multiparts": ("nested_multipart", 100),
    "parts_4999_tiny": ("many_parts", 4_999),
    "short_lines_1.1m_9_deep": ("deep_short_lines", 9, 1_100_000),
    "short_lines_1m_100_deep": ("deep_short_lines", 100, 1_000_000),
    "quoted_semicolons_500x60_kb": ("semicolon_parameters", 500, 60_000),
    "made_up_charsets_1500": ("made_up_charsets", 1_500),
    "boundaries_195_chars_99_deep": ("long_boundaries", 99, 100_000, 195),
    "boundaries_400_chars_99_deep": ("long_boundaries", 99, 100_000, 400),
    # Real-world mail issue: its four bounds, then what the repairs and detection read.
    "nested_10000_multiparts": ("nested_multipart", 10_000),
    "header_lines_100000": ("header_flood", 100_000),
    "encoded_words_header_1_mb": ("encoded_word_from", 30_000),
    "attachment_30_mb": ("big_attachment", 30_000_000),
    "stray_header_lines_1000": ("stray_header_lines", 1_000),
    "uuencode_lookalikes_100000": ("uuencode_lookalikes", 100_000),
    "eight_bit_subject_60_kb": ("eight_bit_headers", 60_000),
    "tnef_garbage_20_mb": ("tnef_garbage", 20_000_000),
    "tnef_property_bomb_4g": ("tnef_property_bomb", 0xFFFFFFFF),
    "spaces_in_body_250_kb": ("spaces_in_body", 250_000),
    "loose_addresses_32000": ("loose_addresses", 32_000),
}


def _build(name: str) -> bytes:
    spec = importlib.util.spec_from_file_location("hostile", HOSTILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    builder, *arguments = INPUTS[name]
    return getattr(module, builder)(*arguments)


def child(name: str, code_root: Path) -> None:
    """Runs in the subprocess: build one input, parse it twice, one JSON line on stdout each
    (the first is printed before the slower traced run, so a timeout still leaves the time)."""
    raw = _build(name)
    sys.path.insert(0, str(code_root))
    from connector.mail.parse import parse_mail

    start = time.perf_counter()
    mail = parse_mail(raw)
    seconds = time.perf_counter() - start
    print(json.dumps({
        "input_bytes": len(raw), "seconds": round(seconds, 4),
        "too_complex": getattr(mail, "too_complex", ""), "subject": mail.subject[:40],
        "from": mail.from_.email, "attachments": len(mail.attachments), "body_chars": len(mail.body_text),
    }), flush=True)
    del mail
    tracemalloc.start()
    parse_mail(raw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps({"peak_alloc_mb": round(peak / 2**20, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


def measure(name: str, code_root: Path, timeout: float) -> dict:
    command = [sys.executable, __file__, "--child", name, "--code-root", str(code_root)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        stdout, error = done.stdout, (f"exit {done.returncode}" if done.returncode else "")
        if error:
            error += ": " + (done.stderr.strip().splitlines() or ["no output"])[-1][:120]
    except subprocess.TimeoutExpired as exc:
        stdout, error = exc.stdout or "", f"over {timeout:.0f} s, stopped"
        stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
    result: dict = {}
    for line in stdout.strip().splitlines():
        result.update(json.loads(line))
    if error:
        result["error"] = error
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(INPUTS), default=None)
    parser.add_argument("--code-root", type=Path, default=ROOT)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.code_root)
        return 0
    results = {}
    for name in args.only or INPUTS:
        results[name] = measure(name, args.code_root.resolve(), args.timeout)
        print(f"{name:30} {_summary(results[name])}", flush=True)
    sys.path.insert(0, str(ROOT))
    from bench.common import print_table, write_result

    print_table("parse_mail on hostile input (seconds / peak MB allocated)",
                [(name, _summary(r)) for name, r in results.items()])
    write_result("hostile_parse", {"code_root": str(args.code_root), "results": results})
    return 0


def _summary(result: dict) -> str:
    if "seconds" not in result:
        return result.get("error", "no result")
    memory = (f"{result['peak_alloc_mb']:7.1f} MB  (rss {result['peak_rss_mb']:,.0f} MB)"
              if "peak_alloc_mb" in result else f"memory not measured: {result.get('error')}")
    verdict = result.get("error") or result["too_complex"] or "read in full"
    return f"{result['seconds']:8.3f} s  {memory}  {result['input_bytes']:,} B  {verdict}"


if __name__ == "__main__":
    sys.exit(main())
