#!/usr/bin/env bash
# Stops a Janus started by start.sh:  bench/janus/stop.sh <RUN_DIR>   (add --netns to also
# delete the namespace).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUN="${1:?usage: $0 RUN_DIR [--netns]}"
if [ -f "$RUN/janus.pid" ]; then
  PID="$(cat "$RUN/janus.pid")"
  if kill -0 "$PID" 2>/dev/null && [ "$(cat /proc/"$PID"/comm 2>/dev/null)" = janus ]; then
    kill -TERM "$PID"
    for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$PID" 2>/dev/null && kill -KILL "$PID"
  fi
  rm -f "$RUN/janus.pid"
fi
if [ "${2:-}" = "--netns" ]; then
  "$HERE/netns.sh" down
fi
