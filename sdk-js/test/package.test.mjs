// The package as people install it: `npm pack` contents (sources, generated .d.ts, docs; no
// tests), every `exports` entry resolves (by the package's own name) to a module that exists,
// and the README's seed-name table names every seed method and callback of protocol.js.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SEED_CALLBACKS, SEED_METHODS } from '../src/protocol.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

test('npm pack ships the sources, the generated types, the vendor facade (module and classic script) and the docs, and nothing else', () => {
  // --dry-run still runs prepack (npm run types), so types/ is fresh.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts=false'], { cwd: root, encoding: 'utf8' });
  const [info] = JSON.parse(out);
  assert.equal(info.name, '@alcove/sdk-js');
  assert.equal(info.version, pkg.version);
  assert.match(pkg.version, /^\d+\.\d+\.\d+$/);
  assert.notEqual(pkg.private, true, 'publishable');
  const files = info.files.map((f) => f.path);
  for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'src/alcove.js', 'src/core.js', 'src/platform/react-native.js',
    'src/platform/browser.js', 'types/alcove.d.ts', 'types/core.d.ts', 'types/protocol.d.ts', 'types/platform/react-native.d.ts', 'compat/enablex.js', 'dist/EnxRtc.js']) {
    assert.ok(files.includes(f), `${f} is in the package: ${files.join(', ')}`);
  }
  for (const f of files) {
    assert.ok(/^(package\.json|README\.md|CHANGELOG\.md|LICENSE|src\/.*\.js|types\/.*\.d\.ts|compat\/.*|dist\/EnxRtc\.js)$/.test(f), `${f} does not belong in the package`);
  }
});

test('every export resolves by the package name and has its types', async () => {
  for (const [sub, target] of Object.entries(pkg.exports)) {
    if (sub === './package.json') continue;
    const js = typeof target === 'string' ? target : target.default;
    if (sub === './compat/enablex' && !existsSync(join(root, js))) continue; // filled by the compat facade
    assert.ok(existsSync(join(root, js)), `${sub}: ${js} exists`);
    if (typeof target !== 'string') assert.ok(existsSync(join(root, target.types)), `${sub}: ${target.types} exists (npm run types)`);
    const specifier = sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
    const mod = await import(specifier);
    assert.ok(Object.keys(mod).length > 0, `${specifier} exports something`);
  }
  const main = await import(pkg.name);
  const rn = await import(`${pkg.name}/react-native`);
  const core = await import(`${pkg.name}/core`);
  assert.equal(main.Room, core.Room);
  assert.equal(rn.Room, core.Room);
  assert.equal(typeof rn.connect, 'function');
  assert.equal(typeof rn.reactNativeOptions, 'function');
  const types = readFileSync(join(root, 'types/platform/react-native.d.ts'), 'utf8');
  assert.match(types, /export function connect\(url: string, token: string, options\?: ReactNativeOptions\): Promise<Room>/);
});

test('the README seed-name table covers every seed method and callback', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Seed names'), readme.indexOf('## API'));
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  for (const [name, m] of Object.entries(SEED_METHODS)) {
    const row = rows.find((r) => r.split('|')[1].includes(`.${name}(`));
    assert.ok(row, `a row for the seed method ${name}`);
    const sdk = row.split('|')[2];
    assert.ok(sdk.includes(`${m.handle === 'breakout' ? 'br' : 'room'}.${m.method}(`), `${name} → ${sdk}`);
    for (const cb of m.callbacks) assert.ok(row.split('|')[3].includes(`\`${cb}\``), `${name}: callback ${cb}`);
  }
  for (const cb of SEED_CALLBACKS) assert.ok(section.includes(`\`${cb}\``), `callback ${cb} in the table`);
});
