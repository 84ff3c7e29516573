"""The README's "Pointing your own scripts at the sandbox" snippet works as printed, with Google's own libraries."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from sandbox.server import SandboxServer

README = Path(__file__).resolve().parents[2] / "README.md"
MAILBOX = "support@example.com"


def _snippet() -> str:
    section = README.read_text().split("## Pointing your own scripts at the sandbox", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_snippet_lists_the_sandbox_mailbox(tmp_path):
    raw = b"From: Ann <ann@x.example>\r\nTo: support@example.com\r\nSubject: Hi\r\n\r\nHello\r\n"
    with SandboxServer(mailboxes=[MAILBOX], state_dir=tmp_path / "sb", port=0) as srv:
        mid = srv.core.deliver(MAILBOX, raw)
        script = _snippet().replace("http://127.0.0.1:8025", srv.url)
        done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                              timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert mid in done.stdout
