import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { FaceKitError } from '../../src/errors.js';
import { TinyDetector } from '../../src/detect/tiny.js';
import { TINY_ANCHOR_COUNT, TINY_BOX_ENCODING } from '../../src/models/tinyFaceDetector.js';
import { clipBox, iou } from '../../src/detect/nms.js';
import type { Box, Image } from '../../src/types.js';
import { loadFaceApi, type FaceApi, loadSample } from '../helpers/faceapi-reference.js';

const cacheDir = mkdtempSync(join(tmpdir(), 'facekit-tiny-detect-'));
/** Boxes come from the same logits up to float32 noise, so they should all but coincide. */
const MIN_IOU = 0.99;
const MAX_SCORE_DIFF = 1e-3;

let detector: TinyDetector;
let faceapi: FaceApi;

function isFaceKitError(code: string) {
  return (e: unknown) => e instanceof FaceKitError && e.code === code;
}

before(async () => {
  [detector, faceapi] = await Promise.all([TinyDetector.create({ threads: 1, cacheDir }), loadFaceApi()]);
});

after(async () => {
  await detector?.dispose();
  rmSync(cacheDir, { recursive: true, force: true });
});

for (const [sample, inputSize, minConfidence] of [
  [1, 416, 0.5],
  [2, 320, 0.5],
  [4, 608, 0.05],
  [6, 416, 0.2],
] as const) {
  test(`detect() matches face-api detectAllFaces on sample${sample} at ${inputSize}, threshold ${minConfidence}`, async () => {
    const image = await loadSample(sample);
    const ours = await detector.detect(image, { inputSize, minConfidence });

    const tensor = faceapi.tf.tensor3d(image.data, [image.height, image.width, 3], 'float32');
    const options = new faceapi.TinyFaceDetectorOptions({ inputSize, scoreThreshold: minConfidence });
    const refs = ((await faceapi.detectAllFaces(tensor, options)) as { score: number; box: Box }[]).map((d) => ({
      score: d.score,
      box: clipBox({ x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height }, image.width, image.height),
    }));
    tensor.dispose();

    assert.ok(refs.length > 0, 'the sample should contain faces');
    assert.equal(ours.length, refs.length);
    let worstIou = 1;
    let worstScore = 0;
    for (let i = 0; i < ours.length; i++) {
      // Both lists are best-first; a near-tie in score may swap neighbours, so pair by best overlap.
      const ref = refs.reduce((best, r) => (iou(r.box, ours[i].box) > iou(best.box, ours[i].box) ? r : best));
      worstIou = Math.min(worstIou, iou(ref.box, ours[i].box));
      worstScore = Math.max(worstScore, Math.abs(ref.score - ours[i].score));
      if (i > 0) assert.ok(ours[i].score <= ours[i - 1].score, 'sorted by score');
      const b = ours[i].box;
      assert.ok(
        b.x >= 0 && b.y >= 0 && b.x + b.width <= image.width && b.y + b.height <= image.height,
        'inside the image',
      );
    }
    console.log(
      `sample${sample} @${inputSize}: ${ours.length} faces, min IoU ${worstIou.toFixed(6)}, max score diff ${worstScore.toExponential(2)}`,
    );
    assert.ok(worstIou >= MIN_IOU, `IoU ${worstIou} < ${MIN_IOU}`);
    assert.ok(worstScore < MAX_SCORE_DIFF, `score diff ${worstScore}`);
  });
}

test('maxFaces keeps only the best ones', async () => {
  const image = await loadSample(2);
  const all = await detector.detect(image, { minConfidence: 0.3 });
  assert.ok(all.length >= 2);
  const two = await detector.detect(image, { minConfidence: 0.3, maxFaces: 2 });
  assert.deepEqual(two, all.slice(0, 2));
});

test('overlapping calls on one detector give the same results as one at a time', async () => {
  const [a, b] = await Promise.all([loadSample(1), loadSample(5)]);
  const sequential = [await detector.detect(a), await detector.detect(b)];
  assert.deepEqual(await Promise.all([detector.detect(a), detector.detect(b), detector.detect(a)]), [
    ...sequential,
    sequential[0],
  ]);
});

test('a flat grey image has no faces', async () => {
  const grey: Image = { width: 300, height: 200, data: new Uint8Array(300 * 200 * 3).fill(128) };
  assert.deepEqual(await detector.detect(grey), []);
});

test('bad arguments are refused with INVALID_ARGUMENT', async () => {
  const grey: Image = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(128) };
  for (const inputSize of [0, -32, 100, 416.5, Number.NaN, 8192]) {
    await assert.rejects(
      detector.detect(grey, { inputSize }),
      isFaceKitError('INVALID_ARGUMENT'),
      `inputSize ${inputSize}`,
    );
  }
  await assert.rejects(detector.detect(grey, { minConfidence: 1.5 }), isFaceKitError('INVALID_ARGUMENT'));
  await assert.rejects(detector.detect(grey, { maxFaces: -1 }), isFaceKitError('INVALID_ARGUMENT'));
  await assert.rejects(
    detector.detect({ width: 64, height: 64, data: new Uint8Array(10) }),
    isFaceKitError('INVALID_ARGUMENT'),
  );
});

test('a disposed detector throws DISPOSED', async () => {
  const d = await TinyDetector.create({ threads: 1, cacheDir });
  await d.dispose();
  const grey: Image = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(128) };
  await assert.rejects(d.detect(grey), isFaceKitError('DISPOSED'));
});

test('maxFaces counts faces inside the photo: a better-scoring box lying wholly in the padding does not take a place', async () => {
  // A 64×32 photo is padded to a 64-px square: its lower half is padding. At input 32 the grid is one cell.
  const photo: Image = { width: 64, height: 32, data: new Uint8Array(64 * 32 * 3).fill(128) };
  const grid = new Float32Array(TINY_ANCHOR_COUNT * TINY_BOX_ENCODING).fill(-10);
  const cell = (anchor: number, tx: number, ty: number, tw: number, th: number, score: number) =>
    grid.set([tx, ty, tw, th, score], anchor * TINY_BOX_ENCODING);
  // Anchor 0: a 1-px box centred at y ≈ 58 of the padded square, below the photo's 32 rows; scores 0.95.
  cell(0, 0, Math.log(0.9 / 0.1), -5, -5, Math.log(0.95 / 0.05));
  // Anchor 1: a 19×22-px box centred on the photo (y = 16), scoring 0.8.
  cell(1, 0, Math.log(0.25 / 0.75), -3, -3, Math.log(0.8 / 0.2));
  const faked = await TinyDetector.create({ threads: 1, cacheDir });
  try {
    faked.runGrid = async () => ({ grid, gridH: 1, gridW: 1 });
    const all = await faked.detect(photo, { inputSize: 32 });
    assert.equal(all.length, 1, 'the box in the padding is dropped');
    assert.ok(Math.abs(all[0].score - 0.8) < 1e-6);
    const one = await faked.detect(photo, { inputSize: 32, maxFaces: 1 });
    assert.deepEqual(one, all);
  } finally {
    await faked.dispose();
  }
});
