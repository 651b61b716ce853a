/**
 * The int8 builds of the dlib encoder and SSD, calibrated on face-api's demo photos: how far they
 * move from fp32 on those photos, and how the model cache keeps them. Bounds are the measured
 * values with some margin; the LFW benchmark (`bench:lfw -- --precision int8`) measures accuracy
 * on faces calibration never saw.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { iou } from '../../src/detect/nms.js';
import { loadImage } from '../../src/image/decode.js';
import { createFaceKit } from '../../src/pipeline/kit.js';
import { DEFAULT_TOLERANCE, euclideanDistance } from '../../src/match/distance.js';
import { inspectModel, inspectSource, loadModelBytes } from '../../src/models/cache.js';
import { MODELS, weightsPackageDir, type ModelId } from '../../src/models/registry.js';
import type { Image } from '../../src/types.js';
import { opCount } from '../helpers/onnx.js';
import { isolatedCacheDir, samplePath } from '../helpers/photos.js';
import { tempDir } from '../helpers/temp.js';

const cacheDir = isolatedCacheDir();
const INT8_IDS: readonly ModelId[] = ['dlib_resnet128_int8', 'ssd_mobilenetv1_int8'];

/**
 * Largest fp32–int8 distance of one face's descriptor: measured 0.049 (mean 0.039) on these faces;
 * 0.051 (mean 0.036) on 349 LFW faces that calibration never saw.
 */
const DESCRIPTOR_DRIFT = 0.06;
/** Largest change of the distance between two faces: measured 0.020. */
const PAIR_DRIFT = 0.03;
/** Each SSD face found in fp32 is found in int8 overlapping at least this much: measured 0.944. */
const MIN_IOU = 0.9;
/** Largest change of a face's SSD score: measured 0.075. */
const SCORE_DRIFT = 0.1;

let images: Image[];
before(async () => {
  images = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => loadImage(samplePath(n))));
});

const kits = {
  fp32: createFaceKit({ threads: 1 }),
  int8: createFaceKit({ threads: 1, precision: 'int8' }),
  ssd: createFaceKit({ detector: 'ssd', threads: 1 }),
  ssdInt8: createFaceKit({ detector: 'ssd', threads: 1, precision: 'int8' }),
};
after(() => Promise.all(Object.values(kits).map((k) => k.dispose())));

test('int8 descriptors of the sample faces stay within 0.06 of fp32, and no match decision outside that drift changes', async () => {
  const fp32: Float32Array[] = [];
  const int8: Float32Array[] = [];
  for (const image of images) {
    const faces = await kits.fp32.analyze(image);
    fp32.push(...faces.map((f) => f.descriptor));
    int8.push(...(await kits.int8.encode(image, faces)));
  }
  assert.ok(fp32.length >= 15, `${fp32.length} faces`);
  const drift = fp32.map((d, i) => euclideanDistance(d, int8[i]));
  // Above 0: the int8 kit really ran another network.
  assert.ok(
    drift.every((d) => d > 0 && d < DESCRIPTOR_DRIFT),
    drift.map((d) => d.toFixed(3)).join(' '),
  );
  const decided = { same: 0, different: 0 };
  for (let i = 0; i < fp32.length; i++) {
    for (let j = i + 1; j < fp32.length; j++) {
      const was = euclideanDistance(fp32[i], fp32[j]);
      const now = euclideanDistance(int8[i], int8[j]);
      assert.ok(Math.abs(now - was) <= PAIR_DRIFT, `faces ${i}, ${j}: ${was} → ${now}`);
      if (Math.abs(was - DEFAULT_TOLERANCE) <= PAIR_DRIFT) continue;
      assert.equal(now <= DEFAULT_TOLERANCE, was <= DEFAULT_TOLERANCE, `faces ${i}, ${j}: ${was} → ${now}`);
      decided[was <= DEFAULT_TOLERANCE ? 'same' : 'different']++;
    }
  }
  // Both decisions occur, so the check above compared something on each side of the threshold.
  assert.ok(decided.same > 0 && decided.different > 0, JSON.stringify(decided));
  // One descriptor space: a gallery may hold descriptors of either precision.
  assert.equal(kits.int8.embedderId, kits.fp32.embedderId);
});

test('the int8 SSD finds the same faces as fp32 in the sample photos (IoU >= 0.9, scores within 0.1)', async () => {
  for (const [n, image] of images.entries()) {
    const [want, got] = await Promise.all([kits.ssd.detect(image), kits.ssdInt8.detect(image)]);
    assert.equal(got.length, want.length, `sample${n + 1}`);
    for (const face of want) {
      const twin = got.reduce((best, d) => (iou(d.box, face.box) > iou(best.box, face.box) ? d : best));
      assert.ok(iou(twin.box, face.box) >= MIN_IOU, `sample${n + 1}: IoU ${iou(twin.box, face.box)}`);
      assert.ok(
        Math.abs(twin.score - face.score) <= SCORE_DRIFT,
        `sample${n + 1}: score ${face.score} → ${twin.score}`,
      );
    }
  }
});

test('onnxruntime runs every conv of both int8 models in int8 (QLinearConv), none in float', async () => {
  for (const id of INT8_IDS) {
    const convs = opCount(await loadModelBytes(id.replace(/_int8$/, '') as ModelId, cacheDir), 'Conv');
    const optimized = join(tempDir('facekit-int8-opt-'), `${id}.onnx`);
    const session = await ort.InferenceSession.create(await loadModelBytes(id, cacheDir), {
      graphOptimizationLevel: 'all',
      optimizedModelFilePath: optimized,
      logSeverityLevel: 3,
    });
    await session.release();
    const bytes = readFileSync(optimized);
    assert.ok(convs > 20, `${id}: ${convs} convs in fp32`);
    assert.equal(opCount(bytes, 'QLinearConv'), convs, id);
    assert.equal(opCount(bytes, 'Conv') + opCount(bytes, 'FusedConv'), 0, `${id}: a conv left in float`);
  }
});

test('the int8 models sit in the cache like the others: versioned file, checksum, deep verification; corruption and changed calibration photos are caught', async () => {
  for (const id of INT8_IDS) {
    const info = await inspectModel(id, cacheDir, { deep: true });
    assert.equal(info.state, 'ready', id);
    assert.equal(info.record?.builderVersion, MODELS[id].builderVersion);
    assert.ok(info.path.endsWith(`${id}.v${MODELS[id].builderVersion}.onnx`), info.path);
  }

  // A copy of the weights package (SSD weights and the demo photos, times kept) and of the cached int8 SSD built from it.
  const spec = MODELS.ssd_mobilenetv1_int8;
  const real = weightsPackageDir(spec);
  const packageDir = tempDir('facekit-int8-package-');
  const manifest = JSON.parse(readFileSync(join(real, spec.weightsDir, spec.manifest), 'utf8')) as {
    paths: string[];
  }[];
  for (const f of [
    join(spec.weightsDir, spec.manifest),
    ...manifest.flatMap((g) => g.paths.map((p) => join(spec.weightsDir, p))),
    ...(spec.calibrationFiles ?? []),
  ]) {
    mkdirSync(join(packageDir, f, '..'), { recursive: true });
    cpSync(join(real, f), join(packageDir, f), { preserveTimestamps: true });
  }
  const { version } = JSON.parse(readFileSync(join(real, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(packageDir, 'package.json'), JSON.stringify({ name: spec.weightsPackage, version }));
  const cache = tempDir('facekit-int8-cache-');
  const built = (await inspectModel('ssd_mobilenetv1_int8', cacheDir)).path;
  for (const ext of ['onnx', 'json'])
    cpSync(built.replace(/onnx$/, ext), join(cache, `${spec.id}.v${spec.builderVersion}.${ext}`));
  const src = { spec, packageDir };
  assert.equal((await inspectSource(src, cache, { deep: true })).state, 'ready');

  const onnx = join(cache, `${spec.id}.v${spec.builderVersion}.onnx`);
  const bytes = readFileSync(onnx);
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(onnx, bytes);
  assert.equal((await inspectSource(src, cache)).state, 'corrupt');
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(onnx, bytes);

  // Calibration saw these photos: other bytes would give other ranges, so the model is stale.
  const photo = join(packageDir, (spec.calibrationFiles ?? [])[2]);
  const jpeg = readFileSync(photo);
  jpeg[jpeg.length >> 1] ^= 0x01;
  writeFileSync(photo, jpeg);
  const stale = await inspectSource(src, cache);
  assert.equal(stale.state, 'stale');
  assert.match(stale.reason ?? '', /weights or calibration photos changed/);
});
