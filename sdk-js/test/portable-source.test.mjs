// The core's sources name no DOM or browser-only global: every module of src/ except the
// browser layer (src/platform/browser.js) is parsed with TypeScript's parser and each free
// identifier is checked. JSDoc types (comments) do not count; property names (`x.document`)
// do not either. `navigator`, `WebSocket`, `RTCPeerConnection` are allowed behind a `typeof`
// guard or as `globalThis.X` (React Native has them, or react-native-webrtc's registerGlobals
// installs them). The runtime check is npm run test:portable; this one also covers code paths
// those tests do not reach.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const src = fileURLToPath(new URL('../src/', import.meta.url));
const BROWSER_ONLY = new Set([
  'window', 'document', 'self', 'location', 'localStorage', 'sessionStorage', 'EventTarget', 'Event', 'CustomEvent',
  'structuredClone', 'URL', 'URLSearchParams', 'AudioContext', 'AnalyserNode', 'MediaStream', 'HTMLElement',
  'HTMLAudioElement', 'requestAnimationFrame', 'navigator', 'RTCPeerConnection', 'reportError', 'fetch', 'Blob',
]);
/** Allowed only as `typeof X` (a guard). */
const GUARDED = new Set(['navigator', 'RTCPeerConnection', 'MediaStream']);

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

test('the core uses no browser-only global', () => {
  const core = files(src).filter((f) => f.endsWith('.js') && !f.endsWith(join('platform', 'browser.js')));
  assert.ok(core.length >= 9, `core modules: ${core.length}`);
  const found = [];
  for (const file of core) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
    // Names the module declares itself (parameters, variables, functions, imports) are not
    // globals (a `location` parameter is not window.location). Per file, not per scope: the
    // core never shadows a browser global it also uses.
    const declared = new Set();
    const collect = (node) => {
      if ((ts.isParameter(node) || ts.isVariableDeclaration(node) || ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)
        || ts.isImportSpecifier(node) || ts.isBindingElement(node)) && node.name && ts.isIdentifier(node.name)) {
        declared.add(node.name.text);
      }
      ts.forEachChild(node, collect);
    };
    collect(sf);
    const visit = (node) => {
      if (ts.isIdentifier(node) && BROWSER_ONLY.has(node.text) && !declared.has(node.text)) {
        const p = node.parent;
        const isPropertyName = (ts.isPropertyAccessExpression(p) && p.name === node)
          || ((ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p) || ts.isPropertyDeclaration(p) || ts.isGetAccessor(p)) && p.name === node)
          || (ts.isBindingElement(p) && p.propertyName === node);
        const guarded = GUARDED.has(node.text) && ts.isTypeOfExpression(p);
        if (!isPropertyName && !guarded) {
          const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
          found.push(`${relative(src, file)}:${line + 1}: ${node.text}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  assert.deepEqual(found, [], 'browser-only globals in the core');
});
