import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { type Affine, IDENTITY_AFFINE, applyAffine, invertAffine, warpAffine } from '../../src/image/warp.js';
import { FaceKitError } from '../../src/errors.js';
import type { Image } from '../../src/types.js';
import { noiseImage } from '../helpers/images.js';

/** Straightforward bilinear sampler, one point at a time, to check the fast loop against. */
function naiveWarp(src: Image, m: Affine, outW: number, outH: number): Float32Array {
  const get = (x: number, y: number, c: number): number =>
    x < 0 || y < 0 || x >= src.width || y >= src.height ? 0 : src.data[(y * src.width + x) * 3 + c];
  const out = new Float32Array(outW * outH * 3);
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      const { x, y } = applyAffine(m, { x: u, y: v });
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      for (let c = 0; c < 3; c++) {
        out[(v * outW + u) * 3 + c] =
          (1 - fx) * (1 - fy) * get(x0, y0, c) +
          fx * (1 - fy) * get(x0 + 1, y0, c) +
          (1 - fx) * fy * get(x0, y0 + 1, c) +
          fx * fy * get(x0 + 1, y0 + 1, c);
      }
    }
  }
  return out;
}

function assertClose(actual: Float32Array, expected: Float32Array, tolerance: number): void {
  assert.equal(actual.length, expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(
    worst <= tolerance,
    `largest difference ${worst} at float ${at} (pixel ${Math.floor(at / 3)}): ${actual[at]} vs ${expected[at]}`,
  );
}

const isInvalid = (e: unknown): boolean => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT';

test('the identity map copies pixels exactly', () => {
  const img = noiseImage(9, 6);
  assert.deepEqual(warpAffine(img, IDENTITY_AFFINE, 9, 6), Float32Array.from(img.data));
});

test('an integer translation shifts pixels and fills what falls outside with 0', () => {
  const img = noiseImage(8, 5, 3);
  const out = warpAffine(img, [1, 0, 2, 0, 1, 1], 8, 5);
  for (let v = 0; v < 5; v++) {
    for (let u = 0; u < 8; u++) {
      for (let c = 0; c < 3; c++) {
        const inside = u + 2 < 8 && v + 1 < 5;
        const expected = inside ? img.data[((v + 1) * 8 + (u + 2)) * 3 + c] : 0;
        assert.equal(out[(v * 8 + u) * 3 + c], expected, `(${u},${v}) channel ${c}`);
      }
    }
  }
});

test('a half-pixel translation averages neighbours, and blends with black past the border', () => {
  const img: Image = { width: 3, height: 1, data: Uint8Array.from([0, 0, 0, 100, 100, 100, 200, 200, 200]) };
  const out = warpAffine(img, [1, 0, 0.5, 0, 1, 0], 3, 1);
  assert.deepEqual(Array.from(out.filter((_, i) => i % 3 === 0)), [50, 150, 100]);
  const left = warpAffine(img, [1, 0, -0.5, 0, 1, 0], 1, 1);
  assert.deepEqual(Array.from(left), [0, 0, 0]);
  const top = warpAffine({ width: 1, height: 1, data: Uint8Array.from([200, 100, 50]) }, [1, 0, 0, 0, 1, -0.5], 1, 1);
  assert.deepEqual(Array.from(top), [100, 50, 25]);
});

test('a 90° rotation matches sharp.rotate(90)', async () => {
  const img = noiseImage(7, 4, 11);
  const { data, info } = await sharp(img.data, { raw: { width: 7, height: 4, channels: 3 } })
    .rotate(90)
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.equal(info.width, 4);
  // Clockwise: output (u, v) shows source (v, H-1-u).
  const out = warpAffine(img, [0, 1, 0, -1, 0, img.height - 1], img.height, img.width);
  assert.deepEqual(out, Float32Array.from(data));
});

test('a map wholly outside the image gives black, overwriting a reused buffer', () => {
  const out = new Float32Array(5 * 5 * 3).fill(7);
  warpAffine(noiseImage(4, 4), [1, 0, 100, 0, 1, -100], 5, 5, out);
  assert.ok(out.every((v) => v === 0));
});

test('a rotated, scaled chip equals the naive bilinear sampler, border pixels included', () => {
  const img = noiseImage(40, 30, 5);
  const angle = 0.4;
  const scale = 0.37;
  // Output 50×50 centred on (20, 15), reaching past the image on every side.
  const cos = Math.cos(angle) / scale;
  const sin = Math.sin(angle) / scale;
  const m: Affine = [cos, -sin, 20 - 25 * cos + 25 * sin, sin, cos, 15 - 25 * sin - 25 * cos];
  const out = warpAffine(img, m, 50, 50);
  assertClose(out, naiveWarp(img, m, 50, 50), 1e-3);
  assert.ok(out.some((v) => v === 0) && out.some((v) => v > 0), 'the chip covers both image and outside');
});

test('warps into a caller buffer at an offset, for batching chips', () => {
  const img = noiseImage(10, 10, 2);
  const m: Affine = [0.5, 0.1, 2, -0.1, 0.5, 3];
  const alone = warpAffine(img, m, 4, 3);
  const batch = new Float32Array(5 + alone.length).fill(-1);
  assert.equal(warpAffine(img, m, 4, 3, batch, 5), batch);
  assert.deepEqual(batch.subarray(5), alone);
  assert.deepEqual(Array.from(batch.subarray(0, 5)), [-1, -1, -1, -1, -1]);
  assert.throws(() => warpAffine(img, m, 4, 3, new Float32Array(alone.length), 1), isInvalid);
});

test('invertAffine undoes the map and refuses singular ones', () => {
  const m: Affine = [1.3, -0.4, 12, 0.7, 0.9, -5];
  const inv = invertAffine(m);
  for (const p of [
    { x: 0, y: 0 },
    { x: 3.5, y: -2 },
    { x: 100, y: 40 },
  ]) {
    const back = applyAffine(inv, applyAffine(m, p));
    assert.ok(
      Math.abs(back.x - p.x) < 1e-9 && Math.abs(back.y - p.y) < 1e-9,
      `${JSON.stringify(p)} came back as ${JSON.stringify(back)}`,
    );
  }
  assert.ok(
    invertAffine(IDENTITY_AFFINE).every((x, i) => x === IDENTITY_AFFINE[i]),
    'identity is its own inverse',
  );
  const twice = invertAffine(inv);
  assert.ok(
    twice.every((x, i) => Math.abs(x - m[i]) < 1e-12),
    `inverse of inverse: ${twice}`,
  );
  assert.throws(() => invertAffine([1, 2, 0, 2, 4, 0]), isInvalid);
  assert.throws(() => invertAffine([1, 0, Number.NaN, 0, 1, 0]), isInvalid);
});

test('bad sizes, maps and images are INVALID_ARGUMENT', () => {
  const img = noiseImage(3, 3);
  assert.throws(() => warpAffine(img, IDENTITY_AFFINE, 0, 3), isInvalid);
  assert.throws(() => warpAffine(img, IDENTITY_AFFINE, 3, 2.5), isInvalid);
  assert.throws(() => warpAffine(img, [1, 0, 0, 0, 1] as unknown as Affine, 3, 3), isInvalid);
  assert.throws(() => warpAffine(img, [1, 0, Infinity, 0, 1, 0], 3, 3), isInvalid);
  assert.throws(() => warpAffine({ width: 3, height: 3, data: new Uint8Array(10) }, IDENTITY_AFFINE, 3, 3), isInvalid);
});
