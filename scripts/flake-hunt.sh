#!/usr/bin/env bash
# Flake hunt: runs the whole suite (./scripts/test.sh) N times while another process keeps
# every core busy, and reports every test that failed with the number of runs it failed in,
# each run's duration, and a last line `flake-hunt: N runs, G green`.
#   scripts/flake-hunt.sh [N]          default 10
# Builds once first (test binaries, the server binary, the JS dependencies), so every run
# measures the suite, not the compiler. The load is `stress-ng --cpu <cores>` (Debian's
# stress-ng, installed with apt-get when missing and possible), else one shell busy loop per
# core; it is stopped at the end, on Ctrl-C and on any exit (trap).
# Logs: target/flake-hunt/run-<i>.log (the suite's whole output), target/flake-hunt/summary.txt.
# Failures are read from cargo's `test NAME ... FAILED` lines, the node test runner's `not ok`
# lines (TAP), tsc's `error TS…` lines and the browser test's `FAILED label` lines; a run that
# fails without naming a test is reported as such. Exit status: 0 when every run was green.
set -uo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
case "$runs" in '' | *[!0-9]* | 0) echo "usage: $0 [N >= 1]" >&2; exit 2 ;; esac
out=target/flake-hunt
mkdir -p "$out"
rm -f "$out"/run-*.log "$out"/run-*.failed "$out"/summary.txt

# ----- build once -----
echo "== flake-hunt: building once =="
cargo test --workspace --locked --no-run || exit 1
cargo build -p alcove-server --locked || exit 1
(cd sdk-js && { [ -d node_modules/typescript ] || npm ci --no-audit --no-fund --loglevel=error; }) || exit 1
(cd tests/browser && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error; }) || exit 1

# ----- the load -----
cores=$(nproc 2>/dev/null || echo 2)
load_pids=()
suite_pid=
stop_load() {
  local p
  for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${load_pids[@]}"; do wait "$p" 2>/dev/null; done
  load_pids=()
}
stop_suite() {
  # The suite runs in its own session (setsid): end its whole process group.
  if [ -n "$suite_pid" ]; then
    kill -TERM -- "-$suite_pid" 2>/dev/null
    wait "$suite_pid" 2>/dev/null
    suite_pid=
  fi
}
trap 'stop_load' EXIT
trap 'echo; echo "flake-hunt: interrupted, stopping the suite and the load"; stop_suite; stop_load; exit 130' INT TERM HUP

if ! command -v stress-ng >/dev/null 2>&1; then
  echo "== installing stress-ng (apt-get) =="
  if [ "$(id -u)" -eq 0 ]; then
    apt-get install -y stress-ng >/dev/null 2>&1 || true
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n apt-get install -y stress-ng >/dev/null 2>&1 || true
  fi
fi
if command -v stress-ng >/dev/null 2>&1; then
  stress-ng --cpu "$cores" --quiet &
  load_pids+=($!)
  load="stress-ng --cpu $cores (pid ${load_pids[0]})"
else
  for _ in $(seq "$cores"); do
    (while :; do :; done) &
    load_pids+=($!)
  done
  load="$cores shell busy loops (pids ${load_pids[*]})"
fi
echo "== flake-hunt: $runs runs of ./scripts/test.sh under load: $load =="

# ----- the runs -----
# Failed test names of one run's log, one per line, each once.
failures() {
  awk '
    /^ *Running .*\(.*\)$/ {
      bin = $0; sub(/^.*\(/, "", bin); sub(/\).*$/, "", bin); sub(/^.*\//, "", bin); sub(/-[0-9a-f]+$/, "", bin)
      next
    }
    /^ *Doc-tests / { bin = "doc:" $2; next }
    /^test .* \.\.\. FAILED$/ { name = $0; sub(/^test /, "", name); sub(/ \.\.\. FAILED$/, "", name); print "rust " bin " " name; next }
    /^ *not ok [0-9]+ - / && !/# (TODO|SKIP)/ { name = $0; sub(/^ *not ok [0-9]+ - /, "", name); print "js " name; next }
    /error TS[0-9]+:/ { print "tsc " $0; next }
    /^FAILED / { name = $0; sub(/^FAILED /, "", name); print "browser " name; next }
  ' "$1" | sort -u
}

green=0
durations=()
for i in $(seq 1 "$runs"); do
  log="$out/run-$i.log"
  started=$(date +%s%N)
  setsid ./scripts/test.sh >"$log" 2>&1 &
  suite_pid=$!
  wait "$suite_pid"
  rc=$?
  suite_pid=
  ms=$((($(date +%s%N) - started) / 1000000))
  secs=$(awk -v ms="$ms" 'BEGIN { printf "%.1f", ms / 1000 }')
  failures "$log" >"$out/run-$i.failed"
  if [ "$rc" -ne 0 ] && [ ! -s "$out/run-$i.failed" ]; then
    echo "suite exited $rc without naming a failed test (see $log)" >"$out/run-$i.failed"
  fi
  nfail=$(wc -l <"$out/run-$i.failed")
  if [ "$rc" -eq 0 ] && [ "$nfail" -eq 0 ]; then
    green=$((green + 1))
    verdict=green
  else
    verdict="red (exit $rc, $nfail failed)"
  fi
  load_avg=$(cut -d' ' -f1-3 /proc/loadavg)
  durations+=("run $i: ${secs} s, $verdict, load average $load_avg")
  echo "flake-hunt: ${durations[-1]}"
  sed 's/^/    /' "$out/run-$i.failed"
done
stop_load

{
  echo
  echo "== flake-hunt: failed tests (runs failed, of $runs) =="
  # Not `cat | grep -q`: under pipefail grep's early exit fails cat (SIGPIPE) and hides them.
  if grep -qs . "$out"/run-*.failed; then
    cat "$out"/run-*.failed | sort | uniq -c | sort -rn | awk -v n="$runs" '{ c = $1; $1 = ""; printf "  %d/%d %s\n", c, n, substr($0, 2) }'
  else
    echo "  none"
  fi
  echo "== flake-hunt: runs (load: $load) =="
  for d in "${durations[@]}"; do echo "  $d"; done
  echo "flake-hunt: $runs runs, $green green"
} | tee "$out/summary.txt"
[ "$green" -eq "$runs" ]
