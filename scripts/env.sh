# Sourced by scripts/serve and scripts/test: a virtual environment in .venv with outframe installed.
# Arguments: the extras to install (comma-separated), then any pinned requirements to add.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EXTRAS="${1:-}"
shift || true
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=".venv/.installed${EXTRAS:+-${EXTRAS//,/-}}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet -e ".${EXTRAS:+[$EXTRAS]}" "$@"
  touch "$stamp"
fi
