// The golden fixtures of crates/proto/fixtures/*.json (written by the Rust side, checked against
// its types by crates/proto/tests/fixtures.rs) are decoded and re-encoded by protocol.js and
// must come out as the same text as the file (field order and all: the SDK's encoder and
// decoder may not add, drop, rename or reorder anything); the REST bodies have the shapes the
// SDK reads from signalling; every message type has a fixture (a missing one fails); the SDK's
// type lists and error codes match the Rust definitions.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ACK_TYPES,
  CLIENT_TYPES,
  ERROR_MESSAGES,
  ErrorCode,
  SERVER_FIELDS,
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

/**
 * The text a fixture file holds for `value`: serde_json's pretty printing, which is
 * `JSON.stringify(value, null, 2)` for the values fixtures hold (no floats).
 * @param {unknown} value
 */
const fileText = (value) => JSON.stringify(value, null, 2);

/** Every fixture file: {file, kind, type, isError, text, json}. */
function fixtures() {
  assert.ok(existsSync(fixturesDir), `no fixtures directory ${fixturesDir}`);
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

test('every fixture file holds pretty-printed JSON as serde_json writes it', () => {
  // What makes the text comparisons below meaningful: the file is exactly the canonical text.
  for (const f of all) assert.equal(f.text.trimEnd(), fileText(f.json), `${f.file}: not canonical`);
});

for (const f of all.filter((f) => f.kind === 'client')) {
  test(`client fixture ${f.file}: the SDK builds the same frame, field for field`, () => {
    assert.ok(CLIENT_TYPES.includes(f.type), `${f.type} is not in CLIENT_TYPES`);
    const frame = decodeClientFrame(f.text);
    assert.equal(frame.type, f.type);
    const { type, id, body } = splitRequest(frame);
    // The SDK's own encoder builds the frame from its parts; compared as text with the file.
    assert.equal(fileText(JSON.parse(encodeRequest(type, id, body))), f.text.trimEnd());
  });
}

for (const f of all.filter((f) => f.kind === 'server')) {
  test(`server fixture ${f.file}: the SDK's decode, re-encoded, is the file's text`, () => {
    assert.ok(SERVER_TYPES.includes(f.type), `${f.type} is not in SERVER_TYPES`);
    const frame = decodeServerFrame(f.text);
    assert.equal(frame.type, f.type);
    assert.equal(fileText(JSON.parse(encodeFrame(frame))), f.text.trimEnd());
    for (const field of SERVER_FIELDS[f.type]) assert.ok(field in f.json, `${f.file}: ${field}`);
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

/** @param {string} name */
function rest(name) {
  const f = all.find((x) => x.kind === 'rest' && x.type === name);
  assert.ok(f, `no fixture rest.${name}.json`);
  return f.json;
}

/** @param {string} type */
function server(type) {
  const f = all.find((x) => x.kind === 'server' && x.type === type && !x.isError);
  assert.ok(f, `no fixture server.${type}.json`);
  return f.json;
}

/** @param {object} o */
const keys = (o) => Object.keys(o).sort();

test('REST bodies carry the shapes the SDK reads from signalling', () => {
  // Room settings: the same type in the REST room, room list, create request and roomConnected.
  const settings = keys(server('roomConnected').room.settings);
  assert.deepEqual(keys(rest('room_response').room.settings), settings, 'room_response settings');
  for (const r of rest('room_list_response').rooms) assert.deepEqual(keys(r.settings), settings, 'room list');
  assert.deepEqual(keys(rest('create_room_request').settings), settings, 'create_room_request settings');
  assert.equal(rest('room_response').room.room_id, server('roomConnected').room.room_id);

  // Users: the user info of userConnected (`data` optional).
  const userFields = SERVER_FIELDS.userConnected;
  const users = rest('users_response').users;
  assert.ok(users.length > 0);
  for (const u of users) {
    for (const k of userFields) assert.ok(k in u, `users_response user lacks ${k}`);
    for (const k of Object.keys(u)) assert.ok(userFields.includes(k) || k === 'data', `users_response user has ${k}`);
  }

  // Break-out rooms: the room info of connectedBreakoutRoom (without its result).
  const roomFields = SERVER_FIELDS.connectedBreakoutRoom.filter((k) => k !== 'result').sort();
  const brs = rest('breakout_rooms_response').breakout_rooms;
  assert.ok(brs.length > 0);
  // A room with a timer carries `ends_at` / `warning_at` too (optional: absent without one).
  const optionalRoomFields = ['ends_at', 'warning_at'];
  for (const b of brs) {
    assert.deepEqual(keys(b).filter((k) => !optionalRoomFields.includes(k)), roomFields, 'breakout_rooms_response room');
  }

  // Failures and deletes: {result, msg}, like `error`; failures carry a known code.
  assert.deepEqual(keys(rest('error_response')), [...SERVER_FIELDS.error].sort());
  assert.ok(rest('error_response').result in ERROR_MESSAGES, 'error_response result is a known code');
  assert.deepEqual(keys(rest('delete_room_response')), [...SERVER_FIELDS.error].sort());
  assert.equal(rest('delete_room_response').result, 0);

  // Tokens: the token is what `connect` carries; `expires_at` is its claim `exp`.
  const tr = rest('token_response');
  assert.equal(tr.result, 0);
  assert.match(tr.token, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  const claims = JSON.parse(Buffer.from(tr.token.split('.')[1], 'base64url').toString('utf8'));
  assert.equal(claims.exp, tr.expires_at, 'expires_at is the claim exp');
  assert.ok(Number.isInteger(tr.expires_at));
  assert.ok(['moderator', 'participant', 'viewer'].includes(rest('create_token_request').role));
});

test('every client and server message type has a fixture, and every acknowledgement too', () => {
  const have = new Set(all.filter((f) => f.kind === 'server').map((f) => f.type));
  const missingAck = [...allAckTypes].filter((ty) => !have.has(ty));
  const missingClient = CLIENT_TYPES.filter((ty) => !all.some((f) => f.kind === 'client' && f.type === ty));
  const missingServer = SERVER_TYPES.filter((ty) => !have.has(ty));
  assert.deepEqual(missingClient, [], 'client types without a fixture');
  assert.deepEqual(missingServer, [], 'server types without a fixture');
  assert.deepEqual(missingAck, [], 'acknowledgement types without a fixture');
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

test('CLIENT_TYPES and SERVER_TYPES are exactly the Rust ClientMessage / ServerMessage types', () => {
  const file = `${protoSrc}signal.rs`;
  const src = readFileSync(file, 'utf8');
  assert.deepEqual([...CLIENT_TYPES].sort(), serdeNames(src, 'ClientMessage').sort());
  assert.deepEqual([...SERVER_TYPES].sort(), serdeNames(src, 'ServerMessage').sort());
});

test('ErrorCode matches crates/proto/src/error_code.rs', () => {
  const file = `${protoSrc}error_code.rs`;
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
