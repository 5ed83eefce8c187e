// Starts the real Alcove server for a test: builds it with `cargo build -p alcove-server`
// (unless $ALCOVE_BIN names a binary), runs it on 127.0.0.1 with ephemeral ports and a fresh
// data dir, and talks to its REST API with the development credentials it writes.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { URL, fileURLToPath } from 'node:url';

export const repo = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Finds or builds the server binary.
 * @param {(msg: string) => void} diagnostic
 */
export function serverBinary(diagnostic) {
  if (process.env.ALCOVE_BIN) return process.env.ALCOVE_BIN;
  const targetDir = process.env.CARGO_TARGET_DIR ?? join(repo, 'target');
  const bin = join(targetDir, 'debug', process.platform === 'win32' ? 'alcove.exe' : 'alcove');
  const build = spawnSync('cargo', ['build', '-q', '-p', 'alcove-server'], { cwd: repo, encoding: 'utf8' });
  if (build.status !== 0) {
    const why = build.stderr || String(build.error);
    if (!existsSync(bin)) throw new Error(`cargo build -p alcove-server failed:\n${why}`);
    diagnostic(`cargo build -p alcove-server failed; testing the existing ${bin}:\n${why}`);
  }
  return bin;
}

/**
 * @param {{media?: boolean, args?: string[], diagnostic?: (msg: string) => void}} [options]
 *   `args`: more `alcove serve` arguments (e.g. `['--resume-grace', '1']`)
 */
export async function startServer(options = {}) {
  const bin = serverBinary(options.diagnostic ?? (() => {}));
  const dataDir = mkdtempSync(join(tmpdir(), 'alcove-js-'));
  const media = options.media ? ['--udp-listen', '127.0.0.1:0'] : ['--no-media'];
  const extra = options.args ?? [];
  // --web-dir: /sdk/ and / serve this tree's sdk-js/src and demo, not the copies built into the
  // binary (which may come from another checkout: $ALCOVE_BIN); unless the caller serves a
  // folder of its own.
  const web = extra.includes('--web-dir') ? [] : ['--web-dir', repo];
  const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', ...media, ...web, ...extra, '--data-dir', dataDir], {
    env: { ...process.env, ALCOVE_LOG: process.env.ALCOVE_LOG ?? 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${out}\n${stderr}`)), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}\n${stderr}`)));
  });
  const creds = JSON.parse(readFileSync(join(dataDir, 'dev-credentials.json'), 'utf8'));
  const auth = `Basic ${Buffer.from(`${creds.app_id}:${creds.app_key}`).toString('base64')}`;

  /** Calls the REST API and asserts `result` 0. */
  async function rest(method, path, body) {
    const json = await httpJson(method, base + path, auth, body);
    assert.equal(json.result, 0, `${method} ${path}: ${JSON.stringify(json)}`);
    return json;
  }

  return {
    base,
    signalUrl: `${base.replace('http', 'ws')}/v1/signal`,
    rest,
    stderr: () => stderr,
    stop() {
      child.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * One JSON request over `node:http`; resolves with the parsed body, whatever the status.
 * @param {string} method
 * @param {string} url
 * @param {string} auth the Authorization header
 * @param {unknown} [body]
 */
export function httpJson(method, url, auth, body) {
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      headers: { Authorization: auth, 'Content-Type': 'application/json', ...(data ? { 'Content-Length': Buffer.byteLength(data) } : {}) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new Error(`${method} ${url}: HTTP ${res.statusCode}, not JSON: ${text.slice(0, 200)}`));
        }
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}
