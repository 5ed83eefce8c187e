#!/usr/bin/env bash
# One Markdown row per compare.sh run directory (each holding janus.json and alcove.json):
#
#   bench/janus/summarize.sh target/bench-janus/run*-10-5-20
#
# Columns: K×S×T, Janus event loops, 1-min load average before each run, CPU seconds per
# million forwarded frames (and the ratio Alcove/Janus), loss, mean jitter, latency p50/p95,
# server RSS growth per client (and the ratio), talkers' actual send rate.
set -euo pipefail
echo "| run | Janus loops | load avg J / A | CPU s per M fwd J / A (A/J) | loss % J / A | jitter mean ms J / A | latency p50 ms J / A | latency p95 ms J / A | RSS growth KiB/client J / A (A/J) | send fps J / A |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for d in "$@"; do
  jq -r -n --arg name "$(basename "$d")" --slurpfile j "$d/janus.json" --slurpfile a "$d/alcove.json" '
    ($j[0]) as $J | ($a[0]) as $A |
    def f(n): if . == null then "-" else (. * pow(10; n) | round / pow(10; n) | tostring) end;
    def r(a; b): if a == null or b == null or b == 0 then "-" else (a / b) | f(2) end;
    "| \($name): \($A.config.rooms)×\($A.config.size)×\($A.window_s) | \($J.janus_event_loops // "per handle") | \($J.machine.load_average[0] | f(1)) / \($A.machine.load_average[0] | f(1)) | \($J.server_cpu_s_per_million | f(1)) / \($A.server_cpu_s_per_million | f(1)) (\(r($A.server_cpu_s_per_million; $J.server_cpu_s_per_million))) | \($J.loss * 100 | f(3)) / \($A.loss * 100 | f(3)) | \($J.jitter.mean_ms | f(2)) / \($A.jitter.mean_ms | f(2)) | \($J.latency.p50_ms | f(1)) / \($A.latency.p50_ms | f(1)) | \($J.latency.p95_ms | f(1)) / \($A.latency.p95_ms | f(1)) | \($J.server_rss_growth_kib_per_client | f(0)) / \($A.server_rss_growth_kib_per_client | f(0)) (\(r($A.server_rss_growth_kib_per_client; $J.server_rss_growth_kib_per_client))) | \($J.send_rate_per_talker | f(1)) / \($A.send_rate_per_talker | f(1)) |"
  '
done
