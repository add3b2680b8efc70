#!/usr/bin/env bash
# The device suites N times in a row (default 20) while CPU burners keep every core busy, as a loaded
# CI machine does. Stops at the first failing round and prints its output; prints a tally at the end.
#   test/stress/devices-under-load.sh [ROUNDS] [test files...]
#   BURNERS=4 test/stress/devices-under-load.sh 5 src-main/devices/android-target.test.ts
set -uo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${1:-20}
shift || true
if [ $# -gt 0 ]; then FILES=("$@"); else
  FILES=(src-main/devices test/devices.integration.test.ts test/devices-adb.integration.test.ts test/device-sources.integration.test.ts test/stf-farm.integration.test.ts test/sim-device)
fi
BURNERS=${BURNERS:-$(nproc)}

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM
for _ in $(seq "$BURNERS"); do
  node -e 'for (;;) Math.sqrt(Math.random())' &
  pids+=($!)
done
echo "burners: $BURNERS busy loops (pids ${pids[*]}); rounds: $ROUNDS; files: ${FILES[*]}"

log=$(mktemp)
passed=0
for i in $(seq "$ROUNDS"); do
  start=$(date +%s)
  if npx vitest run "${FILES[@]}" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "round $i/$ROUNDS: passed ($(sed "s/\x1b\[[0-9;]*m//g" "$log" | grep -E "^\s*Tests" | xargs), $(( $(date +%s) - start )) s)"
  else
    echo "round $i/$ROUNDS: FAILED after $(( $(date +%s) - start )) s"
    sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -vE '^\s+✓' | tail -80
    echo "result: $passed of $i rounds passed under load"
    rm -f "$log"
    exit 1
  fi
done
rm -f "$log"
echo "result: $passed of $ROUNDS rounds passed under load"
