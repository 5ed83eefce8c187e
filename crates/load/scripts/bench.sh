#!/usr/bin/env bash
# The measured runs of crates/load/RESULTS.md: each scenario against its own fresh release
# server (new data dir, free ports), so server RSS and CPU belong to that scenario alone.
#
#   crates/load/scripts/bench.sh [OUT_DIR] [SCENARIO_NAME...]
#
# OUT_DIR (default target/load-results) receives <name>.txt (the report), <name>.json and
# <name>-server.log. With scenario names, only those run (wave100, wave100-slots4, wave500,
# wave100-silent, steady10x5, steady20x5, fresh20, video4x8, video4x8-single, and the long
# class100, class300, class1000).
# The long steps run only when named, or with LONG=1: classN is a class of N clients in one
# family, N/10 rooms × 10, 2 talkers per room, 60 s. SERVER_ARGS adds flags to every server
# (e.g. SERVER_ARGS='--media-shards 1' to compare with one media shard per family). Exit
# status: non-zero when a scenario's sanity checks failed.
set -uo pipefail
cd "$(dirname "$0")/../../.."
out=${1:-target/load-results}
shift || true
mkdir -p "$out"
cargo build --release -q -p alcove-server -p alcove-load || exit 2
bin=${CARGO_TARGET_DIR:-target}/release

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
free_udp_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

status=0
bench() {
  local name=$1; shift
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " =~ " $name " ]]; then return; fi
  if [ "${long:-0}" = 1 ] && [ ${#only[@]} -eq 0 ] && [ "${LONG:-0}" != 1 ]; then return; fi
  local dir http udp pid
  dir=$(mktemp -d)
  http=$(free_port); udp=$(free_udp_port)
  "$bin/alcove" serve --listen "127.0.0.1:$http" --udp-listen "127.0.0.1:$udp" \
    --data-dir "$dir/data" ${SERVER_ARGS:-} >"$out/$name-server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do [ -s "$dir/data/dev-credentials.json" ] && break; sleep 0.1; done
  echo "== $name: alcove-load $*" >&2
  "$bin/alcove-load" --url "http://127.0.0.1:$http" --creds-dir "$dir/data" \
    --server-pid "$pid" --json "$out/$name.json" "$@" | tee "$out/$name.txt"
  local rc=${PIPESTATUS[0]}
  [ "$rc" -ne 0 ] && status=$rc
  kill "$pid"; wait "$pid" 2>/dev/null
  rm -rf "$dir"
  sleep 2
}

only=("$@")
bench wave100 wave --moderators 1 --participants 100 --rooms 10 --talk
bench wave100-slots4 wave --moderators 1 --participants 100 --rooms 10 --talk --slots 4
bench wave100-silent wave --moderators 1 --participants 100 --rooms 10
bench wave500 wave --moderators 1 --participants 500 --rooms 50
bench steady10x5 steady --rooms 10 --size 5 --seconds 20
bench steady20x5 steady --rooms 20 --size 5 --seconds 20
bench fresh20 fresh-vs-move --iterations 20
bench video4x8 video --publishers 4 --receivers 8 --seconds 20 --layers 3
bench video4x8-single video --publishers 4 --receivers 8 --seconds 20 --layers 1
# Long: only when named or with LONG=1.
long=1 bench class100 class --rooms 10 --size 10 --talkers 2 --seconds 60
long=1 bench class300 class --rooms 30 --size 10 --talkers 2 --seconds 60
long=1 bench class1000 class --rooms 100 --size 10 --talkers 2 --seconds 60
exit $status
