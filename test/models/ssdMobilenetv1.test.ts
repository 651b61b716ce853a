import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelSession } from '../../src/runtime/session.js';
import { SSD_ANCHOR_COUNT, SSD_INPUT_SIZE } from '../../src/models/ssdMobilenetv1.js';
import { resizeRegion } from '../../src/image/ops.js';
import type { Image } from '../../src/types.js';
import { loadFaceApi, maxAbsDiff, loadSample } from '../helpers/faceapi-reference.js';

const cacheDir = await mkdtemp(join(tmpdir(), 'facekit-ssd-model-'));
process.env.FACEKIT_CACHE_DIR = cacheDir;
after(() => rm(cacheDir, { recursive: true, force: true }));

/** Same float bits go to both networks, so any difference is the graph's, not preprocessing's. */
const TOLERANCE = 1e-4;

/** face-api's toBatchTensor(512, false): zero-pad to a square at bottom/right, then resize. */
function squareInput(img: Image): Float32Array {
  const side = Math.max(img.width, img.height);
  return resizeRegion(img, { x: 0, y: 0, width: side, height: side }, SSD_INPUT_SIZE, SSD_INPUT_SIZE);
}

test('ssd_mobilenetv1 graph matches face-api on identical input tensors', async () => {
  const faceapi = await loadFaceApi();
  const session = await ModelSession.open('ssd_mobilenetv1', { threads: 1, cacheDir });
  try {
    for (const n of [2, 3]) {
      const input = squareInput(await loadSample(n));
      const ours = await session.run({
        input: new ort.Tensor('float32', input, [1, SSD_INPUT_SIZE, SSD_INPUT_SIZE, 3]),
      });
      assert.deepEqual(ours.boxes.dims, [1, SSD_ANCHOR_COUNT, 4]);
      assert.deepEqual(ours.scores.dims, [1, SSD_ANCHOR_COUNT]);

      const tensor = faceapi.tf.tensor4d(input, [1, SSD_INPUT_SIZE, SSD_INPUT_SIZE, 3]);
      const ref = await faceapi.nets.ssdMobilenetv1.forward(tensor);
      const refBoxes = (await ref.boxes[0].data()) as Float32Array;
      const refScores = (await ref.scores[0].data()) as Float32Array;
      faceapi.tf.dispose([tensor, ...ref.boxes, ...ref.scores]);

      const boxDiff = maxAbsDiff(ours.boxes.data as Float32Array, refBoxes);
      const scoreDiff = maxAbsDiff(ours.scores.data as Float32Array, refScores);
      console.log(
        `sample${n}: max |Δbox| ${boxDiff.toExponential(2)}, max |Δscore| ${scoreDiff.toExponential(2)}, best score ${Math.max(...refScores).toFixed(4)}`,
      );
      assert.ok(boxDiff <= TOLERANCE, `sample${n} boxes differ by ${boxDiff}`);
      assert.ok(scoreDiff <= TOLERANCE, `sample${n} scores differ by ${scoreDiff}`);
      // The comparison is only meaningful if the photo has a confident face in it.
      assert.ok(Math.max(...refScores) > 0.9);
    }
  } finally {
    await session.dispose();
  }
});
