import { invalidArgument } from '../errors.js';
import type { Image, Point } from '../types.js';
import { checkImage } from './ops.js';

/**
 * A 2-D affine map `[a, b, c, d, e, f]`: x' = a·x + b·y + c, y' = d·x + e·y + f.
 * As the argument of `warpAffine` it maps output pixel (u, v) to the source point it samples.
 */
export type Affine = readonly [a: number, b: number, c: number, d: number, e: number, f: number];

/** Below this |determinant| the map squashes the plane to a line and has no useful inverse. */
const MIN_DETERMINANT = 1e-12;

export const IDENTITY_AFFINE: Affine = [1, 0, 0, 0, 1, 0];

export function applyAffine(m: Affine, p: Point): Point {
  return { x: m[0] * p.x + m[1] * p.y + m[2], y: m[3] * p.x + m[4] * p.y + m[5] };
}

export function invertAffine(m: Affine): Affine {
  checkAffine(m, 'm');
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (!(Math.abs(det) > MIN_DETERMINANT))
    throw invalidArgument('m', `affine map is singular (determinant ${det}), it has no inverse`);
  return [e / det, -b / det, (b * f - c * e) / det, -d / det, a / det, (c * d - a * f) / det];
}

/**
 * Resamples `src` into an `outW`×`outH` float RGB (NHWC, values 0–255) image. `inverse` maps each
 * output pixel (u, v) to the source point it reads; integer coordinates are pixel centres, so the
 * identity map copies pixels exactly. Bilinear sampling; source pixels outside the image read as 0,
 * so a sample half past the border blends towards black, as OpenCV's BORDER_CONSTANT does.
 * Writes into `out` at `outOffset` when given, so a batch of chips can share one tensor buffer.
 */
export function warpAffine(
  src: Image,
  inverse: Affine,
  outW: number,
  outH: number,
  out?: Float32Array,
  outOffset = 0,
): Float32Array {
  checkImage(src, 'src');
  checkAffine(inverse, 'inverse');
  if (!Number.isInteger(outW) || outW <= 0) throw invalidArgument('outW', `must be a positive integer, got ${outW}`);
  if (!Number.isInteger(outH) || outH <= 0) throw invalidArgument('outH', `must be a positive integer, got ${outH}`);
  const needed = outW * outH * 3;
  if (!Number.isInteger(outOffset) || outOffset < 0)
    throw invalidArgument('outOffset', `must be a non-negative integer, got ${outOffset}`);
  const dst = out ?? new Float32Array(needed);
  if (outOffset + needed > dst.length) {
    throw invalidArgument(
      'out',
      `holds ${dst.length} floats, ${outOffset + needed} needed for a ${outW}×${outH} chip at offset ${outOffset}`,
    );
  }

  const [a, b, c, d, e, f] = inverse;
  const { width: W, height: H, data } = src;
  const stride = W * 3;
  const maxX = W - 1;
  const maxY = H - 1;
  let o = outOffset;
  for (let v = 0; v < outH; v++) {
    // Stepping u by one adds (a, d) to the source point; starting each row afresh keeps
    // rounding error from accumulating down the chip.
    let sx = b * v + c;
    let sy = e * v + f;
    for (let u = 0; u < outW; u++, sx += a, sy += d, o += 3) {
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < -1 || y0 < -1 || x0 > maxX || y0 > maxY) {
        dst[o] = 0;
        dst[o + 1] = 0;
        dst[o + 2] = 0;
        continue;
      }
      const wx = sx - x0;
      const wy = sy - y0;
      const w00 = (1 - wx) * (1 - wy);
      const w01 = wx * (1 - wy);
      const w10 = (1 - wx) * wy;
      const w11 = wx * wy;
      const i00 = y0 * stride + x0 * 3;
      if (x0 >= 0 && y0 >= 0 && x0 < maxX && y0 < maxY) {
        const i10 = i00 + stride;
        dst[o] = w00 * data[i00] + w01 * data[i00 + 3] + w10 * data[i10] + w11 * data[i10 + 3];
        dst[o + 1] = w00 * data[i00 + 1] + w01 * data[i00 + 4] + w10 * data[i10 + 1] + w11 * data[i10 + 4];
        dst[o + 2] = w00 * data[i00 + 2] + w01 * data[i00 + 5] + w10 * data[i10 + 2] + w11 * data[i10 + 5];
        continue;
      }
      // Within one pixel of the border: drop the neighbours that fall outside (they read as 0).
      const inX0 = x0 >= 0;
      const inX1 = x0 < maxX;
      const inY0 = y0 >= 0;
      const inY1 = y0 < maxY;
      let r = 0;
      let g = 0;
      let bl = 0;
      if (inY0 && inX0) {
        r += w00 * data[i00];
        g += w00 * data[i00 + 1];
        bl += w00 * data[i00 + 2];
      }
      if (inY0 && inX1) {
        r += w01 * data[i00 + 3];
        g += w01 * data[i00 + 4];
        bl += w01 * data[i00 + 5];
      }
      if (inY1 && inX0) {
        const i = i00 + stride;
        r += w10 * data[i];
        g += w10 * data[i + 1];
        bl += w10 * data[i + 2];
      }
      if (inY1 && inX1) {
        const i = i00 + stride + 3;
        r += w11 * data[i];
        g += w11 * data[i + 1];
        bl += w11 * data[i + 2];
      }
      dst[o] = r;
      dst[o + 1] = g;
      dst[o + 2] = bl;
    }
  }
  return dst;
}

function checkAffine(m: Affine, field: string): void {
  const arr: unknown = m;
  if (
    !Array.isArray(arr) ||
    arr.length !== 6 ||
    !arr.every((x: unknown) => typeof x === 'number' && Number.isFinite(x))
  ) {
    throw invalidArgument(field, 'affine map must be 6 finite numbers [a, b, c, d, e, f]');
  }
}
