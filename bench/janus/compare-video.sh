#!/usr/bin/env bash
# The video load (synthetic VP8 camera, one stream or simulcast q/h/f) against Janus's
# VideoRoom and against Alcove, side by side: `janus-bench video` then `alcove-load video`
# with the same options, in the benchmark's network namespace, on its loopback only.
#
#   bench/janus/compare-video.sh P R T [LAYERS]   # e.g. bench/janus/compare-video.sh 4 8 20 3
#
# P publishers, R receivers, a T-second window, LAYERS 1 or 3 (default 3). The JSON reports,
# the text reports and both servers' logs stay in $OUT (default target/bench-janus/video-P-R-T-L).
# Needs root (network namespace), cargo and jq. Environment as compare.sh: OUT,
# ALCOVE_BENCH_NETNS, JANUS_EVENT_LOOPS, WARMUP (default 2), CONCURRENCY (default 4),
# VIDEO_SLOTS (default 4), NO_BUILD=1, CARGO_TARGET_DIR; EXTRA_ALCOVE_ARGS adds options to
# `alcove-load video` only.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
P="${1:?usage: $0 PUBLISHERS RECEIVERS SECONDS [LAYERS]}"
R="${2:?usage: $0 PUBLISHERS RECEIVERS SECONDS [LAYERS]}"
T="${3:?usage: $0 PUBLISHERS RECEIVERS SECONDS [LAYERS]}"
L="${4:-3}"
NS="${ALCOVE_BENCH_NETNS:-alcove-bench}"
export ALCOVE_BENCH_NETNS="$NS"
WARMUP="${WARMUP:-2}"
CONCURRENCY="${CONCURRENCY:-4}"
VIDEO_SLOTS="${VIDEO_SLOTS:-4}"
OUT="${OUT:-$ROOT/target/bench-janus/video-$P-$R-$T-$L}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
ARGS=(video --publishers "$P" --receivers "$R" --seconds "$T" --layers "$L"
  --video-slots "$VIDEO_SLOTS" --warmup-secs "$WARMUP" --connect-concurrency "$CONCURRENCY")

# shellcheck source=common.sh
source "$HERE/common.sh"

# --- Janus -------------------------------------------------------------------------------
echo "== Janus: janus-bench ${ARGS[*]} =="
start_janus
set +e
in_ns "$BIN/janus-bench" "${ARGS[@]}" --janus-pid "$JPID" --json "$OUT/janus.json" | tee "$OUT/janus.txt"
JRC=${PIPESTATUS[0]}
set -e
"$HERE/stop.sh" "$JANUS_RUN"
cp "$JANUS_RUN/janus.log" "$OUT/janus.log" 2>/dev/null || true
if [ -f "$OUT/janus.json" ]; then
  jq --argjson n "${JANUS_EVENT_LOOPS:-null}" '.janus_event_loops = $n' "$OUT/janus.json" >"$OUT/janus.json.tmp"
  mv "$OUT/janus.json.tmp" "$OUT/janus.json"
fi
[ "$JRC" -le 1 ] || { echo "janus-bench broke off (exit $JRC)" >&2; exit 1; }

# --- Alcove ------------------------------------------------------------------------------
echo "== Alcove: alcove-load ${ARGS[*]} ${EXTRA_ALCOVE_ARGS:-} =="
ip netns exec "$NS" "$BIN/alcove" serve --data-dir "$ALCOVE_DATA" --listen 127.0.0.1:7880 \
  --udp-listen 127.0.0.1:7881 >"$OUT/alcove.log" 2>&1 &
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
# shellcheck disable=SC2086
in_ns "$BIN/alcove-load" "${ARGS[@]}" ${EXTRA_ALCOVE_ARGS:-} --url http://127.0.0.1:7880 \
  --creds-dir "$ALCOVE_DATA" --server-pid "$APID" --no-progress --json "$OUT/alcove.json" \
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
  def line(a; b; c; d): "\(a | pad(34)) \(b | pad(18)) \(c | pad(14)) \(d)";
  def row(name; jv; av; d; r): line(name; jv | f(d); av | f(d); r);
  def lp(x): "q \(x[0]) h \(x[1]) f \(x[2]) none \(x[3])";
  "video: \($A.config.publishers) publishers (\($A.config.layers) layers) + \($A.config.receivers) receivers, \($A.config.video_slots) video slots, \($A.window_s) s window, \($A.machine.nproc) cores (\($A.machine.cpu_model)); Janus event loops: \($J.janus_event_loops // "one per handle (default)")",
  line("metric"; "Janus \($J.server_version)"; "Alcove"; "Alcove/Janus"),
  row("peer connections per client"; $J.peer_connections_per_client; $A.peer_connections_per_client; 0; "-"),
  row("frames/s per layer sent"; $J.send_fps_per_layer; $A.send_fps_per_layer; 1; "-"),
  row("publish kbit/s, layer f"; $J.publish_kbps[2]; $A.publish_kbps[2]; 0; "-"),
  line("layer per (receiver, publisher)"; lp($J.layer_pairs); lp($A.layer_pairs); "-"),
  row("frames expected"; $J.frames_expected; $A.frames_expected; 0; "-"),
  row("frames received"; $J.frames_received; $A.frames_received; 0; "-"),
  row("frames of other layers"; $J.other_layer_frames; $A.other_layer_frames; 0; "-"),
  row("unstamped frames"; $J.unstamped_frames; $A.unstamped_frames; 0; "-"),
  row("loss (%)"; ($J.loss * 100); ($A.loss * 100); 3; "-"),
  row("egress (Mbit/s, RTP)"; $J.egress_mbps; $A.egress_mbps; 2; ratio($A.egress_mbps; $J.egress_mbps; 2)),
  row("per receiver (kbit/s, mean)"; $J.receiver_kbps.mean; $A.receiver_kbps.mean; 0; "-"),
  row("frames/s per (receiver, slot)"; $J.slot_fps.mean; $A.slot_fps.mean; 1; "-"),
  row("forwarded frames"; $J.forwarded_frames; $A.forwarded_frames; 0; "-"),
  row("forwarded packets"; $J.forwarded_packets; $A.forwarded_packets; 0; "-"),
  row("keyframes sent (all layers)"; ($J.keyframes_sent | add); ($A.keyframes_sent | add); 0; "-"),
  row("keyframe requests at publishers"; ($J.keyframe_requests | add); ($A.keyframe_requests | add); 0; "-"),
  row("keyframes received"; $J.keyframes_received; $A.keyframes_received; 0; "-"),
  row("latency p50 (ms)"; $J.latency.p50_ms; $A.latency.p50_ms; 2; ratio($A.latency.p50_ms; $J.latency.p50_ms; 2)),
  row("latency p95 (ms)"; $J.latency.p95_ms; $A.latency.p95_ms; 2; ratio($A.latency.p95_ms; $J.latency.p95_ms; 2)),
  row("server CPU in window (s)"; $J.resources.server_cpu_s; $A.resources.server_cpu_s; 2; ratio($A.resources.server_cpu_s; $J.resources.server_cpu_s; 2)),
  row("server CPU s / forwarded Mbit"; $J.server_cpu_s_per_mbit; $A.server_cpu_s_per_mbit; 4; ratio($A.server_cpu_s_per_mbit; $J.server_cpu_s_per_mbit; 2)),
  row("server CPU s / M frames"; $J.server_cpu_s_per_million_frames; $A.server_cpu_s_per_million_frames; 1; ratio($A.server_cpu_s_per_million_frames; $J.server_cpu_s_per_million_frames; 2)),
  row("server CPU s / M packets"; $J.server_cpu_s_per_million_packets; $A.server_cpu_s_per_million_packets; 1; ratio($A.server_cpu_s_per_million_packets; $J.server_cpu_s_per_million_packets; 2)),
  row("server RSS loaded (MiB)"; ($J.resources.server_rss_loaded / 1048576); ($A.resources.server_rss_loaded / 1048576); 1; ratio($A.resources.server_rss_loaded; $J.resources.server_rss_loaded; 2)),
  row("RSS / client (KiB)"; $J.server_rss_kib_per_client; $A.server_rss_kib_per_client; 0; ratio($A.server_rss_kib_per_client; $J.server_rss_kib_per_client; 2)),
  row("load tool CPU in window (s)"; $J.resources.tool_cpu_s; $A.resources.tool_cpu_s; 2; "-"),
  row("load average (1 min) before"; $J.machine.load_average[0]; $A.machine.load_average[0]; 2; "-"),
  row("load average (1 min) after"; $J.load_average_after[0]; $A.load_average_after[0]; 2; "-"),
  row("checks passed"; ([$J.checks[] | select(.ok)] | length); ([$A.checks[] | select(.ok)] | length); 0; "of \($J.checks | length) / \($A.checks | length)")
' | tee "$OUT/side-by-side.txt"
echo
echo "reports: $OUT/janus.json $OUT/alcove.json (logs: janus.log, alcove.log)"
