#!/usr/bin/env bash
# Chromium on a network that blocks UDP (issue 16): ICE over TCP, then TURN over TCP through
# Debian's coturn, in a network namespace with only `lo` and an nftables rule dropping UDP.
# Builds nothing: run `cargo build -p alcove-server` first. Needs nft (nftables), turnserver
# (coturn), /usr/bin/chromium, node and root (or unprivileged user namespaces).
#   tests/browser/udp_blocked.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export ALCOVE_BIN="${ALCOVE_BIN:-$root/target/debug/alcove}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
for tool in nft turnserver "$CHROMIUM" "$ALCOVE_BIN"; do
  command -v "$tool" >/dev/null || { echo "tests/browser/udp_blocked.sh: $tool missing" >&2; exit 2; }
done
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
unshare_cmd=(unshare --net)
[ "$(id -u)" -eq 0 ] || unshare_cmd=(unshare --net --map-root-user)
# Ephemeral ports below coturn's relay range (50000-50100) and the fixed ports of the test.
exec "${unshare_cmd[@]}" bash -c 'ip link set lo up &&
  sysctl -qw net.ipv4.ip_local_port_range="20000 30000" &&
  exec node "$1"/udp_blocked.mjs' _ "$here"
