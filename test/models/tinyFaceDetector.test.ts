import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { FaceKitError } from '../../src/errors.js';
import { tinyInput } from '../../src/detect/tiny.js';
import { MODELS, weightsFolder } from '../../src/models/registry.js';
import { buildTinyFaceDetector, TINY_INPUT, TINY_OUTPUT } from '../../src/models/tinyFaceDetector.js';
import { readTfjsWeights } from '../../src/models/weights.js';
import * as ort from 'onnxruntime-node';
import { ModelSession } from '../../src/runtime/session.js';
import { loadFaceApi, maxAbsDiff, type FaceApi, loadSample } from '../helpers/faceapi-reference.js';

const cacheDir = mkdtempSync(join(tmpdir(), 'facekit-tiny-model-'));
/** Both runtimes compute in float32 with different summation orders; 1e-4 leaves room only for that. */
const TOLERANCE = 1e-4;

let session: ModelSession;
let faceapi: FaceApi;

async function runOnnx(input: Float32Array, h: number, w: number): Promise<ort.Tensor> {
  return (await session.run({ [TINY_INPUT]: new ort.Tensor('float32', input, [1, h, w, 3]) }))[TINY_OUTPUT];
}

/** face-api's own network on the identical float tensor (already square and sized, so no resampling). */
async function runFaceApi(input: Float32Array, size: number): Promise<Float32Array> {
  const t = faceapi.tf.tensor4d(input, [1, size, size, 3], 'float32');
  const out = await faceapi.nets.tinyFaceDetector.forward(t, size);
  const data = (await out.data()) as Float32Array;
  t.dispose();
  out.dispose();
  return data;
}

before(async () => {
  [session, faceapi] = await Promise.all([
    ModelSession.open('tiny_face_detector', { threads: 1, cacheDir }),
    loadFaceApi(),
  ]);
});

after(async () => {
  await session?.dispose();
  rmSync(cacheDir, { recursive: true, force: true });
});

for (const [sample, size] of [
  [1, 416],
  [2, 320],
  [3, 608],
  [2, 416],
] as const) {
  test(`raw grid matches face-api's net on sample${sample} at ${size}`, async () => {
    const input = tinyInput(await loadSample(sample), size);
    const ours = await runOnnx(input, size, size);
    const grid = size / 32;
    assert.deepEqual(ours.dims, [1, grid, grid, 25]);
    const ref = await runFaceApi(input, size);
    const diff = maxAbsDiff(ours.data as Float32Array, ref);
    console.log(`sample${sample} @${size}: max |onnx - face-api| = ${diff.toExponential(2)}`);
    assert.ok(diff <= TOLERANCE, `max abs diff ${diff} > ${TOLERANCE}`);
  });
}

test('the input is dynamic: a non-square multiple of 32 gives a matching grid', async () => {
  const input = new Float32Array(256 * 384 * 3).fill(128);
  const out = await runOnnx(input, 256, 384);
  assert.deepEqual(out.dims, [1, 8, 12, 25]);
  assert.ok((out.data as Float32Array).every(Number.isFinite));
});

test('a weights map without a tensor the net needs fails with MODEL_CORRUPT', async () => {
  const spec = MODELS.tiny_face_detector;
  const weights = await readTfjsWeights(weightsFolder(spec), spec.manifest);
  weights.delete('conv3/pointwise_filter');
  assert.throws(
    () => buildTinyFaceDetector(weights),
    (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_CORRUPT' && e.field === 'conv3/pointwise_filter',
  );
});
