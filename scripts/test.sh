#!/usr/bin/env bash
# Set up the virtualenv if needed and run the whole test suite: scripts/test.sh [pytest arguments]
# PostgreSQL tests run when TEST_DATABASE_URL is set (scripts/start-postgres.sh prints one); else they skip.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
exec .venv/bin/python -m pytest "$@"
