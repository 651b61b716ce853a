import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkImage, resampleRegion, resizeRegion } from '../../src/image/ops.js';
import { FaceKitError } from '../../src/errors.js';
import type { Image } from '../../src/types.js';
import { noiseImage } from '../helpers/images.js';

/** One grey value per pixel, repeated over R, G and B. */
function grey(width: number, height: number, values: readonly number[]): Image {
  return { width, height, data: Uint8Array.from(values.flatMap((v) => [v, v, v])) };
}

/** The R channel of a float RGB result, one number per pixel. */
const red = (f: Float32Array, offset = 0, n = (f.length - offset) / 3): number[] =>
  Array.from({ length: n }, (_, i) => f[offset + i * 3]);

test('a full-image region at the same size copies every pixel exactly', () => {
  const img = noiseImage(7, 5);
  const out = resizeRegion(img, { x: 0, y: 0, width: 7, height: 5 }, 7, 5);
  assert.deepEqual(out, Float32Array.from(img.data));
});

test('2× downscale: on the pixel grid it samples, half a pixel over it averages 2×2 blocks', () => {
  const values = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150];
  const img = grey(4, 4, values);
  // tf.image.resizeBilinear without half-pixel centres: output i reads source 2i, no averaging.
  assert.deepEqual(red(resizeRegion(img, { x: 0, y: 0, width: 4, height: 4 }, 2, 2)), [0, 20, 80, 100]);
  // Shifted by half a pixel, each sample sits on the corner of a 2×2 block and weighs all four equally.
  const blockMeans = [
    (0 + 10 + 40 + 50) / 4,
    (20 + 30 + 60 + 70) / 4,
    (80 + 90 + 120 + 130) / 4,
    (100 + 110 + 140 + 150) / 4,
  ];
  assert.deepEqual(red(resizeRegion(img, { x: 0.5, y: 0.5, width: 4, height: 4 }, 2, 2)), blockMeans);
});

test('non-integer ratios interpolate and upscaling clamps at the region edge, as tf does', () => {
  assert.deepEqual(red(resizeRegion(grey(3, 1, [0, 30, 60]), { x: 0, y: 0, width: 3, height: 1 }, 2, 1)), [0, 45]);
  assert.deepEqual(
    red(resizeRegion(grey(2, 1, [0, 100]), { x: 0, y: 0, width: 2, height: 1 }, 4, 1)),
    [0, 50, 100, 100],
  );
});

test('pixels of a region past the border read 0', () => {
  const img = grey(2, 2, [100, 100, 100, 100]);
  const out = resizeRegion(img, { x: -1, y: -1, width: 4, height: 4 }, 4, 4);
  assert.deepEqual(red(out), [0, 0, 0, 0, 0, 100, 100, 0, 0, 100, 100, 0, 0, 0, 0, 0]);
  assert.ok(
    resizeRegion(img, { x: 10, y: -20, width: 4, height: 4 }, 3, 3).every((v) => v === 0),
    'a region wholly outside is black',
  );
  // Half a pixel past the left border, the sample blends the edge pixel with black.
  assert.deepEqual(red(resizeRegion(grey(1, 1, [200]), { x: -0.5, y: 0, width: 2, height: 1 }, 2, 1)), [100, 100]);
});

test('writes into a caller buffer at an offset and leaves the rest alone', () => {
  const img = noiseImage(6, 4, 7);
  const region = { x: 1, y: 1, width: 4, height: 2 };
  const alone = resizeRegion(img, region, 3, 2);
  const batch = new Float32Array(2 + alone.length + 2).fill(-1);
  const returned = resizeRegion(img, region, 3, 2, batch, 2);
  assert.equal(returned, batch);
  assert.deepEqual(batch.subarray(2, 2 + alone.length), alone);
  assert.deepEqual(Array.from(batch.subarray(0, 2)), [-1, -1]);
  assert.deepEqual(Array.from(batch.subarray(2 + alone.length)), [-1, -1]);
});

test('checkImage refuses bad sizes and buffers', () => {
  const bad = (img: Image) =>
    assert.throws(
      () => checkImage(img),
      (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT',
    );
  bad({ width: 0, height: 2, data: new Uint8Array(0) });
  bad({ width: 2.5, height: 2, data: new Uint8Array(15) });
  bad({ width: 2, height: 2, data: new Uint8Array(16) });
  // What a caller passing something else gets: a FaceKitError, not a TypeError from deep inside.
  bad(null as unknown as Image);
  bad(undefined as unknown as Image);
  bad({ width: 2, height: 2 } as unknown as Image);
  bad({ width: 2, height: 2, data: Array.from({ length: 12 }, () => 0) } as unknown as Image);
  checkImage(noiseImage(2, 2));
});

test("resampleRegion shrinks by averaging each output pixel's footprint, also for fractional ones", () => {
  const values = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150];
  const img = grey(4, 4, values);
  const blockMeans = [
    (0 + 10 + 40 + 50) / 4,
    (20 + 30 + 60 + 70) / 4,
    (80 + 90 + 120 + 130) / 4,
    (100 + 110 + 140 + 150) / 4,
  ];
  assert.deepEqual(red(resampleRegion(img, { x: 0, y: 0, width: 4, height: 4 }, 2, 2)), blockMeans);
  // 3 → 2: footprints [0, 1.5) and [1.5, 3): a whole pixel and half of the middle one each.
  const row = red(resampleRegion(grey(3, 1, [0, 30, 90]), { x: 0, y: 0, width: 3, height: 1 }, 2, 1));
  assert.deepEqual(
    row.map((v) => Number(v.toFixed(4))),
    [10, 70],
  );
  // Stripes one pixel wide average to flat grey, where sampling would pick one colour.
  const stripes = grey(8, 1, [0, 200, 0, 200, 0, 200, 0, 200]);
  assert.deepEqual(red(resampleRegion(stripes, { x: 0, y: 0, width: 8, height: 1 }, 4, 1)), [100, 100, 100, 100]);
  assert.deepEqual(red(resizeRegion(stripes, { x: 0, y: 0, width: 8, height: 1 }, 4, 1)), [0, 0, 0, 0]);
});

test("resampleRegion enlarges linearly between pixel centres, clamped at the region's edge pixels", () => {
  assert.deepEqual(
    red(resampleRegion(grey(2, 1, [0, 100]), { x: 0, y: 0, width: 2, height: 1 }, 4, 1)),
    [0, 25, 75, 100],
  );
  // The same size copies exactly; the region's neighbours outside it are not read.
  const img = noiseImage(7, 5);
  assert.deepEqual(resampleRegion(img, { x: 0, y: 0, width: 7, height: 5 }, 7, 5), Float32Array.from(img.data));
  const inner = resampleRegion(grey(4, 1, [255, 0, 100, 255]), { x: 1, y: 0, width: 2, height: 1 }, 4, 1);
  assert.deepEqual(red(inner), [0, 25, 75, 100]);
});

test('resampleRegion: the region past the border is black (a crop at the edge is padded, not stretched)', () => {
  const img = grey(2, 2, [100, 100, 100, 100]);
  assert.deepEqual(
    red(resampleRegion(img, { x: -1, y: -1, width: 4, height: 4 }, 4, 4)),
    [0, 0, 0, 0, 0, 100, 100, 0, 0, 100, 100, 0, 0, 0, 0, 0],
  );
  // Shrunk 2×: each output pixel covers one image pixel and three black ones.
  assert.deepEqual(red(resampleRegion(img, { x: -1, y: -1, width: 4, height: 4 }, 2, 2)), [25, 25, 25, 25]);
  assert.ok(
    resampleRegion(img, { x: 10, y: -20, width: 4, height: 4 }, 3, 3).every((v) => v === 0),
    'a region wholly outside is black',
  );
});

test('resampleRegion reads float images, writes at an offset, and refuses fractional or empty regions', () => {
  const bytes = noiseImage(6, 4, 3);
  const floats = { width: 6, height: 4, data: Float32Array.from(bytes.data) };
  const region = { x: 0, y: 0, width: 6, height: 4 };
  assert.deepEqual(resampleRegion(floats, region, 4, 3), resampleRegion(bytes, region, 4, 3));
  const batch = new Float32Array(2 + 4 * 3 * 3).fill(-1);
  resampleRegion(bytes, region, 4, 3, batch, 2);
  assert.deepEqual(Array.from(batch.subarray(0, 2)), [-1, -1]);
  assert.deepEqual(batch.subarray(2), resampleRegion(bytes, region, 4, 3));
  for (const bad of [
    { x: 0.5, y: 0, width: 2, height: 2 },
    { x: 0, y: 0, width: 0, height: 2 },
    { x: 0, y: 0, width: 2, height: Number.NaN },
  ]) {
    assert.throws(
      () => resampleRegion(bytes, bad, 2, 2),
      (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === 'region',
    );
  }
});

/** tf.image.resizeBilinear (no half-pixel centres) written pixel by pixel, the definition resizeRegion's precomputed taps must equal. */
function naiveResize(
  src: Image,
  region: { x: number; y: number; width: number; height: number },
  outW: number,
  outH: number,
): Float32Array {
  const out = new Float32Array(outW * outH * 3);
  const px = (y: number, x: number, c: number) =>
    y >= 0 && y < src.height && x >= 0 && x < src.width ? src.data[(y * src.width + x) * 3 + c] : 0;
  for (let oy = 0; oy < outH; oy++) {
    const fy = region.y + oy * (region.height / outH),
      y0 = Math.floor(fy),
      wy = fy - y0,
      y1 = Math.min(y0 + 1, Math.ceil(region.y + region.height) - 1);
    for (let ox = 0; ox < outW; ox++) {
      const fx = region.x + ox * (region.width / outW),
        x0 = Math.floor(fx),
        wx = fx - x0,
        x1 = Math.min(x0 + 1, Math.ceil(region.x + region.width) - 1);
      for (let c = 0; c < 3; c++) {
        const top = px(y0, x0, c) + (px(y0, x1, c) - px(y0, x0, c)) * wx;
        const bottom = px(y1, x0, c) + (px(y1, x1, c) - px(y1, x0, c)) * wx;
        out[(oy * outW + ox) * 3 + c] = top + (bottom - top) * wy;
      }
    }
  }
  return out;
}

test('resizeRegion equals the pixel-by-pixel definition bit for bit, inside, across and past the borders', () => {
  const img = noiseImage(37, 23);
  const regions = [
    { x: 0, y: 0, width: 37, height: 37 }, // the tiny detector's square padding below the photo
    { x: 3.25, y: 2.5, width: 20.7, height: 15.1 },
    { x: -4.5, y: -3, width: 30, height: 30 },
    { x: 30, y: 18, width: 12, height: 9 },
    { x: 50, y: 40, width: 5, height: 5 },
  ];
  for (const r of regions) {
    for (const [w, h] of [
      [16, 16],
      [41, 29],
      [5, 3],
    ]) {
      assert.deepEqual(
        resizeRegion(img, r, w, h),
        naiveResize(img, r, w, h),
        `region ${JSON.stringify(r)} to ${w}×${h}`,
      );
    }
  }
});
