// The golden fixtures of crates/proto/fixtures/*.json are decoded by protocol.js and re-encoded
// to the same value; the SDK's type lists and error codes match the Rust definitions.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ACK_TYPES,
  CLIENT_TYPES,
  ERROR_MESSAGES,
  ErrorCode,
  SERVER_TYPES,
  decodeClientFrame,
  decodeServerFrame,
  encodeFrame,
  encodeRequest,
  isAck,
  splitRequest,
} from '../src/protocol.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixturesDir = `${repo}crates/proto/fixtures/`;
const protoSrc = `${repo}crates/proto/src/`;

/** Every fixture file: {file, kind, type, isError, text, json}. */
function fixtures() {
  if (!existsSync(fixturesDir)) return [];
  return readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const text = readFileSync(fixturesDir + file, 'utf8');
      const stem = file.slice(0, -'.json'.length);
      const [kind, ...rest] = stem.split('.');
      const isError = rest.length > 1 && rest.at(-1) === 'error';
      const type = (isError ? rest.slice(0, -1) : rest).join('.');
      return { file, kind, type, isError, text, json: JSON.parse(text) };
    });
}

const all = fixtures();
const allAckTypes = new Set(Object.values(ACK_TYPES).flat());

test('there are fixtures to check', () => {
  assert.ok(all.length > 0, `no *.json in ${fixturesDir}`);
  assert.ok(all.some((f) => f.kind === 'client'), 'no client.*.json fixture');
  assert.ok(all.some((f) => f.kind === 'server'), 'no server.*.json fixture');
});

test('every fixture file is named client.<type>, server.<type>[.error] or rest.<name>', () => {
  for (const f of all) {
    assert.ok(['client', 'server', 'rest'].includes(f.kind), `${f.file}: unknown prefix ${f.kind}`);
    assert.ok(f.type.length > 0, `${f.file}: no type in the name`);
  }
});

for (const f of all.filter((f) => f.kind === 'client')) {
  test(`client fixture ${f.file} decodes and re-encodes to the same value`, () => {
    assert.ok(CLIENT_TYPES.includes(f.type), `${f.type} is not in CLIENT_TYPES`);
    const frame = decodeClientFrame(f.text);
    assert.equal(frame.type, f.type);
    const { type, id, body } = splitRequest(frame);
    assert.deepEqual(JSON.parse(encodeRequest(type, id, body)), f.json);
  });
}

for (const f of all.filter((f) => f.kind === 'server')) {
  test(`server fixture ${f.file} decodes and re-encodes to the same value`, () => {
    assert.ok(SERVER_TYPES.includes(f.type), `${f.type} is not in SERVER_TYPES`);
    const frame = decodeServerFrame(f.text);
    assert.equal(frame.type, f.type);
    assert.deepEqual(JSON.parse(encodeFrame(frame)), f.json);
    if (f.isError) {
      assert.equal(typeof frame.result, 'number', `${f.file}: an error fixture carries result`);
      assert.notEqual(frame.result, 0, `${f.file}: an error fixture has result != 0`);
      assert.ok(frame.result in ERROR_MESSAGES, `${f.file}: result ${frame.result} is not a known error code`);
    }
    if (isAck(frame)) {
      assert.ok(allAckTypes.has(frame.type), `${f.file}: carries an id but ${frame.type} answers no request`);
    }
  });
}

for (const f of all.filter((f) => f.kind === 'rest')) {
  test(`REST fixture ${f.file} is one JSON object that re-encodes to the same value`, () => {
    assert.equal(typeof f.json, 'object');
    assert.ok(f.json !== null && !Array.isArray(f.json));
    assert.deepEqual(JSON.parse(JSON.stringify(f.json)), f.json);
    if (f.type.endsWith('_response')) assert.equal(typeof f.json.result, 'number', `${f.file}: responses carry result`);
  });
}

test('every request type answered by an acknowledgement has a fixture of that acknowledgement', (t) => {
  const have = new Set(all.filter((f) => f.kind === 'server').map((f) => f.type));
  const missing = [...allAckTypes].filter((ty) => !have.has(ty));
  const missingClient = CLIENT_TYPES.filter((ty) => !all.some((f) => f.kind === 'client' && f.type === ty));
  const missingServer = SERVER_TYPES.filter((ty) => !have.has(ty));
  if (missing.length || missingClient.length || missingServer.length) {
    // Fixtures for the media plane are being written alongside it; report, do not fail.
    t.diagnostic(`no fixture yet for server types: ${missingServer.join(', ') || '-'}`);
    t.diagnostic(`no fixture yet for client types: ${missingClient.join(', ') || '-'}`);
    t.todo('fixtures missing for some types');
  }
});

/**
 * The `#[serde(rename = "…")]` names of one enum in a Rust file.
 * @param {string} src
 * @param {string} name
 */
function serdeNames(src, name) {
  const start = src.indexOf(`pub enum ${name} {`);
  assert.ok(start >= 0, `enum ${name} not found`);
  const end = src.indexOf('\n}\n', start);
  const body = src.slice(start, end);
  return [...body.matchAll(/#\[serde\(rename = "([^"]+)"\)\]/g)].map((m) => m[1]);
}

test('CLIENT_TYPES and SERVER_TYPES are exactly the Rust ClientMessage / ServerMessage types', (t) => {
  const file = `${protoSrc}signal.rs`;
  if (!existsSync(file)) {
    t.skip('crates/proto/src/signal.rs not found');
    return;
  }
  const src = readFileSync(file, 'utf8');
  assert.deepEqual([...CLIENT_TYPES].sort(), serdeNames(src, 'ClientMessage').sort());
  assert.deepEqual([...SERVER_TYPES].sort(), serdeNames(src, 'ServerMessage').sort());
});

test('ErrorCode matches crates/proto/src/error_code.rs', (t) => {
  const file = `${protoSrc}error_code.rs`;
  if (!existsSync(file)) {
    t.skip('crates/proto/src/error_code.rs not found');
    return;
  }
  const src = readFileSync(file, 'utf8');
  const codeFn = src.slice(src.indexOf('pub fn code(self)'), src.indexOf('pub fn from_code'));
  const rust = Object.fromEntries([...codeFn.matchAll(/ErrorCode::(\w+) => (\d+),/g)].map((m) => [m[1], Number(m[2])]));
  assert.ok(Object.keys(rust).length > 10, 'parsed the Rust codes');
  assert.deepEqual({ ...ErrorCode }, rust);
  const msgFn = src.slice(src.indexOf('pub fn message(self)'));
  for (const [name, code] of Object.entries(rust)) {
    const m = msgFn.match(new RegExp(`ErrorCode::${name} => \\{?\\s*"([^"]+)"`));
    assert.ok(m, `message of ${name}`);
    assert.equal(ERROR_MESSAGES[code], m[1], `message of ${name} (${code})`);
  }
});
