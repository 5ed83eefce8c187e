#!/usr/bin/env bash
# The same steady audio load against Janus's VideoRoom and against Alcove, side by side.
#
#   bench/janus/compare.sh K S T        # e.g. bench/janus/compare.sh 10 5 20
#
# 1. builds the release binaries (alcove, alcove-load, janus-bench);
# 2. installs Janus if needed (install.sh) and creates the private network namespace
#    (netns.sh): both servers and both load tools run in it, on its loopback only;
# 3. starts Janus (start.sh), runs `janus-bench steady --rooms K --size S --seconds T`, stops it;
# 4. starts `alcove serve` with a temp data dir, runs `alcove-load steady` with the same K, S,
#    T, stops it;
# 5. prints both reports' numbers side by side, with Alcove/Janus ratios.
#
# The two JSON reports and both servers' logs stay in $OUT (default target/bench-janus/K-S-T).
# Needs root (network namespace), cargo and jq (installed from Debian when missing).
# Environment: OUT, ALCOVE_BENCH_NETNS, JANUS_EVENT_LOOPS (see start.sh), WARMUP (seconds,
# default 1), CONCURRENCY (clients connecting at once, default 8), NO_BUILD=1 (use the release
# binaries already built), CARGO_TARGET_DIR, ALCOVE_ARGS (more flags for `alcove serve`, e.g.
# `--str0m-audio-send` to measure str0m's audio send path in the same script).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
K="${1:?usage: $0 ROOMS SIZE SECONDS}"
S="${2:?usage: $0 ROOMS SIZE SECONDS}"
T="${3:?usage: $0 ROOMS SIZE SECONDS}"
NS="${ALCOVE_BENCH_NETNS:-alcove-bench}"
export ALCOVE_BENCH_NETNS="$NS"
WARMUP="${WARMUP:-1}"
CONCURRENCY="${CONCURRENCY:-8}"
OUT="${OUT:-$ROOT/target/bench-janus/$K-$S-$T}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

# shellcheck source=common.sh
source "$HERE/common.sh"

# --- Janus -------------------------------------------------------------------------------
echo "== Janus: janus-bench steady --rooms $K --size $S --seconds $T =="
start_janus
set +e
in_ns "$BIN/janus-bench" steady --rooms "$K" --size "$S" --seconds "$T" --warmup-secs "$WARMUP" \
  --janus-pid "$JPID" --connect-concurrency "$CONCURRENCY" --json "$OUT/janus.json" \
  | tee "$OUT/janus.txt"
JRC=${PIPESTATUS[0]}
set -e
"$HERE/stop.sh" "$JANUS_RUN"
cp "$JANUS_RUN/janus.log" "$OUT/janus.log" 2>/dev/null || true
# Record Janus's threading in its report (null: one event loop thread per handle, the default).
if [ -f "$OUT/janus.json" ]; then
  jq --argjson n "${JANUS_EVENT_LOOPS:-null}" '.janus_event_loops = $n' "$OUT/janus.json" >"$OUT/janus.json.tmp"
  mv "$OUT/janus.json.tmp" "$OUT/janus.json"
fi
[ "$JRC" -le 1 ] || { echo "janus-bench broke off (exit $JRC)" >&2; exit 1; }

# --- Alcove ------------------------------------------------------------------------------
echo "== Alcove: alcove-load steady --rooms $K --size $S --seconds $T =="
# Not through in_ns: a backgrounded shell function is a subshell, and $! must be alcove itself
# (`ip netns exec` execs its command in place).
ip netns exec "$NS" "$BIN/alcove" serve --data-dir "$ALCOVE_DATA" --listen 127.0.0.1:7880 \
  --udp-listen 127.0.0.1:7881 ${ALCOVE_ARGS:-} >"$OUT/alcove.log" 2>&1 &
APID=$!
for _ in $(seq 1 100); do
  kill -0 "$APID" 2>/dev/null || { echo "alcove exited; see $OUT/alcove.log" >&2; exit 1; }
  if [ -f "$ALCOVE_DATA/dev-credentials.json" ] && in_ns bash -c 'exec 3<>/dev/tcp/127.0.0.1/7880' 2>/dev/null; then
    break
  fi
  sleep 0.1
done
if [ "$(cat /proc/"$APID"/comm 2>/dev/null)" != alcove ]; then
  echo "pid $APID is not alcove" >&2
  exit 1
fi
set +e
in_ns "$BIN/alcove-load" steady --rooms "$K" --size "$S" --seconds "$T" --warmup-secs "$WARMUP" \
  --url http://127.0.0.1:7880 --creds-dir "$ALCOVE_DATA" --server-pid "$APID" \
  --connect-concurrency "$CONCURRENCY" --no-progress --json "$OUT/alcove.json" \
  | tee "$OUT/alcove.txt"
ARC=${PIPESTATUS[0]}
set -e
kill -TERM "$APID" 2>/dev/null || true
wait "$APID" 2>/dev/null || true
APID=""
[ "$ARC" -le 1 ] || { echo "alcove-load broke off (exit $ARC)" >&2; exit 1; }

# --- Side by side --------------------------------------------------------------------------
jq -r -n --slurpfile j "$OUT/janus.json" --slurpfile a "$OUT/alcove.json" '
  ($j[0]) as $J | ($a[0]) as $A |
  def f(d): if . == null then "-" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
  def ratio(a; b; d): if a == null or b == null or b == 0 then "-" else (a / b) | f(d) end;
  def pad(n): tostring as $s | $s + ([range(0; ([n - ($s | length), 0] | max))] | map(" ") | join(""));
  def line(a; b; c; d): "\(a | pad(30)) \(b | pad(18)) \(c | pad(14)) \(d)";
  def row(name; jv; av; d; r): line(name; jv | f(d); av | f(d); r);
  "steady: \($A.config.rooms) rooms x \($A.config.size) members, \($A.window_s) s window, \($A.machine.nproc) cores (\($A.machine.cpu_model)); Janus event loops: \($J.janus_event_loops // "one per handle (default)")",
  line("metric"; "Janus \($J.server_version)"; "Alcove"; "Alcove/Janus"),
  row("peer connections per member"; $J.peer_connections_per_member; 1; 0; "-"),
  row("frames sent (window)"; $J.frames_sent; $A.frames_sent; 0; "-"),
  row("send rate per talker (/s)"; $J.send_rate_per_talker; $A.send_rate_per_talker; 1; "-"),
  row("frames expected"; $J.frames_expected; $A.frames_expected; 0; "-"),
  row("frames received"; $J.frames_received; $A.frames_received; 0; "-"),
  row("loss (%)"; ($J.loss * 100); ($A.loss * 100); 3; ratio($A.loss; $J.loss; 2)),
  row("jitter mean (ms)"; $J.jitter.mean_ms; $A.jitter.mean_ms; 3; ratio($A.jitter.mean_ms; $J.jitter.mean_ms; 2)),
  row("jitter p95 (ms)"; $J.jitter.p95_ms; $A.jitter.p95_ms; 3; "-"),
  row("latency p50 (ms)"; $J.latency.p50_ms; $A.latency.p50_ms; 2; ratio($A.latency.p50_ms; $J.latency.p50_ms; 2)),
  row("latency p95 (ms)"; $J.latency.p95_ms; $A.latency.p95_ms; 2; ratio($A.latency.p95_ms; $J.latency.p95_ms; 2)),
  row("server CPU in window (s)"; $J.resources.server_cpu_s; $A.resources.server_cpu_s; 2; ratio($A.resources.server_cpu_s; $J.resources.server_cpu_s; 2)),
  row("server CPU s / million fwd"; $J.server_cpu_s_per_million; $A.server_cpu_s_per_million; 2; ratio($A.server_cpu_s_per_million; $J.server_cpu_s_per_million; 2)),
  row("server RSS before (MiB)"; ($J.resources.server_rss_before / 1048576); ($A.resources.server_rss_before / 1048576); 1; "-"),
  row("server RSS loaded (MiB)"; ($J.resources.server_rss_loaded / 1048576); ($A.resources.server_rss_loaded / 1048576); 1; ratio($A.resources.server_rss_loaded; $J.resources.server_rss_loaded; 2)),
  row("RSS growth / client (KiB)"; $J.server_rss_growth_kib_per_client; $A.server_rss_growth_kib_per_client; 1; ratio($A.server_rss_growth_kib_per_client; $J.server_rss_growth_kib_per_client; 2)),
  row("RSS / client (KiB)"; $J.server_rss_kib_per_client; $A.server_rss_kib_per_client; 1; ratio($A.server_rss_kib_per_client; $J.server_rss_kib_per_client; 2)),
  row("load tool CPU in window (s)"; $J.resources.tool_cpu_s; $A.resources.tool_cpu_s; 2; "-"),
  row("load average (1 min) before"; $J.machine.load_average[0]; $A.machine.load_average[0]; 2; "-"),
  row("load average (1 min) after"; $J.load_average_after[0]; $A.load_average_after[0]; 2; "-"),
  row("checks passed"; ([$J.checks[] | select(.ok)] | length); ([$A.checks[] | select(.ok)] | length); 0; "of \($J.checks | length) / \($A.checks | length)")
' | tee "$OUT/side-by-side.txt"
echo
echo "reports: $OUT/janus.json $OUT/alcove.json (logs: janus.log, alcove.log)"
