#!/usr/bin/env bash
# Real-browser media test: system Chromium (playwright-core, no browser download) against
# target/debug/alcove, inside a network namespace that has only `lo`, so every packet stays on
# loopback. Builds nothing: run `cargo build -p alcove-server` first.
#   tests/browser/run.sh                  (audio, share, canvas: media.test.mjs)
#   tests/browser/run.sh video.test.mjs   (camera video in the main room)
#   tests/browser/run.sh video5.test.mjs  (issue 14's done criterion: five cameras, a BR of three)
#   tests/browser/run.sh video_throttle.test.mjs  (a receiver throttled with tc on lo: lower layer or audio only)
# Needs root (or unprivileged user namespaces) for `unshare --net`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export ALCOVE_BIN="${ALCOVE_BIN:-$root/target/debug/alcove}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

[ -x "$ALCOVE_BIN" ] || { echo "tests/browser: $ALCOVE_BIN missing; run: cargo build -p alcove-server" >&2; exit 2; }
[ -x "$CHROMIUM" ] || { echo "tests/browser: $CHROMIUM missing; install it: apt-get install -y chromium" >&2; exit 2; }
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

unshare_cmd=(unshare --net)
[ "$(id -u)" -eq 0 ] || unshare_cmd=(unshare --net --map-root-user)
script="${1:-media.test.mjs}"
exec "${unshare_cmd[@]}" bash -c 'ip link set lo up && exec node "$1/$2"' _ "$here" "$script"
