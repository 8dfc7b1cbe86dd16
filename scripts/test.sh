#!/usr/bin/env bash
# The whole suite: once on SQLite (with the browser tests), once on a real PostgreSQL.
set -euo pipefail
py=.venv/bin/python
echo "== lint-imports: the layer contract =="
.venv/bin/lint-imports
echo "== Leg 1: SQLite =="
"$py" -m pytest --cov --cov-report=term:skip-covered "$@"
echo "== Leg 2: PostgreSQL =="
if [ -n "${SHULIAN_TEST_DATABASE_URL:-}" ]; then
  "$py" -m pytest -m "not browser" "$@"
else
  bash scripts/with-postgres.sh "$py" -m pytest -m "not browser" "$@"
fi
