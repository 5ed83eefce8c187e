#!/usr/bin/env bash
# Installs Janus (the Debian package, 1.1.x on bookworm) for the side-by-side benchmark.
# Idempotent: does nothing when janus is already installed. The package's own service is never
# started here (its default configuration listens on all interfaces); start.sh runs janus with
# this folder's loopback-only configuration instead.
set -euo pipefail

if command -v janus >/dev/null 2>&1 && [ -n "$(ls /usr/lib/*/janus/plugins/libjanus_videoroom.so* 2>/dev/null)" ]; then
  echo "janus already installed: $(janus --version 2>/dev/null | head -n1 || true)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Keep apt from starting the packaged service (policy-rc.d answers 101 = "do not start").
cleanup_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  cleanup_policy=1
fi
trap '[ -n "$cleanup_policy" ] && $SUDO rm -f /usr/sbin/policy-rc.d' EXIT

# apt-get update only when the package lists do not know janus yet.
if ! apt-cache show janus >/dev/null 2>&1; then
  $SUDO apt-get update
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends janus

# If a systemd is running, make sure the packaged service stays off.
if [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now janus.service >/dev/null 2>&1 || true
fi
echo "installed: $(janus --version 2>/dev/null | head -n1 || true)"
