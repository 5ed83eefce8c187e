#!/usr/bin/env bash
# Starts Janus with this folder's configuration, on loopback only, inside the benchmark's
# private network namespace (see netns.sh).
#
#   bench/janus/start.sh            # background; prints PID=, LOG=, WS=, NETNS=
#   bench/janus/start.sh --fg       # foreground (Ctrl-C stops it)
#
# Environment:
#   ALCOVE_BENCH_NETNS   namespace name (default alcove-bench)
#   JANUS_RUN_DIR        where the log and pid file go (default: a new temp dir)
#   JANUS_EVENT_LOOPS    if set, Janus runs N shared event loops instead of one thread per handle
#
# Clients must run in the same namespace: `ip netns exec alcove-bench <command>`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS="${ALCOVE_BENCH_NETNS:-alcove-bench}"
FG=""
[ "${1:-}" = "--fg" ] && FG=1

if ! command -v janus >/dev/null 2>&1; then
  echo "janus is not installed: run $HERE/install.sh" >&2
  exit 1
fi

RUN="${JANUS_RUN_DIR:-$(mktemp -d /tmp/alcove-janus.XXXXXX)}"
mkdir -p "$RUN"
"$HERE/netns.sh" up

# The repo's configuration is used as it is, unless this machine needs a variant of it
# (another multiarch folder, or JANUS_EVENT_LOOPS): then a copy goes to the run dir.
CONF="$HERE/conf"
LIBDIR="$(dirname "$(ls -d /usr/lib/*/janus/plugins 2>/dev/null | head -n1)")"
if [ "$LIBDIR" != "/usr/lib/x86_64-linux-gnu/janus" ] || [ -n "${JANUS_EVENT_LOOPS:-}" ]; then
  mkdir -p "$RUN/conf"
  cp "$HERE"/conf/*.jcfg "$RUN/conf/"
  sed -i "s#/usr/lib/x86_64-linux-gnu/janus#$LIBDIR#" "$RUN/conf/janus.jcfg"
  if [ -n "${JANUS_EVENT_LOOPS:-}" ]; then
    sed -i "s/^\s*#event_loops = .*/\tevent_loops = ${JANUS_EVENT_LOOPS}/" "$RUN/conf/janus.jcfg"
  fi
  CONF="$RUN/conf"
fi

ARGS=(-C "$CONF/janus.jcfg" -F "$CONF" -L "$RUN/janus.log")
if [ -n "$FG" ]; then
  echo "janus in netns $NS, config $CONF, log $RUN/janus.log" >&2
  exec ip netns exec "$NS" janus "${ARGS[@]}"
fi

# `ip netns exec` execs janus in place, so $! is janus itself.
ip netns exec "$NS" janus -N "${ARGS[@]}" >"$RUN/janus.stdout" 2>&1 &
PID=$!
echo "$PID" >"$RUN/janus.pid"

# Wait for the WebSocket transport (127.0.0.1:8188 inside the namespace).
for _ in $(seq 1 100); do
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "janus exited; see $RUN/janus.log" >&2
    tail -n 30 "$RUN/janus.log" >&2 || true
    exit 1
  fi
  if ip netns exec "$NS" bash -c 'exec 3<>/dev/tcp/127.0.0.1/8188' 2>/dev/null; then
    echo "PID=$PID"
    echo "LOG=$RUN/janus.log"
    echo "WS=ws://127.0.0.1:8188"
    echo "NETNS=$NS"
    echo "RUN_DIR=$RUN"
    exit 0
  fi
  sleep 0.1
done
echo "janus did not open 127.0.0.1:8188 within 10 s; see $RUN/janus.log" >&2
kill "$PID" 2>/dev/null || true
exit 1
