import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadFaceApi, faceApiModelDir, faceApiSample, maxAbsDiff } from '../helpers/faceapi-reference.js';
import * as ort from 'onnxruntime-node';
import { ModelSession } from '../../src/runtime/session.js';
import { resizeRegion } from '../../src/image/ops.js';
import { buildFaceLandmark68, buildFaceLandmark68Tiny } from '../../src/models/faceLandmark68.js';
import { readTfjsWeights } from '../../src/models/weights.js';
import { FaceKitError } from '../../src/errors.js';
import type { Box, Image } from '../../src/types.js';

// This file builds its own model copies, apart from other tests' caches.
const cacheDir = await mkdtemp(join(tmpdir(), 'facekit-lm68-model-'));
after(() => rm(cacheDir, { recursive: true, force: true }));

/** Same weights and ops as face-api: only float32 summation order differs (measured ~1e-7). */
const NETWORK_TOLERANCE = 1e-4;
const SIZE = 112;

async function decode(path: string): Promise<Image> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

// Squares around faces that face-api's tiny detector finds in the demo photos, plus one
// off-centre, partly outside crop so that the batch is not all alike.
const crops: { sample: number; box: Box }[] = [
  { sample: 1, box: { x: 770, y: 420, width: 320, height: 320 } },
  { sample: 1, box: { x: 1415, y: 200, width: 320, height: 320 } },
  { sample: 3, box: { x: 520, y: 360, width: 320, height: 320 } },
  { sample: 3, box: { x: -60, y: -40, width: 300, height: 300 } },
];

let batchOnce: Promise<Float32Array> | undefined;
function faceBatch(): Promise<Float32Array> {
  batchOnce ??= makeFaceBatch();
  return batchOnce;
}

async function makeFaceBatch(): Promise<Float32Array> {
  const images = new Map<number, Image>();
  for (const c of crops) if (!images.has(c.sample)) images.set(c.sample, await decode(faceApiSample(c.sample)));
  const batch = new Float32Array(crops.length * SIZE * SIZE * 3);
  crops.forEach((c, i) => resizeRegion(images.get(c.sample) as Image, c.box, SIZE, SIZE, batch, i * SIZE * SIZE * 3));
  return batch;
}

const variants = [
  { id: 'face_landmark_68' as const, net: 'faceLandmark68Net' },
  { id: 'face_landmark_68_tiny' as const, net: 'faceLandmark68TinyNet' },
];

for (const v of variants) {
  test(`${v.id}: same output as face-api's ${v.net} on a batch of face crops`, async () => {
    const [faceapi, batch] = await Promise.all([loadFaceApi(), faceBatch()]);
    const session = await ModelSession.open(v.id, { threads: 1, cacheDir });
    try {
      const n = crops.length;
      const out = await session.run({ input: new ort.Tensor('float32', batch, [n, SIZE, SIZE, 3]) });
      assert.deepEqual(out.landmarks.dims, [n, 136]);
      const ours = out.landmarks.data as Float32Array;

      // 112×112 square inputs go through face-api's NetInput untouched (no pad, no resize).
      const ref = faceapi.tf.tidy(() => {
        const slices = faceapi.tf.unstack(faceapi.tf.tensor4d(batch, [n, SIZE, SIZE, 3]));
        return faceapi.nets[v.net].runNet(new faceapi.NetInput(slices)).dataSync() as Float32Array;
      });
      const diff = maxAbsDiff(ours, ref);
      console.log(`${v.id}: batch of ${n}, max |ours - face-api| = ${diff.toExponential(2)}`);
      assert.ok(diff <= NETWORK_TOLERANCE, `max abs diff ${diff} > ${NETWORK_TOLERANCE}`);
      // The first three crops are centred on faces: a broken graph rarely lands inside by chance.
      for (const value of ours.subarray(0, 3 * 136))
        assert.ok(value > 0 && value < 1, `relative coordinate ${value} outside the crop`);

      // Batch rows are independent: the second face alone gives the second row.
      const one = await session.run({
        input: new ort.Tensor('float32', batch.slice(SIZE * SIZE * 3, 2 * SIZE * SIZE * 3), [1, SIZE, SIZE, 3]),
      });
      assert.ok(maxAbsDiff(one.landmarks.data as Float32Array, ours.subarray(136, 272)) <= 1e-5);
    } finally {
      await session.dispose();
    }
  });
}

test('the builders refuse weights of the wrong network, naming the tensor', async () => {
  const dir = faceApiModelDir();
  const tinyWeights = await readTfjsWeights(dir, 'face_landmark_68_tiny_model-weights_manifest.json');
  assert.throws(
    () => buildFaceLandmark68(tinyWeights),
    (e: unknown) =>
      e instanceof FaceKitError && e.code === 'MODEL_CORRUPT' && e.field === 'dense0/conv3/depthwise_filter',
  );
  const fullWeights = await readTfjsWeights(dir, 'face_landmark_68_model-weights_manifest.json');
  assert.throws(
    () => buildFaceLandmark68Tiny(fullWeights),
    (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_CORRUPT' && e.field === 'fc/weights',
  );
  assert.throws(
    () => buildFaceLandmark68Tiny(new Map()),
    (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_CORRUPT',
  );
});
