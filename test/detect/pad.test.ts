import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DetectOptions, FaceDetector } from '../../src/detect/detector.js';
import {
  borderPixels,
  checkPadding,
  detectPadded,
  MAX_PADDING,
  padImage,
  unpadDetections,
} from '../../src/detect/pad.js';
import { FaceKitError } from '../../src/errors.js';
import { createFaceKit } from '../../src/pipeline/kit.js';
import { loadImage } from '../../src/image/decode.js';
import type { Detection, Image } from '../../src/types.js';
import { isolatedCacheDir, samplePath } from '../helpers/photos.js';

isolatedCacheDir();
const code = (c: string) => (e: unknown) => e instanceof FaceKitError && e.code === c;

function ramp(width: number, height: number): Image {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = i % 251;
  return { width, height, data };
}

test('padImage centres the photo on a grey canvas, pixels unchanged', () => {
  const img = ramp(5, 3);
  const padded = padImage(img, 2);
  assert.equal(padded.width, 9);
  assert.equal(padded.height, 7);
  for (let y = 0; y < 3; y++)
    for (let x = 0; x < 5; x++)
      for (let c = 0; c < 3; c++)
        assert.equal(padded.data[((y + 2) * 9 + x + 2) * 3 + c], img.data[(y * 5 + x) * 3 + c]);
  assert.equal(padded.data[0], 128);
  assert.equal(padded.data[padded.data.length - 1], 128);
  assert.equal(padImage(img, 0), img, 'no border: the photo itself, no copy');
});

test('borderPixels is a share of the longer side; checkPadding refuses what is not in [0, MAX_PADDING]', () => {
  assert.equal(borderPixels(ramp(200, 100), 0.25), 50);
  assert.equal(borderPixels(ramp(100, 200), 0), 0);
  for (const bad of [-0.1, MAX_PADDING + 0.01, Number.NaN, Number.POSITIVE_INFINITY])
    assert.throws(() => checkPadding(bad), code('INVALID_ARGUMENT'));
  assert.equal(checkPadding(0.25), 0.25);
});

test('unpadDetections moves boxes and five points back by the border', () => {
  const [d] = unpadDetections(
    [{ box: { x: 12, y: 15, width: 20, height: 30 }, score: 0.9, landmarks5: [{ x: 20, y: 25 }] }],
    10,
  );
  assert.deepEqual(d.box, { x: 2, y: 5, width: 20, height: 30 });
  assert.deepEqual(d.landmarks5, [{ x: 10, y: 15 }]);
});

/** A detector that answers fixed boxes in the coordinates of the image it is given, and records what it saw. */
function fakeDetector(
  answer: (img: Image) => Detection[],
): FaceDetector & { seen: { img: Image; options?: DetectOptions }[] } {
  const seen: { img: Image; options?: DetectOptions }[] = [];
  return {
    name: 'ssd',
    seen,
    async detect(img, options) {
      seen.push({ img, options });
      return answer(img);
    },
    async dispose() {},
  };
}

test('detectPadded: boxes in the border are dropped before maxFaces, the rest clipped to the photo and tagged', async () => {
  const photo = ramp(100, 80);
  // Nothing on the photo itself; these in the bordered copy.
  const det = fakeDetector((img) =>
    img === photo
      ? []
      : [
          // Best score, but wholly in the border: must not take a real face's place.
          { box: { x: 0, y: 0, width: 20, height: 20 }, score: 0.99 },
          { box: { x: 30, y: 30, width: 50, height: 50 }, score: 0.9 },
          { box: { x: 90, y: 40, width: 40, height: 40 }, score: 0.8 },
        ],
  );
  const found = await detectPadded(det, photo, { maxFaces: 1, minConfidence: 0.3 }, 0.25);
  assert.equal(det.seen[0].img, photo, 'the plain pass first');
  assert.equal(det.seen[1].img.width, 150);
  assert.equal(det.seen[1].options?.maxFaces, undefined, 'maxFaces is applied after unpadding');
  assert.equal(det.seen[1].options?.minConfidence, 0.3);
  assert.equal(found.length, 1);
  assert.deepEqual(found[0].box, { x: 5, y: 5, width: 50, height: 50 });
  assert.equal(found[0].detector, 'ssd');
  const all = await detectPadded(det, photo, {}, 0.25);
  assert.deepEqual(
    all.map((d) => d.box),
    [
      { x: 5, y: 5, width: 50, height: 50 },
      { x: 65, y: 15, width: 35, height: 40 },
    ],
  );
  const plain = await detectPadded(det, photo, {}, 0);
  assert.equal(det.seen.length, 5, 'padding 0: one pass');
  assert.equal(det.seen[4].img, photo, 'padding 0 hands the photo over as it is');
  assert.ok(plain.every((d) => d.detector === 'ssd'));
});

test("detectPadded: both passes run; a face clear of the edges is the plain pass's, a face only the border finds joins", async () => {
  const photo = ramp(100, 80);
  const det = fakeDetector((img) =>
    img === photo
      ? [{ box: { x: 30, y: 20, width: 40, height: 40 }, score: 0.9 }]
      : [
          // The same face in the bordered copy (25 px border), framed a little differently: not repeated.
          { box: { x: 56, y: 44, width: 38, height: 40 }, score: 0.95 },
          // A face the plain pass missed.
          { box: { x: 100, y: 60, width: 20, height: 20 }, score: 0.8 },
        ],
  );
  const found = await detectPadded(det, photo, { maxFaces: 3 }, 0.25);
  assert.equal(det.seen.length, 2);
  assert.equal(det.seen[0].img, photo, 'the plain pass on the photo itself');
  assert.deepEqual(
    found.map((d) => [d.box, d.score, d.detector]),
    [
      [{ x: 30, y: 20, width: 40, height: 40 }, 0.9, 'ssd'],
      [{ x: 75, y: 35, width: 20, height: 20 }, 0.8, 'ssd'],
    ],
  );
  // A face at the edge that the bordered pass does not find is kept as the plain pass saw it.
  const edgeOnly = fakeDetector((img) =>
    img === photo ? [{ box: { x: 0, y: 10, width: 30, height: 30 }, score: 0.7 }] : [],
  );
  assert.deepEqual(
    (await detectPadded(edgeOnly, photo, {}, 0.25)).map((d) => d.box),
    [{ x: 0, y: 10, width: 30, height: 30 }],
  );
});

test("detectPadded: a face at the edge is the bordered pass's; clear faces stay, bordered boxes nested in them go", async () => {
  const photo = ramp(100, 80);
  const det = fakeDetector((img) =>
    img === photo
      ? [
          { box: { x: 30, y: 20, width: 40, height: 40 }, score: 0.7 }, // clear of the edges
          { box: { x: 80, y: 30, width: 20, height: 30 }, score: 0.6 }, // cut by the right edge
        ]
      : [
          // In the bordered copy (25 px border): a small box inside the clear face, found with a higher score…
          { box: { x: 60, y: 55, width: 10, height: 10 }, score: 0.95 },
          // …and the edge face, seen whole.
          { box: { x: 103, y: 53, width: 30, height: 34 }, score: 0.9 },
        ],
  );
  const found = await detectPadded(det, photo, {}, 0.25);
  assert.equal(det.seen.length, 2);
  assert.deepEqual(
    found.map((d) => [d.box, d.score]),
    [
      [{ x: 78, y: 28, width: 22, height: 34 }, 0.9],
      [{ x: 30, y: 20, width: 40, height: 40 }, 0.7],
    ],
    'the clear face from the plain pass, the edge face from the bordered one (clipped), the nested box dropped',
  );
  // Nothing in the plain pass: the bordered pass answers alone.
  const none = fakeDetector((img) =>
    img === photo ? [] : [{ box: { x: 40, y: 40, width: 30, height: 30 }, score: 0.8 }],
  );
  assert.deepEqual(
    (await detectPadded(none, photo, {}, 0.25)).map((d) => d.box),
    [{ x: 15, y: 15, width: 30, height: 30 }],
  );
  assert.equal(none.seen.length, 2);
});

test('the kit checks its padding option and tags every detection with the detector that found it', async () => {
  assert.throws(() => createFaceKit({ padding: 2 }), code('INVALID_ARGUMENT'));
  assert.throws(() => createFaceKit({ padding: -1 }), code('INVALID_ARGUMENT'));
  const kit = createFaceKit({ detector: 'ssd', threads: 1, padding: 0.1 });
  try {
    const faces = await kit.detect(await loadImage(samplePath(1)));
    assert.ok(faces.length >= 3);
    assert.ok(faces.every((f) => f.detector === 'ssd'));
  } finally {
    await kit.dispose();
  }
});
