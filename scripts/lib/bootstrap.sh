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
if command -v uv >/dev/null 2>&1; then
  UV=(uv)
else
  if ! python3 -m uv --version >/dev/null 2>&1; then
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --user uv >/dev/null 2>&1 \
      || PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q uv >/dev/null
  fi
  UV=(python3 -m uv)
fi

need_redis() {
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
}

uv_sync() {
  "${UV[@]}" sync --locked --all-packages --quiet
}
