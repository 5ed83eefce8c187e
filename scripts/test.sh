#!/usr/bin/env bash
# Runs every test of Alcove: the README's test command.
#   ./scripts/test.sh
# Rust: unit tests, the core's scenario and model tests (simulated time), the end-to-end
# tests through real sockets. Set PROPTEST_CASES for a longer model run.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p target

echo "== cargo test (workspace) =="
cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/test-output.txt
status=${PIPESTATUS[0]}

sum() { grep -E '^test result:' target/test-output.txt | sed -E "s/.* ([0-9]+) passed; ([0-9]+) failed.*/\\$1/" | awk '{s+=$1} END {print s+0}'; }
echo
echo "rust: $(sum 1) passed, $(sum 2) failed"
exit "$status"
