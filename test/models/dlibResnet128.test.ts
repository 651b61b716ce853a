import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { buildDlibResnet128 } from '../../src/models/dlibResnet128.js';
import { readTfjsWeights, type WeightTensor } from '../../src/models/weights.js';
import { FaceKitError } from '../../src/errors.js';
import { faceApiModelDir, faceApiSample, loadFaceApi, maxAbsDiff } from '../helpers/faceapi-reference.js';

const CHIP = 150;
const CHIP_VALUES = CHIP * CHIP * 3;
/** face-api's descriptors are ~0.1 in magnitude; folding the scale layers moves them ~1e-7. */
const TOLERANCE = 1e-4;

/** Square 150×150 crop around a face box (from face-api's SSD on the demo photos), as floats. */
async function faceChip(sample: number, box: readonly [number, number, number, number]): Promise<Float32Array> {
  const [x, y, w, h] = box;
  const side = Math.round(Math.max(w, h) * 0.9);
  const { data } = await sharp(faceApiSample(sample))
    .removeAlpha()
    .extract({
      left: Math.round(x + w / 2 - side / 2),
      top: Math.round(y + h / 2 - side / 2),
      width: side,
      height: side,
    })
    .resize(CHIP, CHIP)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return Float32Array.from(data);
}

const weightsPromise = readTfjsWeights(faceApiModelDir(), 'face_recognition_model-weights_manifest.json');
let sessionPromise: Promise<ort.InferenceSession> | undefined;
function session(): Promise<ort.InferenceSession> {
  sessionPromise ??= weightsPromise.then((w) =>
    ort.InferenceSession.create(buildDlibResnet128(w), { intraOpNumThreads: 1 }),
  );
  return sessionPromise;
}
after(async () => {
  if (sessionPromise) await (await sessionPromise).release();
});

test('the ONNX graph matches face-api FaceRecognitionNet on a batch of face crops from two photos', async () => {
  const chips = await Promise.all([
    faceChip(1, [414, 355, 177, 240]),
    faceChip(1, [1476, 199, 203, 241]),
    faceChip(3, [585, 329, 199, 271]),
  ]);
  const s = await session();
  assert.deepEqual(s.inputNames, ['input']);
  assert.deepEqual(s.outputNames, ['descriptor']);
  const batch = new Float32Array(chips.length * CHIP_VALUES);
  chips.forEach((c, i) => batch.set(c, i * CHIP_VALUES));
  const out = await s.run({ input: new ort.Tensor('float32', batch, [chips.length, CHIP, CHIP, 3]) });
  assert.deepEqual(out.descriptor.dims, [chips.length, 128]);
  const ours = out.descriptor.data as Float32Array;

  const faceapi = await loadFaceApi();
  const tensors = chips.map((c) => faceapi.tf.tensor3d(c, [CHIP, CHIP, 3]));
  const reference = (await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(tensors)) as Float32Array[];
  tensors.forEach((t: { dispose(): void }) => t.dispose());

  let worst = 0;
  reference.forEach((ref, i) => {
    assert.equal(ref.length, 128);
    worst = Math.max(worst, maxAbsDiff(ours.subarray(i * 128, (i + 1) * 128), ref));
  });
  console.log(`dlib_resnet128 vs face-api: max abs diff ${worst.toExponential(2)} over ${chips.length} faces`);
  assert.ok(worst <= TOLERANCE, `max abs diff ${worst}`);
  // A descriptor of all zeros would pass a loose diff: make sure the faces are told apart.
  assert.ok(maxAbsDiff(ours.subarray(0, 128), ours.subarray(128, 256)) > 0.01);
});

test('the batch dimension is dynamic and batch items do not leak into each other', async () => {
  const s = await session();
  const chip = await faceChip(3, [585, 329, 199, 271]);
  const one = await s.run({ input: new ort.Tensor('float32', chip, [1, CHIP, CHIP, 3]) });
  const pair = new Float32Array(2 * CHIP_VALUES).fill(128);
  pair.set(chip, CHIP_VALUES);
  const two = await s.run({ input: new ort.Tensor('float32', pair, [2, CHIP, CHIP, 3]) });
  assert.deepEqual(two.descriptor.dims, [2, 128]);
  assert.ok(
    maxAbsDiff(one.descriptor.data as Float32Array, (two.descriptor.data as Float32Array).subarray(128)) < 1e-6,
  );
});

test('a weights map without the expected tensors fails with MODEL_CORRUPT', async () => {
  const weights = new Map<string, WeightTensor>(await weightsPromise);
  weights.delete('conv128_1/conv2/scale/weights');
  assert.throws(
    () => buildDlibResnet128(weights),
    (e: unknown) =>
      e instanceof FaceKitError && e.code === 'MODEL_CORRUPT' && /conv128_1\/conv2\/scale\/weights/.test(e.message),
  );
  const wrong = new Map<string, WeightTensor>(await weightsPromise);
  wrong.set('fc', { shape: [128, 256], data: new Float32Array(128 * 256) });
  assert.throws(
    () => buildDlibResnet128(wrong),
    (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_CORRUPT',
  );
});
