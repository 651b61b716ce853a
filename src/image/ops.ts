import { invalidArgument } from '../errors.js';
import type { Box, Image } from '../types.js';

/** Float32 RGB in NHWC order (one image), the layout every network input takes. */
export interface FloatImage {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export function checkImage(img: Image, field = 'image'): void {
  const given: unknown = img;
  if (typeof given !== 'object' || given === null || !((given as { data?: unknown }).data instanceof Uint8Array)) {
    throw invalidArgument(field, 'expected an Image { width, height, data: Uint8Array (RGB) }, as loadImage returns');
  }
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width <= 0 || img.height <= 0) {
    throw invalidArgument(field, `width and height must be positive integers, got ${img.width}×${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw invalidArgument(field, `data holds ${img.data.length} bytes, expected ${img.width * img.height * 3} (RGB)`);
  }
}

/** Per output pixel along one axis of a bilinear resize: the two source offsets read (-1: outside, reads 0) and the weight of the second. */
interface BilinearTaps {
  readonly first: Int32Array;
  readonly second: Int32Array;
  /** Kept in float64: the same weights tf.image.resizeBilinear computes, so outputs match face-api's bit for bit. */
  readonly weight: Float64Array;
  /** True when every tap lies inside the image: the row or column needs no border test. */
  readonly inside: Uint8Array;
}

/**
 * Taps for `outSize` pixels sampled from `from + i·scale` over [0, limit), the far neighbour
 * clamped to the region's last pixel `last`; offsets are multiplied by `stride`.
 */
function bilinearTaps(
  from: number,
  scale: number,
  outSize: number,
  last: number,
  limit: number,
  stride: number,
): BilinearTaps {
  const first = new Int32Array(outSize),
    second = new Int32Array(outSize),
    weight = new Float64Array(outSize),
    inside = new Uint8Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const f = from + i * scale;
    const p0 = Math.floor(f);
    const p1 = Math.min(p0 + 1, last);
    weight[i] = f - p0;
    first[i] = p0 >= 0 && p0 < limit ? p0 * stride : -1;
    second[i] = p1 >= 0 && p1 < limit ? p1 * stride : -1;
    inside[i] = first[i] >= 0 && second[i] >= 0 ? 1 : 0;
  }
  return { first, second, weight, inside };
}

/**
 * Bilinear resize of a region of `src` (in source pixels, may extend past the borders, which read
 * as black) to `outW`×`outH`, written as floats. Sampling follows tf.image.resizeBilinear without
 * half-pixel centres (source = dest × scale), so inputs match face-api's own preprocessing.
 * Every network input passes through here (416² for the tiny detector): the taps are worked out
 * once per row and column, and pixels whose four neighbours are all inside skip the border tests.
 */
export function resizeRegion(
  src: Image,
  region: Box,
  outW: number,
  outH: number,
  out: Float32Array = new Float32Array(outW * outH * 3),
  outOffset = 0,
): Float32Array {
  const { width: W, height: H, data } = src;
  const cols = bilinearTaps(region.x, region.width / outW, outW, Math.ceil(region.x + region.width) - 1, W, 3);
  const rows = bilinearTaps(region.y, region.height / outH, outH, Math.ceil(region.y + region.height) - 1, H, W * 3);
  const { first: cx0, second: cx1, weight: cwx, inside: cIn } = cols;
  const at = (row: number, col: number, c: number): number => (row < 0 || col < 0 ? 0 : data[row + col + c]);
  for (let oy = 0; oy < outH; oy++) {
    const r0 = rows.first[oy],
      r1 = rows.second[oy],
      wy = rows.weight[oy];
    const rowInside = rows.inside[oy] === 1;
    let o = outOffset + oy * outW * 3;
    if (r0 < 0 && r1 < 0) {
      // A row wholly in the padding (the tiny detector pads a landscape photo to a square).
      out.fill(0, o, o + outW * 3);
      continue;
    }
    for (let ox = 0; ox < outW; ox++, o += 3) {
      const c0 = cx0[ox],
        c1 = cx1[ox],
        wx = cwx[ox];
      if (rowInside && cIn[ox] === 1) {
        // The three channels written out (not a loop): the hot path of every network input, about
        // 1.5× faster so in V8; the arithmetic is the same per channel, so the output is bit-identical.
        const a = r0 + c0,
          b = r0 + c1,
          d = r1 + c0,
          e = r1 + c1;
        const a0 = data[a],
          a1 = data[a + 1],
          a2 = data[a + 2],
          d0 = data[d],
          d1 = data[d + 1],
          d2 = data[d + 2];
        const top0 = a0 + (data[b] - a0) * wx,
          top1 = a1 + (data[b + 1] - a1) * wx,
          top2 = a2 + (data[b + 2] - a2) * wx;
        out[o] = top0 + (d0 + (data[e] - d0) * wx - top0) * wy;
        out[o + 1] = top1 + (d1 + (data[e + 1] - d1) * wx - top1) * wy;
        out[o + 2] = top2 + (d2 + (data[e + 2] - d2) * wx - top2) * wy;
        continue;
      }
      for (let c = 0; c < 3; c++) {
        const p00 = at(r0, c0, c),
          p01 = at(r0, c1, c),
          p10 = at(r1, c0, c),
          p11 = at(r1, c1, c);
        const top = p00 + (p01 - p00) * wx;
        const bottom = p10 + (p11 - p10) * wx;
        out[o + c] = top + (bottom - top) * wy;
      }
    }
  }
  return out;
}

/** Whole-image bilinear resize to floats. */
export function resizeToFloat(src: Image, outW: number, outH: number): FloatImage {
  return {
    width: outW,
    height: outH,
    data: resizeRegion(src, { x: 0, y: 0, width: src.width, height: src.height }, outW, outH),
  };
}

/** Converts 8-bit RGB to float RGB without resampling. */
export function toFloat(src: Image): FloatImage {
  return { width: src.width, height: src.height, data: Float32Array.from(src.data) };
}

/**
 * Box-filter downscale by an integer factor of the region starting at (x0, y0): output pixel
 * (i, j) is the mean of the k×k source block at (x0 + i·k, y0 + j·k), pixels outside read 0.
 * Used before warping a large face onto a small chip so bilinear sampling does not alias.
 */
export function downscaleRegion(src: Image, x0: number, y0: number, outW: number, outH: number, k: number): Image {
  const out = new Uint8Array(outW * outH * 3);
  const { width: W, height: H, data } = src;
  const inv = 1 / (k * k);
  for (let j = 0; j < outH; j++) {
    for (let i = 0; i < outW; i++) {
      let r = 0,
        g = 0,
        b = 0;
      // Only the block's part inside the image is visited: the rest reads 0. A block of a face far
      // larger than the photo (absurd landmarks) then costs no more than the photo's own pixels.
      const yEnd = Math.min(H, y0 + j * k + k);
      const xEnd = Math.min(W, x0 + i * k + k);
      for (let y = Math.max(0, y0 + j * k); y < yEnd; y++) {
        for (let x = Math.max(0, x0 + i * k); x < xEnd; x++) {
          const s = (y * W + x) * 3;
          r += data[s];
          g += data[s + 1];
          b += data[s + 2];
        }
      }
      const o = (j * outW + i) * 3;
      out[o] = Math.round(r * inv);
      out[o + 1] = Math.round(g * inv);
      out[o + 2] = Math.round(b * inv);
    }
  }
  return { width: outW, height: outH, data: out };
}

/** Per output pixel along one axis: the first source pixel read and the weight of each one read. */
interface AxisTaps {
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly weights: Float32Array;
  /** Most taps any output pixel reads (the stride of `weights`). */
  readonly width: number;
}

/**
 * Resampling taps for `outSize` pixels over source pixels [from, from + size). Shrinking averages
 * each output pixel's footprint (area-weighted, like OpenCV's INTER_AREA, so a large face does not
 * alias down to a small crop); enlarging interpolates linearly between pixel centres, clamped at
 * the region's edge pixels. Source pixels outside [0, limit) get no tap: they read as black, and
 * still count in the footprint.
 */
function axisTaps(from: number, size: number, outSize: number, limit: number): AxisTaps {
  const scale = size / outSize;
  const width = scale > 1 ? Math.ceil(scale) + 1 : 2;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * width);
  for (let i = 0; i < outSize; i++) {
    let first = -1,
      n = 0;
    const put = (p: number, w: number): void => {
      if (p < 0 || p >= limit || !(w > 0)) return;
      if (first < 0) first = p;
      weights[i * width + n++] = w;
    };
    if (scale > 1) {
      const lo = from + i * scale,
        hi = lo + scale;
      for (let p = Math.floor(lo); p < hi; p++) put(p, (Math.min(hi, p + 1) - Math.max(lo, p)) / scale);
    } else {
      const centre = Math.min(Math.max(from + (i + 0.5) * scale - 0.5, from), from + size - 1);
      const p0 = Math.floor(centre),
        w1 = centre - p0;
      put(p0, 1 - w1);
      put(p0 + 1, w1);
    }
    start[i] = Math.max(first, 0);
    count[i] = n;
  }
  return { start, count, weights, width };
}

/**
 * Resamples the whole-pixel region [x, x + width) × [y, y + height) of `src` to `outW`×`outH`
 * float RGB (NHWC), written at `outOffset` of `out`. Area-averaged when shrinking, linear when
 * enlarging (see axisTaps): for face crops and image pyramids, where plain bilinear sampling of a
 * several-fold shrink skips pixels and aliases. Pixels of the region past the image border are
 * black, so a crop at the edge keeps its shape instead of being stretched. `src` may be float
 * (a pyramid level made from the one before).
 */
export function resampleRegion(
  src: Image | FloatImage,
  region: Box,
  outW: number,
  outH: number,
  out: Float32Array = new Float32Array(outW * outH * 3),
  outOffset = 0,
): Float32Array {
  const { x, y, width, height } = region;
  if (![x, y, width, height].every(Number.isInteger) || width <= 0 || height <= 0) {
    throw invalidArgument('region', `must be whole pixels with positive size, got ${x}, ${y}, ${width}×${height}`);
  }
  const cols = axisTaps(x, width, outW, src.width);
  const rows = axisTaps(y, height, outH, src.height);
  const { data, width: W } = src;
  // Horizontal pass over just the source rows some output row reads, then the vertical pass.
  let rowLo = src.height,
    rowHi = 0;
  for (let i = 0; i < outH; i++) {
    if (rows.count[i] === 0) continue;
    rowLo = Math.min(rowLo, rows.start[i]);
    rowHi = Math.max(rowHi, rows.start[i] + rows.count[i]);
  }
  rowLo = Math.min(rowLo, rowHi);
  const band = new Float32Array(Math.max(rowHi - rowLo, 0) * outW * 3);
  const { start: cStart, count: cCount, weights: cWeights, width: cWidth } = cols;
  for (let r = rowLo; r < rowHi; r++) {
    const srcRow = r * W * 3;
    let dst = (r - rowLo) * outW * 3;
    for (let i = 0; i < outW; i++, dst += 3) {
      let red = 0,
        green = 0,
        blue = 0;
      let s = srcRow + cStart[i] * 3;
      const wBase = i * cWidth;
      for (let k = 0, n = cCount[i]; k < n; k++, s += 3) {
        const w = cWeights[wBase + k];
        red += data[s] * w;
        green += data[s + 1] * w;
        blue += data[s + 2] * w;
      }
      band[dst] = red;
      band[dst + 1] = green;
      band[dst + 2] = blue;
    }
  }
  const rowFloats = outW * 3;
  for (let j = 0; j < outH; j++) {
    const o = outOffset + j * rowFloats;
    out.fill(0, o, o + rowFloats);
    for (let k = 0; k < rows.count[j]; k++) {
      const w = rows.weights[j * rows.width + k];
      const b = (rows.start[j] + k - rowLo) * rowFloats;
      for (let i = 0; i < rowFloats; i++) out[o + i] += band[b + i] * w;
    }
  }
  return out;
}
