#!/usr/bin/env bash
# Where a client's memory goes (issue 8 item 5): the release server under valgrind massif,
# `alcove-load steady` with 4 rooms × 5 talking clients (+ the moderator) for 15 s, then the
# heap by allocation site per client over the empty server.
#
#   crates/load/scripts/heap-profile.sh [OUT_DIR]
#
# Needs valgrind (apt-get install valgrind). Prints the table of
# crates/load/scripts/massif_by_site.py; OUT_DIR (default target/heap-profile) keeps
# massif.out, the ms_print text and the load report.
set -uo pipefail
cd "$(dirname "$0")/../../.."
out=${1:-target/heap-profile}
mkdir -p "$out"
cargo build --release -q --locked -p alcove-server -p alcove-load || exit 2
bin=${CARGO_TARGET_DIR:-target}/release
dir=$(mktemp -d)
http=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
udp=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
valgrind --tool=massif --massif-out-file="$out/massif.out" --depth=30 \
  "$bin/alcove" serve --listen "127.0.0.1:$http" --udp-listen "127.0.0.1:$udp" \
  --data-dir "$dir/data" --media-shards 1 >"$out/server.log" 2>&1 &
pid=$!
for _ in $(seq 300); do [ -s "$dir/data/dev-credentials.json" ] && break; sleep 0.2; done
"$bin/alcove-load" --url "http://127.0.0.1:$http" --creds-dir "$dir/data" \
  steady --rooms 4 --size 5 --seconds 15 >"$out/load.txt" 2>&1
kill -INT "$pid"; wait "$pid" 2>/dev/null
ms_print "$out/massif.out" >"$out/ms_print.txt"
# The last detailed snapshot while everyone is connected, against the first one (empty server).
snaps=$(sed -n 's/^ Detailed snapshots: \[\(.*\)\]/\1/p' "$out/ms_print.txt" | tr -d ' (peak)' | tr ',' ' ')
first=$(echo "$snaps" | awk '{print $1}')
steady=$(echo "$snaps" | awk '{print $(NF-1)}')
python3 crates/load/scripts/massif_by_site.py "$out/massif.out" "$steady" 21 "$first"
rm -rf "$dir"
