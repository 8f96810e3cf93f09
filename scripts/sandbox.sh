#!/usr/bin/env bash
# The newcomer's first command: installs anvil, builds RpcShield (Release), starts the local
# sandbox network + RpcShield on :8545 (`rpcshield sandbox --config proxy.yaml`) and runs the demo
# bot against it, so the whole loop is visible: reads failing over, bundles fanned out to the
# sandbox builders, and per block what landed and who built it.
#
#   scripts/sandbox.sh                    # run until Ctrl-C (stops the bot, RpcShield, the nodes and anvil)
#   scripts/sandbox.sh --duration 30s     # bounded run (CI smoke): exit 1 unless a bundle landed
#   scripts/sandbox.sh --no-bot           # only the sandbox + RpcShield; point your own bot at :8545
#   scripts/sandbox.sh --config my.yaml   # another config with a `sandbox:` section
# Any other option goes to the demo bot (see docs/sandbox.md), e.g. --no-chaos, --compete-every 0.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

config="proxy.yaml"; duration=""; bot=1; bot_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --no-bot) bot=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) bot_args+=("$1"); shift ;;
  esac
done

bash scripts/install-deps.sh
echo "building (Release)…"
dotnet build src/RpcShield.Sandbox/RpcShield.Sandbox.csproj -c Release -nologo -v quiet -clp:ErrorsOnly   # builds RpcShield too and puts the sandbox beside it
dotnet build src/RpcShield.DemoBot/RpcShield.DemoBot.csproj -c Release -nologo -v quiet -clp:ErrorsOnly

listen="$(sed -nE 's/^[[:space:]]*listen:[[:space:]]*(http:\/\/[^[:space:]#]+).*/\1/p' "$config" | head -1)"
listen="${listen:-http://127.0.0.1:8545}"
mkdir -p artifacts
log="artifacts/sandbox.log"
dotnet src/RpcShield/bin/Release/net10.0/RpcShield.dll sandbox --config "$config" >"$log" 2>&1 &
sandbox_pid=$!

stop_sandbox() {
  if kill -0 "$sandbox_pid" 2>/dev/null; then
    kill -TERM "$sandbox_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$sandbox_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$sandbox_pid" 2>/dev/null || true
  fi
  wait "$sandbox_pid" 2>/dev/null || true
}
trap stop_sandbox EXIT
trap 'exit 130' INT TERM

echo "starting the sandbox network and RpcShield on $listen (log: $log)…"
ready=0
for _ in $(seq 1 120); do
  if ! kill -0 "$sandbox_pid" 2>/dev/null; then
    echo "the sandbox exited during start:"; tail -20 "$log"; exit 1
  fi
  if curl -fsS "$listen/readyz" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.5
done
if [ "$ready" != "1" ]; then echo "RpcShield did not become ready within 60 s:"; tail -20 "$log"; exit 1; fi
curl -fsS "$listen/sandbox" | sed -nE 's/.*"name": "([^"]+)".*/  \1/p' | tr '\n' ' ' | sed 's/^/ready: /'; echo
echo "try: curl -s -XPOST $listen/sandbox/nodes/node-a/stop   (control API: docs/sandbox.md)"

if [ "$bot" = "0" ]; then
  echo "no bot: RpcShield serves $listen until Ctrl-C"
  if [ -n "$duration" ]; then sleep "$duration"; else wait "$sandbox_pid"; fi
  exit 0
fi

args=(--rpc "$listen" "${bot_args[@]+"${bot_args[@]}"}")
if [ -n "$duration" ]; then args+=(--duration "$duration" --require-landed); fi
set +e
dotnet src/RpcShield.DemoBot/bin/Release/net10.0/RpcShield.DemoBot.dll "${args[@]}"
status=$?
set -e
exit "$status"
