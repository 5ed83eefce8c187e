#!/usr/bin/env bash
# Bounded fuzz run of every cargo-fuzz target (see fuzz/README.md).
#   fuzz/run.sh [seconds per target]      default 10
# Installs cargo-fuzz if it is missing. Works on the stable toolchain: the targets are built
# without a sanitizer (`--sanitizer none`; every crate under test forbids `unsafe`), which
# needs no nightly flag. Seeds come from fuzz/corpus/<target> (committed, never written to);
# what the fuzzer finds goes to fuzz/target/fuzz-corpus/<target> (kept between local runs),
# crashes to fuzz/artifacts/<target>. Exits non-zero if any target fails. The targets tolerate
# no known finding (F1 and F2 are fixed; their regression tests run in `cargo test`).
set -uo pipefail
cd "$(dirname "$0")"
secs="${1:-10}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz =="
  cargo install cargo-fuzz --locked || exit 1
fi

mkdir -p target
status=0
for t in $(cargo fuzz list); do
  mkdir -p "corpus/$t" "target/fuzz-corpus/$t"
  log="target/fuzz-$t.log"
  echo "== fuzz $t (${secs} s) =="
  cargo fuzz run --sanitizer none "$t" "target/fuzz-corpus/$t" "corpus/$t" -- \
    -max_total_time="$secs" -timeout=20 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    echo "fuzz $t: ok, ${execs:-?} executions in ${secs} s"
  else
    status=1
    echo "fuzz $t: FAILED (exit $rc), ${execs:-?} executions; end of $log:"
    grep -E -A12 'panicked at|ERROR:|^error' "$log" | head -60
    grep -E -A3 '^Reproduce with' "$log" || tail -20 "$log"
  fi
done
exit "$status"
