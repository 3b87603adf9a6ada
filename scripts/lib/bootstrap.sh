# Sourced by scripts/run and scripts/test: make sure the tools the project needs exist on a
# fresh Debian machine with Python 3.11 (PyPI and apt reachable), then sync the uv workspace.
# Everything installed here comes from PyPI or Debian apt; nothing else is reachable.

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
}

# uv: a plain `pip install` (PEP 668 is overridden: uv is a self-contained binary wheel).
# The binary's absolute path goes first on PATH, so scripts started later from inside the
# venv (where `python3` has neither pip nor uv) still find it.
if command -v uv >/dev/null 2>&1; then
  UV_BIN=$(command -v uv)
else
  if ! python3 -m uv --version >/dev/null 2>&1; then
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --user uv >/dev/null 2>&1 \
      || PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q uv >/dev/null
  fi
  UV_BIN=$(python3 -c 'import uv; print(uv.find_uv_bin())')
fi
export PATH="$(dirname "$UV_BIN"):$PATH"
UV=("$UV_BIN")

need_redis() {
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
}

# Programs the tests drive from outside, all from Debian.
need_test_tools() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  # Validates docker/compose.yaml the way Compose parses it (no Docker engine needed).
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
}

# Every workspace package, the dev tools and the server's `demo` extra (the embedded
# simulator of `mt5gateway serve --demo`, which ./scripts/run and the tests start).
uv_sync() {
  "${UV[@]}" sync --locked --all-packages --extra demo --quiet
}
