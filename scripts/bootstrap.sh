# Shared setup for scripts/test and scripts/demo: a cached virtualenv per Airflow line, installed
# from the committed lock files so every machine gets the same packages.
# Usage: source scripts/bootstrap.sh; ensure_venv 3.3   -> sets VENV to the ready virtualenv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UV_VERSION="0.13.8"

find_python() {
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "error: Python >= 3.11 is required (apt-get install python3)" >&2
  return 1
}

ensure_uv() {
  local tools="$ROOT/.venv-tools"
  if [ ! -x "$tools/bin/uv" ]; then
    echo "==> installing uv $UV_VERSION into $tools" >&2
    "$(find_python)" -m venv "$tools"
    "$tools/bin/python" -m pip install -q "uv==$UV_VERSION"
  fi
  UV="$tools/bin/uv"
}

# ensure_venv <airflow line: 3.3 | 2.11>
ensure_venv() {
  local line="$1"
  local lock="$ROOT/requirements/airflow-$line.txt"
  VENV="$ROOT/.venv-airflow-$line"
  local stamp="$VENV/.cloudflows-lock.sha256"
  local want
  want="$(cat "$lock" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  ensure_uv
  echo "==> preparing $VENV from requirements/airflow-$line.txt" >&2
  [ -x "$VENV/bin/python" ] || "$UV" venv -q -p "$(find_python)" "$VENV"
  # Compiled up front: Airflow imports thousands of modules, and without cached bytecode
  # (PYTHONDONTWRITEBYTECODE is common in CI images) every process start recompiles them.
  VIRTUAL_ENV="$VENV" "$UV" pip sync -q --compile-bytecode "$lock"
  VIRTUAL_ENV="$VENV" "$UV" pip install -q --no-deps -e "$ROOT"
  echo "$want" > "$stamp"
}
