#!/usr/bin/env bash
# Runs every RpcShield test (unit + integration against real anvil, Kestrel, SQLite, Prometheus)
# and ends with one line: "N passed, N failed[, N skipped]" (counted from the TRX results).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if ! bash scripts/install-deps.sh; then
  echo "dependency install failed"
  echo "0 passed, 1 failed"
  exit 1
fi

build_log="$(mktemp)"
if ! dotnet build RpcShield.sln -c Release -nologo -v quiet >"$build_log" 2>&1; then
  grep -E " error " "$build_log" | sort -u | head -40
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
rm -f "$build_log"

results="$(mktemp -d)"
dotnet test RpcShield.sln -c Release --no-build -nologo \
  --logger "trx;LogFilePrefix=rpcshield" --logger "console;verbosity=minimal" \
  --results-directory "$results" "$@" 2>&1 | grep -vE "NU1603"
status=${PIPESTATUS[0]}

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { sed -nE "s/.* $1=\"([0-9]+)\".*/\1/p" <<<"$counters"; }
  p=$(get passed); f=$(get failed); t=$(get total); e=$(get executed); n=$(get notExecuted)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${n:-0}))
  [ -n "$t" ] && [ -n "$e" ] && [ "$t" -gt "$e" ] && [ "${n:-0}" = "0" ] && skipped=$((skipped + t - e))
done
rm -rf "$results"

# A crashed or aborted run can leave fewer results than tests: never report that as green.
if [ "$status" != "0" ] && [ "$failed" = "0" ]; then failed=1; fi
if [ "$passed" = "0" ] && [ "$failed" = "0" ]; then failed=1; fi
if [ "$skipped" != "0" ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" = "0" ]
