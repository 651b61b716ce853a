/** Issue 16 item 1: every detection pass reads a copy within DETECT_MAX_PIXELS; answers come back in the photo's pixels. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { DETECT_MAX_PIXELS, detectionView, toOriginal } from '../../src/detect/budget.js';
import { pyramidLevels } from '../../src/detect/mtcnn/cascade.js';
import {
  boundedMinFaceSize,
  MTCNN_DEFAULT_MIN_FACE_SIZE,
  MTCNN_MAX_LEVEL_PIXELS,
  MTCNN_MIN_FACE_SIZE_FLOOR,
  MtcnnDetector,
} from '../../src/detect/mtcnn/detector.js';
import { SsdDetector } from '../../src/detect/ssd.js';
import { TinyDetector } from '../../src/detect/tiny.js';
import { loadImage } from '../../src/image/decode.js';
import { createFaceKit } from '../../src/pipeline/kit.js';
import type { Detection, Image } from '../../src/types.js';
import { isolatedCacheDir, samplePath } from '../helpers/photos.js';

isolatedCacheDir();

test('a photo within the budget is read as it is; a larger one as a copy within it, same aspect ratio', async () => {
  const small: Image = { width: 100, height: 50, data: new Uint8Array(100 * 50 * 3) };
  const same = await detectionView(small);
  assert.equal(same.image, small);
  assert.equal(same.scale, 1);
  const big: Image = { width: 4000, height: 1500, data: new Uint8Array(4000 * 1500 * 3).fill(77) };
  const view = await detectionView(big);
  assert.ok(view.image.width * view.image.height <= DETECT_MAX_PIXELS);
  assert.ok(view.image.width * view.image.height > 0.99 * DETECT_MAX_PIXELS);
  assert.ok(Math.abs(view.image.width / view.image.height - 4000 / 1500) < 0.01);
  assert.equal(view.image.data[0], 77);
});

test("MTCNN's first pyramid level stays within its bound for any image and minFaceSize; the default on a budget-sized copy is untouched", () => {
  for (const [w, h] of [
    [2048, 2048],
    [10_000, 10_000],
    [20_000, 500],
    [640, 480],
  ]) {
    for (const minFace of [MTCNN_MIN_FACE_SIZE_FLOOR, MTCNN_DEFAULT_MIN_FACE_SIZE, 80]) {
      const [first] = pyramidLevels(w, h, boundedMinFaceSize(w, h, minFace), 0.709);
      assert.ok(first.width * first.height <= MTCNN_MAX_LEVEL_PIXELS, `${w}×${h}, min face ${minFace}`);
    }
  }
  assert.equal(boundedMinFaceSize(2048, 2048, MTCNN_DEFAULT_MIN_FACE_SIZE), MTCNN_DEFAULT_MIN_FACE_SIZE);
  assert.equal(boundedMinFaceSize(640, 480, MTCNN_MIN_FACE_SIZE_FLOOR), MTCNN_MIN_FACE_SIZE_FLOOR);
});

test('toOriginal scales boxes and five points back and clips boxes to the photo', () => {
  const original: Image = { width: 1000, height: 500, data: new Uint8Array(0) };
  const view = { image: original, scale: 4, original };
  const found: Detection[] = [
    { box: { x: 10, y: 20, width: 30, height: 40 }, score: 0.9, landmarks5: [{ x: 15, y: 25 }] },
    { box: { x: 240, y: 100, width: 50, height: 50 }, score: 0.8 },
  ];
  const [a, b] = toOriginal(found, view);
  assert.deepEqual(a.box, { x: 40, y: 80, width: 120, height: 160 });
  assert.deepEqual(a.landmarks5, [{ x: 60, y: 100 }]);
  assert.deepEqual(b.box, { x: 960, y: 400, width: 40, height: 100 });
  assert.equal(b.landmarks5, undefined);
});

/** Records the size of every image each detector class is handed, for the duration of `fn`. */
async function sizesSeen(fn: () => Promise<void>): Promise<number[]> {
  const seen: number[] = [];
  const originals = [TinyDetector, SsdDetector, MtcnnDetector].map((cls) => {
    const proto = cls.prototype as { detect(image: Image, ...rest: unknown[]): Promise<Detection[]> };
    const detect = proto.detect;
    proto.detect = function (this: unknown, image: Image, ...rest: unknown[]) {
      seen.push(image.width * image.height);
      return detect.call(this, image, ...rest);
    };
    return () => (proto.detect = detect);
  });
  try {
    await fn();
  } finally {
    for (const restore of originals) restore();
  }
  return seen;
}

test('a big photo: every pass of the retry chain (tiny, SSD, MTCNN) reads a copy within the budget, and faces come back in photo pixels', async () => {
  const kit = createFaceKit({ detector: 'tiny', retryOnMiss: true, threads: 1 });
  after(() => kit.dispose());
  // A grey 3000×2000 photo (6 MP): no face, so every pass of the chain runs.
  const grey = await loadImage(
    await sharp({ create: { width: 3000, height: 2000, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .png()
      .toBuffer(),
  );
  const seen = await sizesSeen(async () => assert.deepEqual(await kit.detect(grey), []));
  assert.ok(seen.length >= 3, `passes: ${seen.length}`);
  for (const pixels of seen) assert.ok(pixels <= DETECT_MAX_PIXELS, `a pass read ${pixels} pixels`);

  // sample1 (face-api's group photo) blown up 4× per side past the budget: the faces found are
  // those of the photo at its own size, scaled 4× (within a few percent of the face).
  const photo = await loadImage(samplePath(1));
  const big = await loadImage(
    await sharp(samplePath(1))
      .resize(photo.width * 4, photo.height * 4)
      .png()
      .toBuffer(),
  );
  assert.ok(big.width * big.height > DETECT_MAX_PIXELS);
  const [ref, found] = [await kit.detect(photo), await kit.detect(big)];
  assert.equal(found.length, ref.length);
  for (const f of found) {
    const centre = { x: f.box.x + f.box.width / 2, y: f.box.y + f.box.height / 2 };
    const match = ref.find(
      (r) =>
        Math.hypot(r.box.x * 4 + r.box.width * 2 - centre.x, r.box.y * 4 + r.box.height * 2 - centre.y) <
        0.15 * f.box.width,
    );
    assert.ok(match, `face at ${JSON.stringify(f.box)} has no counterpart in the photo at its own size`);
    assert.ok(Math.abs(match.box.width * 4 - f.box.width) < 0.15 * f.box.width);
  }
});
