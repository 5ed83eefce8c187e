// The committed classic script (dist/EnxRtc.js, embedded in the server binary and served at
// /sdk/EnxRtc.js) is the build of today's sources: a change to compat/ or src/ without
// `npm run build:enablex` fails here instead of shipping a stale facade.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from '../scripts/build-enablex.mjs';

const sdk = join(dirname(fileURLToPath(import.meta.url)), '..');

test('dist/EnxRtc.js is the build of the current sources', () => {
  const committed = readFileSync(join(sdk, 'dist/EnxRtc.js'), 'utf8');
  assert.ok(
    committed === bundle(),
    'sdk-js/dist/EnxRtc.js is stale: run `npm run build:enablex` in sdk-js and commit the result',
  );
});
