/**
 * `facekit --help` loads no native package (issue 9): pg, better-sqlite3, usearch, sharp and
 * onnxruntime-node are required on first use (util/lazy.ts), so the help and usage errors answer
 * without them. A preload script lists the packages in the CommonJS cache (ESM imports of these
 * CommonJS packages land there too) when the process exits.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const HEAVY = ['pg', 'better-sqlite3', 'usearch', 'sharp', 'onnxruntime-node'];
const root = tempDir('facekit-cli-startup-');
const probe = join(root, 'probe.cjs');
writeFileSync(
  probe,
  `process.on('exit', () => {
  const names = new Set();
  for (const file of Object.keys(require.cache)) {
    const m = /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(file);
    if (m) names.add(m[1]);
  }
  process.stderr.write('LOADED ' + JSON.stringify([...names].filter((n) => ${JSON.stringify(HEAVY)}.includes(n))) + '\\n');
});
`,
);

function loaded(args: string[]): Promise<string[]> {
  return new Promise((done, fail) => {
    execFile(process.execPath, ['-r', probe, ...args], { cwd: root }, (_error, _stdout, stderr) => {
      const line = stderr.split('\n').find((l) => l.startsWith('LOADED '));
      if (line === undefined) fail(new Error(`no probe line in: ${stderr}`));
      else done(JSON.parse(line.slice('LOADED '.length)) as string[]);
    });
  });
}

test('the probe sees a native package that is loaded', async () => {
  const resolve = createRequire(import.meta.url).resolve;
  const code = ['pg', 'better-sqlite3'].map((p) => `require(${JSON.stringify(resolve(p))});`).join(' ');
  assert.deepEqual(await loaded(['-e', code]), ['pg', 'better-sqlite3']);
});

test('facekit --help and a usage error load none of pg, better-sqlite3, usearch, sharp, onnxruntime-node', async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  assert.deepEqual(await loaded([CLI, '--help']), []);
  assert.deepEqual(await loaded([CLI, 'detect', '--model', 'hug', 'x.jpg']), []);
});
