"""`gmail-connector demo` uses Gmail push when Google's Pub/Sub emulator is installed, and stops it after."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.pubsub_emulator import installed_reason

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(90)


def test_the_demo_watches_its_inboxes_through_the_emulator_and_stops_it(tmp_path):
    reason = installed_reason()
    if reason:
        pytest.skip(f"Pub/Sub emulator not installed: {reason}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUBSUB_", "TEST_", "DATABASE_"))}
    env.update(DATA_DIR=str(tmp_path / "data"), ADMIN_BIND="127.0.0.1:0", SMTP_INBOUND_BIND="127.0.0.1:0",
               PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "connector.cli", "--env-file", "/dev/null", "demo",
                           "--duration", "12", "--trickle", "2"], env=env, capture_output=True, text=True,
                          timeout=80, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Gmail push: Pub/Sub emulator on 127.0.0.1:" in done.stdout
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'demo' / 'connector.db'}")
    with engine.connect() as connection:
        watched = connection.execute(text("SELECT count(*) FROM push_watches WHERE expiration IS NOT NULL "
                                          "AND error IS NULL")).scalar()
        tickets = connection.execute(text("SELECT count(*) FROM tickets")).scalar()
    engine.dispose()
    assert watched == 2 and tickets > 0
    pid = int((tmp_path / "data" / "demo" / "pubsub" / "emulator.pid").read_text())
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
