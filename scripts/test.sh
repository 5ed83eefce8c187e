#!/usr/bin/env bash
# Runs every test of Alcove: the README's test command.
#   ./scripts/test.sh
# Rust: unit tests, the core's scenario and model tests (simulated time), the end-to-end
# tests through real sockets. Set PROPTEST_CASES for a longer model run.
# Then the JS SDK's checks and tests, and the real-browser media test (tests/browser; needs
# /usr/bin/chromium, node and npm).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p target

echo "== cargo test (workspace) =="
cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/test-output.txt
status=${PIPESTATUS[0]}

sum() { grep -E '^test result:' target/test-output.txt | sed -E "s/.* ([0-9]+) passed; ([0-9]+) failed.*/\\$1/" | awk '{s+=$1} END {print s+0}'; }
echo
echo "rust: $(sum 1) passed, $(sum 2) failed"

# The browser SDK: type check (tsc), unit and fixture tests, a lifecycle test against the real
# server, and the demo page driven in headless Chromium.
echo
echo "== sdk-js (tsc check, node tests, demo in Chromium) =="
if [ ! -x target/debug/alcove ]; then
  cargo build -p alcove-server --locked || status=1
fi
export ALCOVE_BIN="$PWD/target/debug/alcove"
(
  cd sdk-js
  [ -d node_modules/typescript ] || npm ci --no-audit --no-fund --loglevel=error
  npm run -s check && npm test && npm run -s test:browser
) || status=1

# Real browsers (system Chromium) against the server binary: who hears whom through break-out
# moves, one peer connection throughout, share/canvas isolation, move latency.
echo
echo "== browser media test (tests/browser/run.sh) =="
tests/browser/run.sh || status=1

# Chromium with UDP dropped (nftables in its namespace): ICE over TCP, then TURN over TCP
# through Debian's coturn (issue 16; about 35 s).
echo
echo "== browser, UDP blocked (tests/browser/udp_blocked.sh) =="
tests/browser/udp_blocked.sh || status=1

# Bounded fuzzing (fuzz/README.md): signalling decode, REST bodies, the family core. In CI, or
# when ALCOVE_FUZZ is set; 5 s per target after the first build.
if [ -n "${CI:-}" ] || [ -n "${ALCOVE_FUZZ:-}" ]; then
  echo
  echo "== fuzz (fuzz/run.sh 5) =="
  fuzz/run.sh 5 || status=1
fi
exit "$status"
