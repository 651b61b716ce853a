import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel, inspectModel, loadModelBytes } from '../../src/models/cache.js';
import { readTfjsWeights, takeWeight } from '../../src/models/weights.js';
import { MODELS, weightsFolder } from '../../src/models/registry.js';
import { FaceKitError } from '../../src/errors.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'facekit-cache-test-'));

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
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
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
    assert.ok(warnings.some((w) => w.includes('cannot write model cache')), warnings.join('; '));
    return;
  }
  const dir = fresh();
  chmodSync(dir, 0o500);
  t.after(() => chmodSync(dir, 0o700));
  assert.ok((await loadModelBytes('tiny_face_detector', dir)).length > 100_000);
});

test('weights files that are missing or short fail with MODEL_MISSING / MODEL_CORRUPT naming the file', async () => {
  await assert.rejects(readTfjsWeights(fresh(), 'nothing.json'), (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_MISSING' && e.message.includes('nothing.json'));
  const dir = fresh();
  const real = weightsFolder(MODELS.tiny_face_detector);
  writeFileSync(join(dir, MODELS.tiny_face_detector.manifest), readFileSync(join(real, MODELS.tiny_face_detector.manifest)));
  writeFileSync(join(dir, 'tiny_face_detector_model.bin'), readFileSync(join(real, 'tiny_face_detector_model.bin')).subarray(0, 1000));
  await assert.rejects(readTfjsWeights(dir, MODELS.tiny_face_detector.manifest), (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_CORRUPT');
});

test('takeWeight checks presence and shape', async () => {
  const w = await readTfjsWeights(weightsFolder(MODELS.tiny_face_detector), MODELS.tiny_face_detector.manifest);
  assert.deepEqual(takeWeight(w, 'conv0/filters', [3, 3, 3, 16]).shape, [3, 3, 3, 16]);
  assert.throws(() => takeWeight(w, 'conv0/filters', [3, 3, 3, 17]), /shape/);
  assert.throws(() => takeWeight(w, 'no/such'), (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_CORRUPT');
});
