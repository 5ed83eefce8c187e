// The Alcove server a browser test runs against: started from ALCOVE_BIN on ephemeral ports,
// its log in the test's temp dir, the pages' SDK served from this tree (`--web-dir`), and the
// dev app's credentials for REST calls. Shared by video5.test.mjs and video_throttle.test.mjs.

import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Starts `bin serve` with its data and log in `tmp`; resolves once it listens.
 * @param {string} bin the server binary
 * @param {string} root the repository root (served as the web dir: sdk-js/src, demo)
 * @param {string} tmp the test's temp dir
 */
export async function startServer(bin, root, tmp) {
  const dataDir = join(tmp, 'data');
  const logPath = join(tmp, 'server.log');
  const log = openSync(logPath, 'w');
  // --web-dir: the SDK the pages load is this tree's sdk-js/src, not the copy built into the binary.
  const proc = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--udp-listen', '127.0.0.1:0', '--data-dir', dataDir, '--web-dir', root], {
    stdio: ['ignore', log, log],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
  });
  const deadline = Date.now() + 30_000;
  let base = null;
  while (base === null) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}: ${readFileSync(logPath, 'utf8')}`);
    base = readFileSync(logPath, 'utf8').match(/listening on (http:\/\/[0-9.:]+)/)?.[1] ?? null;
    if (base === null && Date.now() > deadline) throw new Error(`server did not start within 30 s: ${readFileSync(logPath, 'utf8')}`);
    if (base === null) await sleep(20);
  }
  const creds = JSON.parse(readFileSync(join(dataDir, 'dev-credentials.json'), 'utf8'));
  const auth = 'Basic ' + Buffer.from(`${creds.app_id}:${creds.app_key}`).toString('base64');
  /** @param {string} path @param {unknown} body */
  const post = async (path, body) => {
    const r = await fetch(base + path, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const j = await r.json();
    if (!r.ok || j.result !== 0) throw new Error(`POST ${path}: ${r.status} ${JSON.stringify(j)}`);
    return j;
  };
  /** @param {string} path */
  const get = async (path) => (await fetch(base + path, { headers: { authorization: auth } })).json();
  return { proc, base, logPath, auth, post, get };
}
