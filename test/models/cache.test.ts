import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  buildModel,
  buildSource,
  defaultCacheDir,
  inspectModel,
  inspectSource,
  loadModelBytes,
  loadSourceBytes,
  modelSource,
  type ModelSource,
} from '../../src/models/cache.js';
import { readTfjsWeights, takeWeight } from '../../src/models/weights.js';
import { MODELS, weightsFolder, type ModelId } from '../../src/models/registry.js';
import { FaceKitError } from '../../src/errors.js';
import { tempDir } from '../helpers/temp.js';

const fresh = () => tempDir('facekit-cache-test-');

test('a model is built once, recorded with its checksum, and then read back as ready', async () => {
  const dir = fresh();
  assert.equal((await inspectModel('tiny_face_detector', dir)).state, 'missing');
  const built = await buildModel('tiny_face_detector', dir);
  assert.equal(built.record.builderVersion, MODELS.tiny_face_detector.builderVersion);
  assert.match(built.record.onnxSha256, /^[0-9a-f]{64}$/);
  const info = await inspectModel('tiny_face_detector', dir);
  assert.equal(info.state, 'ready');
  assert.deepEqual(await loadModelBytes('tiny_face_detector', dir), Buffer.from(built.bytes));
  // No temporary files are left behind.
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test('a corrupted cached model is detected and rebuilt on load', async () => {
  const dir = fresh();
  const { path, bytes } = await buildModel('tiny_face_detector', dir);
  const damaged = Buffer.from(bytes);
  damaged[damaged.length >> 1] ^= 0xff;
  writeFileSync(path, damaged);
  assert.equal((await inspectModel('tiny_face_detector', dir)).state, 'corrupt');
  const loaded = await loadModelBytes('tiny_face_detector', dir);
  assert.deepEqual(Buffer.from(loaded), Buffer.from(bytes));
  assert.equal((await inspectModel('tiny_face_detector', dir)).state, 'ready');
});

test('a model built by another builder version is stale and rebuilt', async () => {
  const dir = fresh();
  const { path } = await buildModel('tiny_face_detector', dir);
  const recordFile = path.replace(/\.onnx$/, '.json');
  const record = JSON.parse(readFileSync(recordFile, 'utf8'));
  writeFileSync(recordFile, JSON.stringify({ ...record, builderVersion: record.builderVersion - 1 }));
  assert.equal((await inspectModel('tiny_face_detector', dir)).state, 'stale');
  await loadModelBytes('tiny_face_detector', dir);
  assert.equal((await inspectModel('tiny_face_detector', dir)).state, 'ready');
});

test('an unwritable cache folder still gives a working model, with a warning', async (t) => {
  if (process.getuid?.() === 0) {
    // root ignores permission bits; use a path under a regular file instead, which nobody can create.
    const file = join(fresh(), 'not-a-folder');
    writeFileSync(file, 'x');
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const bytes = await loadModelBytes('tiny_face_detector', join(file, 'cache'));
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    assert.ok(bytes.length > 100_000);
    assert.ok(
      warnings.some((w) => w.includes('cannot write the model cache')),
      warnings.join('; '),
    );
    return;
  }
  const dir = fresh();
  chmodSync(dir, 0o500);
  t.after(() => chmodSync(dir, 0o700));
  assert.ok((await loadModelBytes('tiny_face_detector', dir)).length > 100_000);
});

test('weights files that are missing or short fail with MODEL_MISSING / MODEL_CORRUPT naming the file', async () => {
  await assert.rejects(
    readTfjsWeights(fresh(), 'nothing.json'),
    (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_MISSING' && e.message.includes('nothing.json'),
  );
  const dir = fresh();
  const real = weightsFolder(MODELS.tiny_face_detector);
  writeFileSync(
    join(dir, MODELS.tiny_face_detector.manifest),
    readFileSync(join(real, MODELS.tiny_face_detector.manifest)),
  );
  writeFileSync(
    join(dir, 'tiny_face_detector_model.bin'),
    readFileSync(join(real, 'tiny_face_detector_model.bin')).subarray(0, 1000),
  );
  await assert.rejects(
    readTfjsWeights(dir, MODELS.tiny_face_detector.manifest),
    (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_CORRUPT',
  );
});

test('takeWeight checks presence and shape', async () => {
  const w = await readTfjsWeights(weightsFolder(MODELS.tiny_face_detector), MODELS.tiny_face_detector.manifest);
  assert.deepEqual(takeWeight(w, 'conv0/filters', [3, 3, 3, 16]).shape, [3, 3, 3, 16]);
  assert.throws(() => takeWeight(w, 'conv0/filters', [3, 3, 3, 17]), /shape/);
  assert.throws(
    () => takeWeight(w, 'no/such'),
    (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_CORRUPT',
  );
});

/**
 * A private copy of the tiny detector's weights package (package.json, manifest, shard), so a
 * test can upgrade or edit it; returns the source the cache functions take and the shard's path.
 */
function copiedPackage(version: string): { src: ModelSource; shard: string; packageJson: string } {
  const spec = MODELS.tiny_face_detector;
  const packageDir = fresh();
  const real = weightsFolder(spec);
  const dir = join(packageDir, spec.weightsDir);
  mkdirSync(dir);
  cpSync(join(real, spec.manifest), join(dir, spec.manifest), { preserveTimestamps: true });
  cpSync(join(real, 'tiny_face_detector_model.bin'), join(dir, 'tiny_face_detector_model.bin'), {
    preserveTimestamps: true,
  });
  const packageJson = join(packageDir, 'package.json');
  writeFileSync(packageJson, JSON.stringify({ name: spec.weightsPackage, version }));
  return { src: { spec, packageDir }, shard: join(dir, 'tiny_face_detector_model.bin'), packageJson };
}

test("a builder upgrade finds the older version stale, and building replaces its files (a newer version's are left alone)", async () => {
  const dir = fresh();
  const v1 = modelSource('tiny_face_detector');
  const v2: ModelSource = { ...v1, spec: { ...v1.spec, builderVersion: v1.spec.builderVersion + 1 } };
  const old = await buildSource(v1, dir);
  const upgraded = await inspectSource(v2, dir);
  assert.equal(upgraded.state, 'stale');
  assert.equal(upgraded.path, old.path);
  assert.match(upgraded.reason ?? '', /builder v1, this facekit's is v2/);
  // The older facekit still finds its own file ready: nothing was removed by looking.
  assert.equal((await inspectSource(v1, dir)).state, 'ready');
  const built = await buildSource(v2, dir);
  assert.notEqual(built.path, old.path);
  assert.deepEqual(readdirSync(dir).sort(), [
    `tiny_face_detector.v${v2.spec.builderVersion}.json`,
    `tiny_face_detector.v${v2.spec.builderVersion}.onnx`,
  ]);
  assert.equal((await inspectSource(v2, dir)).state, 'ready');
  // An older facekit building its own version leaves the newer one's files in place.
  await buildSource(v1, dir);
  assert.equal(readdirSync(dir).length, 4);
  assert.equal((await inspectSource(v2, dir)).state, 'ready');
});

test('new weights (an upgraded package) make the cached model stale, and it is rebuilt from them', async () => {
  const dir = fresh();
  const { src, shard, packageJson } = copiedPackage('1.0.0');
  const first = await buildSource(src, dir);
  assert.equal(first.record.weightsVersion, '1.0.0');
  assert.equal((await inspectSource(src, dir)).state, 'ready');
  // Version 1.1.0 ships retrained weights: same layout, other numbers.
  const weights = readFileSync(shard);
  weights[100] ^= 0x01;
  writeFileSync(shard, weights);
  writeFileSync(packageJson, JSON.stringify({ name: src.spec.weightsPackage, version: '1.1.0' }));
  const after = await inspectSource(src, dir);
  assert.equal(after.state, 'stale');
  assert.match(after.reason ?? '', /weights changed \(@vladmandic\/face-api 1\.0\.0 → 1\.1\.0\)/);
  const bytes = await loadSourceBytes(src, dir);
  assert.notDeepEqual(Buffer.from(bytes), Buffer.from(first.bytes));
  const rebuilt = await inspectSource(src, dir);
  assert.equal(rebuilt.state, 'ready');
  assert.equal(rebuilt.record?.weightsVersion, '1.1.0');
  assert.notEqual(rebuilt.record?.weightsSha256, first.record.weightsSha256);
});

test('a reinstall that moves file times but keeps the bytes stays ready without a rebuild; deep verification hashes the bytes', async () => {
  const dir = fresh();
  const { src, shard } = copiedPackage('1.0.0');
  const first = await buildSource(src, dir);
  const later = new Date(Date.now() + 60_000);
  utimesSync(shard, later, later);
  const info = await inspectSource(src, dir);
  assert.equal(info.state, 'ready');
  // The record now carries the new stamp; the model itself was not rebuilt.
  assert.equal(info.record?.builtAt, first.record.builtAt);
  assert.notEqual(info.record?.weightsStamp, first.record.weightsStamp);
  assert.equal(
    JSON.parse(readFileSync(first.path.replace(/\.onnx$/, '.json'), 'utf8')).weightsStamp,
    info.record?.weightsStamp,
  );
  // Bytes changed behind an unchanged stamp (same size, time and version): only the deep check sees it.
  const { mtime } = statSync(shard);
  const weights = readFileSync(shard);
  weights[100] ^= 0x01;
  writeFileSync(shard, weights);
  utimesSync(shard, mtime, mtime);
  assert.equal((await inspectSource(src, dir)).state, 'ready');
  assert.equal((await inspectSource(src, dir, { deep: true })).state, 'stale');
});

test('an unknown model id is INVALID_ARGUMENT, not a TypeError', async () => {
  for (const call of [
    () => buildModel('yolo' as ModelId, fresh()),
    () => inspectModel('toString' as ModelId, fresh()),
    () => loadModelBytes('' as ModelId, fresh()),
  ]) {
    await assert.rejects(
      call(),
      (e: unknown) =>
        e instanceof FaceKitError &&
        e.code === 'INVALID_ARGUMENT' &&
        e.field === 'id' &&
        e.message.includes('tiny_face_detector'),
    );
  }
});

test('buildModel into a cache that cannot be written fails with FILE_UNWRITABLE naming the folder', async () => {
  const file = join(fresh(), 'not-a-folder');
  writeFileSync(file, 'x');
  const cache = join(file, 'cache');
  await assert.rejects(
    buildModel('tiny_face_detector', cache),
    (e: unknown) => e instanceof FaceKitError && e.code === 'FILE_UNWRITABLE' && e.file === cache,
  );
});

test('defaultCacheDir: FACEKIT_CACHE_DIR, else $XDG_CACHE_HOME/facekit/models, else ~/.cache/facekit/models', (t) => {
  const saved = { FACEKIT_CACHE_DIR: process.env.FACEKIT_CACHE_DIR, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
  t.after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  process.env.FACEKIT_CACHE_DIR = '/somewhere/models';
  process.env.XDG_CACHE_HOME = '/xdg';
  assert.equal(defaultCacheDir(), '/somewhere/models');
  delete process.env.FACEKIT_CACHE_DIR;
  assert.equal(defaultCacheDir(), join('/xdg', 'facekit', 'models'));
  // Empty counts as unset, as the XDG spec says.
  process.env.XDG_CACHE_HOME = '';
  assert.equal(defaultCacheDir(), join(homedir(), '.cache', 'facekit', 'models'));
  delete process.env.XDG_CACHE_HOME;
  assert.equal(defaultCacheDir(), join(homedir(), '.cache', 'facekit', 'models'));
});
