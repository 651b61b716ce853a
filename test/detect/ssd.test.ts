import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { SSD_DEFAULT_MIN_CONFIDENCE, SsdDetector, ssdInput } from '../../src/detect/ssd.js';
import { clipBox, iou } from '../../src/detect/nms.js';
import { FaceKitError } from '../../src/errors.js';
import { resizeRegion } from '../../src/image/ops.js';
import { SSD_ANCHOR_COUNT } from '../../src/models/ssdMobilenetv1.js';
import type { Box, Detection, Image } from '../../src/types.js';
import { faceApiSample, loadFaceApi, loadSample } from '../helpers/faceapi-reference.js';

const cacheDir = await mkdtemp(join(tmpdir(), 'facekit-ssd-detect-'));
process.env.FACEKIT_CACHE_DIR = cacheDir;

const detector = await SsdDetector.create({ threads: 1, cacheDir });
after(async () => {
  await detector.dispose();
  await rm(cacheDir, { recursive: true, force: true });
});

const MIN_IOU = 0.99;
const MAX_SCORE_DIFF = 1e-3;
/** Low enough that marginal, overlapping non-face candidates reach NMS too. */
const LOW_CONFIDENCE = 0.05;

async function faceApiDetect(img: Image, minConfidence: number): Promise<{ box: Box; score: number }[]> {
  const faceapi = await loadFaceApi();
  const tensor = faceapi.tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
  try {
    const found = await faceapi.detectAllFaces(tensor, new faceapi.SsdMobilenetv1Options({ minConfidence }));
    // face-api lets boxes run into the padding below/right of the photo; facekit clips them to the
    // photo and drops any left with no area.
    return found
      .map((d: { box: Box; score: number }) => ({
        box: clipBox({ x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height }, img.width, img.height),
        score: d.score,
      }))
      .filter((d: { box: Box }) => d.box.width > 0 && d.box.height > 0);
  } finally {
    tensor.dispose();
  }
}

function compare(label: string, img: Image, ours: Detection[], ref: { box: Box; score: number }[]): void {
  assert.equal(ours.length, ref.length, `${label}: face count`);
  let worstIou = 1;
  let worstScore = 0;
  for (let i = 0; i < ours.length; i++) {
    // Paired by overlap, not rank: two marginal candidates may score within float noise of each other.
    const match = ref.reduce((best, r) => (iou(ours[i].box, r.box) > iou(ours[i].box, best.box) ? r : best));
    worstIou = Math.min(worstIou, iou(ours[i].box, match.box));
    worstScore = Math.max(worstScore, Math.abs(ours[i].score - match.score));
    if (i > 0) assert.ok(ours[i].score <= ours[i - 1].score, `${label}: sorted by score`);
    const b = ours[i].box;
    assert.ok(
      b.x >= 0 && b.y >= 0 && b.x + b.width <= img.width && b.y + b.height <= img.height,
      `${label}: inside the image`,
    );
  }
  console.log(
    `${label} (${img.width}×${img.height}): ${ours.length} faces, min IoU ${worstIou.toFixed(6)}, max |Δscore| ${worstScore.toExponential(2)}`,
  );
  assert.ok(worstIou >= MIN_IOU, `${label}: IoU ${worstIou}`);
  assert.ok(worstScore < MAX_SCORE_DIFF, `${label}: score diff ${worstScore}`);
}

async function checkAgainstFaceApi(label: string, img: Image): Promise<void> {
  const ref = await faceApiDetect(img, LOW_CONFIDENCE);
  assert.ok(
    ref.some((d) => d.score > SSD_DEFAULT_MIN_CONFIDENCE),
    `${label} has a confident face`,
  );
  compare(`${label} @${LOW_CONFIDENCE}`, img, await detector.detect(img, { minConfidence: LOW_CONFIDENCE }), ref);
  // Greedy NMS never lets a weaker box remove a stronger one, so the default-threshold result is the low one filtered.
  const refDefault = ref.filter((d) => d.score > SSD_DEFAULT_MIN_CONFIDENCE);
  compare(`${label} @default`, img, await detector.detect(img), refDefault);
}

// Two full-size photos; the model test covers others, and the cases below cover other geometries.
for (const n of [1, 5]) {
  test(`sample${n}.jpg: same faces, boxes and scores as face-api`, async () => {
    await checkAgainstFaceApi(`sample${n}`, await loadSample(n));
  });
}

test('a 640×427 photo (non-integer resize to 512): same as face-api', async () => {
  const { data, info } = await sharp(faceApiSample(4))
    .resize(640, 427, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  await checkAgainstFaceApi('sample4 small', {
    width: info.width,
    height: info.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
  });
});

test('a portrait photo (padding on the right): same as face-api', async () => {
  const { data, info } = await sharp(faceApiSample(2))
    .extract({ left: 1100, top: 0, width: 820, height: 1367 })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  await checkAgainstFaceApi('sample2 portrait', {
    width: info.width,
    height: info.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
  });
});

test('ssdInput is bit-identical to resizing the whole zero-padded square', () => {
  let seed = 7;
  const byte = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return (seed % 255) + 1;
  };
  for (const [width, height] of [
    [640, 427],
    [1920, 1367],
    [512, 511],
    [513, 512],
    [300, 299],
    [37, 100],
    [1000, 1],
    [512, 512],
  ]) {
    const img: Image = { width, height, data: Uint8Array.from({ length: width * height * 3 }, byte) };
    const side = Math.max(width, height);
    const full = resizeRegion(img, { x: 0, y: 0, width: side, height: side }, 512, 512);
    const fast = ssdInput(img);
    const at = full.findIndex((v, i) => !Object.is(v, fast[i]));
    assert.equal(at, -1, `${width}×${height}: first difference at ${at}`);
  }
});

test('maxFaces keeps the best ones', async () => {
  const img = await loadSample(2);
  const all = await detector.detect(img);
  assert.ok(all.length >= 2);
  const top = await detector.detect(img, { maxFaces: 1 });
  assert.deepEqual(top, all.slice(0, 1));
});

test('a flat grey image has no faces', async () => {
  const img: Image = { width: 320, height: 240, data: new Uint8Array(320 * 240 * 3).fill(128) };
  assert.deepEqual(await detector.detect(img), []);
});

test('bad options and images are refused with INVALID_ARGUMENT', async () => {
  const img: Image = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) };
  for (const options of [
    { minConfidence: 1 },
    { minConfidence: -0.1 },
    { minConfidence: Number.NaN },
    { maxFaces: 1.5 },
  ]) {
    await assert.rejects(
      detector.detect(img, options),
      (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT',
    );
  }
  await assert.rejects(
    detector.detect({ width: 8, height: 8, data: new Uint8Array(10) }),
    (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT',
  );
});

test('a disposed detector throws DISPOSED', async () => {
  const d = await SsdDetector.create({ threads: 1, cacheDir });
  await d.dispose();
  await d.dispose();
  const img: Image = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) };
  await assert.rejects(d.detect(img), (e: unknown) => e instanceof FaceKitError && e.code === 'DISPOSED');
});

/** Runs `detect` on `img` with the network's output replaced by `boxes` ([ymin, xmin, ymax, xmax] of the padded square) and `scores`. */
async function withFakeOutput(
  img: Image,
  anchors: { box: [number, number, number, number]; score: number }[],
  options: { maxFaces?: number } = {},
): Promise<Detection[]> {
  const boxes = new Float32Array(SSD_ANCHOR_COUNT * 4);
  const scores = new Float32Array(SSD_ANCHOR_COUNT);
  anchors.forEach((a, i) => {
    boxes.set(a.box, i * 4);
    scores[i] = a.score;
  });
  const session = (detector as unknown as { session: { run: (feeds: unknown) => Promise<unknown> } }).session;
  const realRun = session.run;
  session.run = async () => ({ boxes: { data: boxes }, scores: { data: scores } });
  try {
    return await detector.detect(img, options);
  } finally {
    session.run = realRun;
  }
}

test('maxFaces counts faces inside the photo: a better-scoring box in the padding does not take a place', async () => {
  // A 512×256 photo fills the top half of the padded square.
  const img: Image = { width: 512, height: 256, data: new Uint8Array(512 * 256 * 3) };
  const inPadding = { box: [0.7, 0.1, 0.8, 0.2] as [number, number, number, number], score: 0.95 };
  const inPhoto = { box: [0.1, 0.5, 0.3, 0.7] as [number, number, number, number], score: 0.8 };
  const all = await withFakeOutput(img, [inPadding, inPhoto]);
  assert.equal(all.length, 1);
  assert.ok(Math.abs(all[0].score - 0.8) < 1e-6);
  assert.deepEqual(await withFakeOutput(img, [inPadding, inPhoto], { maxFaces: 1 }), all);
});

test('no hidden cap on the number of faces: 150 separate candidates give 150 detections', async () => {
  const img: Image = { width: 512, height: 512, data: new Uint8Array(512 * 512 * 3) };
  const grid = Array.from({ length: 150 }, (_, i) => {
    const [row, col] = [Math.floor(i / 15), i % 15];
    return {
      box: [row / 15, col / 15, row / 15 + 0.05, col / 15 + 0.05] as [number, number, number, number],
      score: 0.9 - i * 1e-3,
    };
  });
  assert.equal((await withFakeOutput(img, grid)).length, 150);
  assert.equal((await withFakeOutput(img, grid, { maxFaces: 120 })).length, 120);
});
