#!/usr/bin/env bash
# Installs what RpcShield's sandbox and tests need on a fresh machine (idempotent):
#   - anvil (npm @foundry-rs/anvil-linux-amd64, binary shipped inside the npm package) into .tools/
#   - the npm `ws` package into .tools/node_modules (second WebSocket client library in the subscription tests)
#   - Debian packages: prometheus (scrape test), postgresql and redis-server (fleet tests), chromium (/ui test),
#     nginx, haproxy, caddy and wrk (bench comparison hops)
# Needs only Debian's package mirror and the npm registry.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
anvil_version="1.7.1"
ws_version="8.23.0"
mkdir -p "$tools"

if [ ! -x "$tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" ]; then
  echo "installing anvil $anvil_version (npm)…"
  npm install --silent --no-audit --no-fund --prefix "$tools" "@foundry-rs/anvil-linux-amd64@$anvil_version" >/dev/null 2>&1 \
    || npm install --no-audit --no-fund --prefix "$tools" "@foundry-rs/anvil-linux-amd64@$anvil_version"
fi
# Relative, so the link still works when .tools is shared by another checkout (a git worktree).
ln -sfn "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" "$tools/anvil"
"$tools/anvil" --version | head -1

if [ ! -f "$tools/node_modules/ws/package.json" ]; then
  echo "installing ws $ws_version (npm)…"
  npm install --silent --no-audit --no-fund --prefix "$tools" "ws@$ws_version" >/dev/null 2>&1 \
    || npm install --no-audit --no-fund --prefix "$tools" "ws@$ws_version"
fi

# Debian packages: the servers the tests start themselves (each on a loopback port of its own) and the bench's
# comparison hops. Installed only when one is missing; services the packages start are stopped again.
apt_packages=""
need() { command -v "$1" >/dev/null 2>&1 || apt_packages="$apt_packages $2"; }
need promtool prometheus
need redis-server redis-server
need chromium chromium
need nginx nginx
need haproxy haproxy
need caddy caddy
need wrk wrk
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_packages="$apt_packages postgresql"
if [ "${RPCSHIELD_SKIP_APT:-0}" != "1" ] && [ -n "$apt_packages" ]; then
  echo "installing (apt):$apt_packages…"
  if [ "$(id -u)" = "0" ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null 2>&1 || true
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $apt_packages >/dev/null 2>&1 \
    || echo "warning: could not install some of:$apt_packages; the tests that need them say so"
  # The packages start system services we do not want; tests and the bench run their own instances.
  for svc in prometheus redis-server nginx haproxy caddy postgresql; do
    (systemctl stop "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1) || true
  done
fi
command -v prometheus >/dev/null 2>&1 && prometheus --version 2>&1 | head -1 || true
