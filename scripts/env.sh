# Sourced by scripts/serve and scripts/test: a virtual environment in .venv with outframe installed.
# Arguments: the extras to install (comma-separated), then any pinned requirements to add.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EXTRAS="${1:-}"
shift || true
PY="${PYTHON:-python3}"
# pip's own progress (each package, download bars) where someone watches; quiet in logs.
if [ -t 1 ]; then PIP_FLAGS=(--progress-bar on); else PIP_FLAGS=(--quiet); fi
step() { echo "[$(date +%H:%M:%S)] $*" >&2; }
if [ ! -x .venv/bin/python ]; then
  step "creating .venv"
  "$PY" -m venv .venv
  .venv/bin/python -m pip install "${PIP_FLAGS[@]}" --upgrade pip
fi
stamp=".venv/.installed${EXTRAS:+-${EXTRAS//,/-}}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  step "installing outframe${EXTRAS:+[$EXTRAS]} $* into .venv (once; the [gpu] extra's torch takes a few minutes)"
  start=$SECONDS
  .venv/bin/python -m pip install "${PIP_FLAGS[@]}" -e ".${EXTRAS:+[$EXTRAS]}" "$@"
  step "compiling the classic engine's kernels (once; numba caches them on disk)"
  .venv/bin/python -c "from outframe.engines.classic.nnf import warm_up; warm_up()"
  touch "$stamp"
  step "installed in $((SECONDS - start)) s; the outframe command is .venv/bin/outframe (source .venv/bin/activate puts it on PATH)"
fi
