#!/usr/bin/env bash
# Profiles a release server under `alcove-load steady` with perf and writes a flame graph.
#
#   scripts/flamegraph.sh [OUT_DIR] [SCENARIO ARGS...]
#
# Default OUT_DIR target/flamegraph, default scenario `steady --rooms 10 --size 5 --seconds 20`.
# It starts a fresh release server (new data dir, free ports), records the server process
# only (every thread) with `perf record --call-graph dwarf` while the load tool runs the
# scenario against it, then writes into OUT_DIR:
#
#   perf.data          the recording (large; `perf report -i OUT_DIR/perf.data`)
#   stacks.folded      one line per stack, `thread;root;...;leaf COUNT`
#   top.txt            the top 30 functions by self and by inclusive time
#   flamegraph.svg     when `inferno-flamegraph` is on PATH (`cargo install inferno`)
#   load.txt / .json   the load tool's report; server.log
#
# Environment: FREQ (sampling frequency, Hz; default 499), CALL_GRAPH (perf's --call-graph
# argument; default `dwarf,16384`: the release profile has no frame pointers, and DWARF
# unwinding through .eh_frame works without debug info; use `fp` only for a build with
# RUSTFLAGS=-Cforce-frame-pointers=yes).
# Needs perf (linux-perf) and permission to profile (root, or kernel.perf_event_paranoid ≤ 1).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/flamegraph}
shift || true
scenario=("$@")
[ ${#scenario[@]} -eq 0 ] && scenario=(steady --rooms 10 --size 5 --seconds 20)
freq=${FREQ:-499}
call_graph=${CALL_GRAPH:-dwarf,16384}
command -v perf >/dev/null || { echo "flamegraph.sh: perf not found (apt-get install linux-perf)" >&2; exit 2; }
mkdir -p "$out"
cargo build --release -q -p alcove-server -p alcove-load || exit 2
bin=${CARGO_TARGET_DIR:-target}/release

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
free_udp_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

dir=$(mktemp -d)
http=$(free_port); udp=$(free_udp_port)
"$bin/alcove" serve --listen "127.0.0.1:$http" --udp-listen "127.0.0.1:$udp" \
  --data-dir "$dir/data" >"$out/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$dir/data/dev-credentials.json" ] && break; sleep 0.1; done

echo "== perf record -F $freq --call-graph $call_graph -p $server (load average: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
perf record -F "$freq" --call-graph "$call_graph" -p "$server" -o "$out/perf.data" -q 2>"$out/perf-record.log" &
recorder=$!
sleep 0.5
echo "== alcove-load ${scenario[*]}" >&2
"$bin/alcove-load" --url "http://127.0.0.1:$http" --creds-dir "$dir/data" --server-pid "$server" \
  --no-progress --json "$out/load.json" "${scenario[@]}" | tee "$out/load.txt"
rc=${PIPESTATUS[0]}
kill -INT "$recorder"; wait "$recorder"

echo "== folding stacks" >&2
perf script -i "$out/perf.data" 2>/dev/null \
  | python3 crates/load/scripts/perf_fold.py "$out/stacks.folded" "$out/top.txt" 30 || exit 2
{
  echo "perf record -F $freq --call-graph $call_graph -p <alcove serve> during: alcove-load ${scenario[*]}"
  echo "commit $(git rev-parse --short HEAD 2>/dev/null); load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  cat "$out/top.txt"
} >"$out/top.txt.tmp" && mv "$out/top.txt.tmp" "$out/top.txt"
cat "$out/top.txt"
if command -v inferno-flamegraph >/dev/null; then
  inferno-flamegraph --title "alcove serve: ${scenario[*]}" <"$out/stacks.folded" >"$out/flamegraph.svg" \
    && echo "flame graph: $out/flamegraph.svg" >&2
else
  echo "no inferno-flamegraph on PATH (cargo install inferno): no SVG; the folded stacks are in $out/stacks.folded" >&2
fi
exit "$rc"
