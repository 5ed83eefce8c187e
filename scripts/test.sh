#!/usr/bin/env bash
# Runs every test of Alcove: the README's test command.
#   ./scripts/test.sh
# Rust: unit tests, the core's scenario and model tests (simulated time), the end-to-end
# tests through real sockets. Set PROPTEST_CASES for a longer model run.
# Then the JS SDK's checks and tests, and the real-browser media test (tests/browser; needs
# /usr/bin/chromium, node and npm).
set -uo pipefail
cd "$(dirname "$0")/.."

# What the run needs, checked before minutes of building: one line says what to install.
# ALCOVE_SKIP_TOOL_CHECK=1 skips the check (e.g. to run the Rust tests alone on a bare machine).
if [ -z "${ALCOVE_SKIP_TOOL_CHECK:-}" ]; then
  missing=()
  command -v cargo >/dev/null || missing+=("cargo (https://rustup.rs)")
  command -v cc >/dev/null || missing+=("a C compiler (apt-get install -y gcc)")
  command -v node >/dev/null || missing+=("node >= 20 (apt-get install -y nodejs)")
  command -v npm >/dev/null || missing+=("npm (apt-get install -y npm)")
  [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing+=("chromium (apt-get install -y chromium, or set CHROMIUM)")
  command -v ip >/dev/null || missing+=("ip (apt-get install -y iproute2)")
  command -v unshare >/dev/null || missing+=("unshare (apt-get install -y util-linux)")
  if command -v node >/dev/null; then
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    [ "$major" -ge 20 ] 2>/dev/null || missing+=("node >= 20 (found $(node --version 2>/dev/null))")
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    printf 'scripts/test.sh: install first: %s (.ci/run installs them on Debian; ALCOVE_SKIP_TOOL_CHECK=1 to skip)\n' "$(IFS=';'; echo "${missing[*]}" | sed 's/;/, /g')" >&2
    exit 2
  fi
fi
mkdir -p target

echo "== cargo test (workspace) =="
cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/test-output.txt
status=${PIPESTATUS[0]}

sum() { grep -E '^test result:' target/test-output.txt | sed -E "s/.* ([0-9]+) passed; ([0-9]+) failed.*/\\$1/" | awk '{s+=$1} END {print s+0}'; }
echo
echo "rust: $(sum 1) passed, $(sum 2) failed"

# The JS SDK: type check (tsc) and .d.ts generation, unit and fixture tests, the lifecycle tests
# against the real server (also with React Native's globals instead of the browser's), media
# under Node (werift), the package's contents, and the demo page driven in headless Chromium.
# Then the React Native example screen, type-checked against the generated .d.ts.
echo
echo "== sdk-js (tsc check + types, node tests, no-DOM tests, demo in Chromium) =="
if [ ! -x target/debug/alcove ]; then
  cargo build -p alcove-server --locked || status=1
fi
export ALCOVE_BIN="$PWD/target/debug/alcove"
# npm ci when node_modules is missing or older than the lock file (a dependency was added).
npm_ci() { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; }
(
  cd sdk-js
  npm_ci
  npm run -s check && npm test && npm run -s test:browser
) || status=1
echo
echo "== examples/react-native (tsc) =="
(
  cd examples/react-native
  npm_ci
  npm run -s check
) || status=1

# Real browsers (system Chromium) against the server binary: who hears whom through break-out
# moves, one peer connection throughout, share/canvas isolation, move latency.
echo
echo "== browser media test (tests/browser/run.sh) =="
tests/browser/run.sh || status=1
echo
echo "== browser video test (tests/browser/run.sh video.test.mjs) =="
tests/browser/run.sh video.test.mjs || status=1
echo
echo "== browser video test, five cameras (tests/browser/run.sh video5.test.mjs) =="
tests/browser/run.sh video5.test.mjs || status=1
echo
echo "== browser video test, a throttled receiver (tests/browser/run.sh video_throttle.test.mjs) =="
tests/browser/run.sh video_throttle.test.mjs || status=1

# Chromium with UDP dropped (nftables in its namespace): ICE over TCP, then TURN over TCP
# through Debian's coturn (issue 16; about 35 s).
echo
echo "== browser, UDP blocked (tests/browser/udp_blocked.sh) =="
tests/browser/udp_blocked.sh || status=1

# Bounded fuzzing (fuzz/README.md): signalling decode, REST bodies, the family core. In CI, or
# when ALCOVE_FUZZ is set; 5 s per target after the first build.
if [ -n "${CI:-}" ] || [ -n "${ALCOVE_FUZZ:-}" ]; then
  echo
  echo "== fuzz (fuzz/run.sh 5) =="
  fuzz/run.sh 5 || status=1
fi
exit "$status"
