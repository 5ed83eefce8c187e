#!/usr/bin/env bash
# Runs every test of Alcove: the README's test command.
#   ./scripts/test.sh
# Rust: unit tests, the core's scenario and model tests (simulated time), the end-to-end
# tests through real sockets. Set PROPTEST_CASES for a longer model run.
# Then the real-browser media test (tests/browser; needs /usr/bin/chromium, node and npm).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p target

echo "== cargo test (workspace) =="
cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/test-output.txt
status=${PIPESTATUS[0]}

sum() { grep -E '^test result:' target/test-output.txt | sed -E "s/.* ([0-9]+) passed; ([0-9]+) failed.*/\\$1/" | awk '{s+=$1} END {print s+0}'; }
echo
echo "rust: $(sum 1) passed, $(sum 2) failed"

# Real browsers (system Chromium) against the server binary: who hears whom through break-out
# moves, one peer connection throughout, share/canvas isolation, move latency.
echo
echo "== browser media test (tests/browser/run.sh) =="
if [ ! -x target/debug/alcove ]; then
  cargo build -p alcove-server --locked || status=1
fi
tests/browser/run.sh || status=1
exit "$status"
