#!/usr/bin/env bash
# Creates (idempotently) the private network namespace the benchmark runs in, or deletes it.
#
#   bench/janus/netns.sh up      # create it (default)
#   bench/janus/netns.sh down    # delete it
#
# The namespace (default name `alcove-bench`, or $ALCOVE_BENCH_NETNS) has no route to anything:
# only `lo` (127.0.0.0/8) and a veth pair `jv0`/`jv1` that leads nowhere but its own peer. jv0
# carries 127.0.0.1/32 because Janus never gathers ICE candidates on an interface flagged
# LOOPBACK: with the address on jv0 its host candidate is 127.0.0.1, and the kernel still
# delivers every packet through the loopback path. Needs root (CAP_NET_ADMIN).
set -euo pipefail
NS="${ALCOVE_BENCH_NETNS:-alcove-bench}"

case "${1:-up}" in
  up)
    if ! ip netns list | awk '{print $1}' | grep -qx "$NS"; then
      ip netns add "$NS"
    fi
    ip -n "$NS" link set lo up
    if ! ip -n "$NS" link show jv0 >/dev/null 2>&1; then
      ip -n "$NS" link add jv0 type veth peer name jv1
    fi
    ip -n "$NS" link set jv0 up
    ip -n "$NS" link set jv1 up
    if ! ip -n "$NS" -4 addr show dev jv0 | grep -q 'inet 127.0.0.1/32'; then
      ip -n "$NS" addr add 127.0.0.1/32 dev jv0
    fi
    ;;
  down)
    if ip netns list | awk '{print $1}' | grep -qx "$NS"; then
      ip netns del "$NS"
    fi
    ;;
  *)
    echo "usage: $0 [up|down]" >&2
    exit 2
    ;;
esac
