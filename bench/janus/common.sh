# The set-up compare.sh and compare-video.sh share, sourced after they set HERE, ROOT, NS and
# OUT: jq and Janus installed, the release binaries built (unless NO_BUILD), the benchmark's
# network namespace up and empty (`in_ns` runs a command in it), a cleanup trap that stops
# Janus and Alcove, and `start_janus` (Janus started, its pid in JPID).

if ! command -v jq >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq
fi
"$HERE/install.sh" >/dev/null

BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
if [ -z "${NO_BUILD:-}" ]; then
  echo "== building release binaries =="
  (cd "$ROOT" && cargo build --release --locked -q -p alcove-server -p alcove-load -p alcove-janus-bench)
fi

"$HERE/netns.sh" up
in_ns() { ip netns exec "$NS" "$@"; }
if [ -n "$(ip netns pids "$NS")" ]; then
  echo "processes already run in namespace $NS (ip netns pids $NS): stop them first" >&2
  exit 1
fi

JANUS_RUN="$OUT/janus-run"
ALCOVE_DATA="$(mktemp -d /tmp/alcove-bench-data.XXXXXX)"
APID=""
cleanup() {
  "$HERE/stop.sh" "$JANUS_RUN" >/dev/null 2>&1 || true
  if [ -n "$APID" ] && kill -0 "$APID" 2>/dev/null; then kill -TERM "$APID" 2>/dev/null || true; fi
  rm -rf "$ALCOVE_DATA"
}
trap cleanup EXIT

# Starts Janus (start.sh) with its run directory in $JANUS_RUN; sets JPID.
start_janus() {
  rm -rf "$JANUS_RUN"
  JANUS_RUN_DIR="$JANUS_RUN" "$HERE/start.sh" >"$OUT/janus-start.txt"
  JPID="$(sed -n 's/^PID=//p' "$OUT/janus-start.txt")"
  if [ "$(cat /proc/"$JPID"/comm 2>/dev/null)" != janus ]; then
    echo "pid $JPID is not janus" >&2
    exit 1
  fi
}
