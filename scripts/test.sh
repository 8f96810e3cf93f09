#!/usr/bin/env bash
# Runs every RpcShield test (unit + integration against real anvil, Kestrel, SQLite, Prometheus)
# and ends with one line: "N passed, N failed[, N skipped]".
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

bash scripts/install-deps.sh || { echo "dependency install failed"; echo "0 passed, 1 failed"; exit 1; }

if ! dotnet build RpcShield.sln -c Release -nologo -v quiet 2>&1 | grep -vE "NU1603" | tail -20; then :; fi
if [ "${PIPESTATUS[0]}" != "0" ]; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

log="$(mktemp)"
dotnet test RpcShield.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@" 2>&1 | grep -vE "NU1603" | tee "$log" | grep -E "^\s+(Failed|Skipped) |Error Message|Passed!|Failed!|Total tests|error" || true
status=${PIPESTATUS[0]}

passed=0; failed=0; skipped=0
while read -r line; do
  f=$(sed -E 's/.*Failed: *([0-9]+).*/\1/' <<<"$line"); p=$(sed -E 's/.*Passed: *([0-9]+).*/\1/' <<<"$line"); s=$(sed -E 's/.*Skipped: *([0-9]+).*/\1/' <<<"$line")
  failed=$((failed + f)); passed=$((passed + p)); skipped=$((skipped + s))
done < <(grep -E "(Passed|Failed)! +- +Failed:" "$log")
rm -f "$log"

if [ "$status" != "0" ] && [ "$failed" = "0" ]; then failed=1; fi
if [ "$skipped" != "0" ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" = "0" ] && [ "$status" = "0" ]
