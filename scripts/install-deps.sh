#!/usr/bin/env bash
# Installs what RpcShield's sandbox and tests need on a fresh machine (idempotent):
#   - anvil (npm @foundry-rs/anvil-linux-amd64, binary shipped inside the npm package) into .tools/
#   - the npm `ws` package into .tools/node_modules (second WebSocket client library in the subscription tests)
#   - prometheus + promtool (Debian package) for the scrape test and config checks
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
ln -sf "$tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" "$tools/anvil"
"$tools/anvil" --version | head -1

if [ ! -f "$tools/node_modules/ws/package.json" ]; then
  echo "installing ws $ws_version (npm)…"
  npm install --silent --no-audit --no-fund --prefix "$tools" "ws@$ws_version" >/dev/null 2>&1 \
    || npm install --no-audit --no-fund --prefix "$tools" "ws@$ws_version"
fi

if [ "${RPCSHIELD_SKIP_APT:-0}" != "1" ] && ! command -v promtool >/dev/null 2>&1; then
  echo "installing prometheus (apt)…"
  if [ "$(id -u)" = "0" ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 \
    || echo "warning: could not install prometheus; the scrape test will say so"
  # The Debian package starts a system service we do not want; tests run their own instance.
  (systemctl stop prometheus >/dev/null 2>&1 || service prometheus stop >/dev/null 2>&1) || true
fi
command -v prometheus >/dev/null 2>&1 && prometheus --version 2>&1 | head -1 || true
