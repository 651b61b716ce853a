import { invalidArgument } from '../errors.js';
import type { Box, Image } from '../types.js';

/** Float32 RGB in NHWC order (one image), the layout every network input takes. */
export interface FloatImage {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export function checkImage(img: Image, field = 'image'): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width <= 0 || img.height <= 0) {
    throw invalidArgument(field, `width and height must be positive integers, got ${img.width}×${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw invalidArgument(field, `data holds ${img.data.length} bytes, expected ${img.width * img.height * 3} (RGB)`);
  }
}

/**
 * Bilinear resize of a region of `src` (in source pixels, may extend past the borders, which read
 * as black) to `outW`×`outH`, written as floats. Sampling follows tf.image.resizeBilinear without
 * half-pixel centres (source = dest × scale), so inputs match face-api's own preprocessing.
 */
export function resizeRegion(src: Image, region: Box, outW: number, outH: number, out: Float32Array = new Float32Array(outW * outH * 3), outOffset = 0): Float32Array {
  const sx = region.width / outW;
  const sy = region.height / outH;
  const { width: W, height: H, data } = src;
  for (let oy = 0; oy < outH; oy++) {
    const fy = region.y + oy * sy;
    const y0 = Math.floor(fy);
    const wy = fy - y0;
    const y1 = Math.min(y0 + 1, Math.ceil(region.y + region.height) - 1);
    for (let ox = 0; ox < outW; ox++) {
      const fx = region.x + ox * sx;
      const x0 = Math.floor(fx);
      const wx = fx - x0;
      const x1 = Math.min(x0 + 1, Math.ceil(region.x + region.width) - 1);
      const o = outOffset + (oy * outW + ox) * 3;
      for (let c = 0; c < 3; c++) {
        const p00 = y0 >= 0 && y0 < H && x0 >= 0 && x0 < W ? data[(y0 * W + x0) * 3 + c] : 0;
        const p01 = y0 >= 0 && y0 < H && x1 >= 0 && x1 < W ? data[(y0 * W + x1) * 3 + c] : 0;
        const p10 = y1 >= 0 && y1 < H && x0 >= 0 && x0 < W ? data[(y1 * W + x0) * 3 + c] : 0;
        const p11 = y1 >= 0 && y1 < H && x1 >= 0 && x1 < W ? data[(y1 * W + x1) * 3 + c] : 0;
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
  return { width: outW, height: outH, data: resizeRegion(src, { x: 0, y: 0, width: src.width, height: src.height }, outW, outH) };
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
      let r = 0, g = 0, b = 0;
      for (let dy = 0; dy < k; dy++) {
        const y = y0 + j * k + dy;
        if (y < 0 || y >= H) continue;
        for (let dx = 0; dx < k; dx++) {
          const x = x0 + i * k + dx;
          if (x < 0 || x >= W) continue;
          const s = (y * W + x) * 3;
          r += data[s]; g += data[s + 1]; b += data[s + 2];
        }
      }
      const o = (j * outW + i) * 3;
      out[o] = Math.round(r * inv); out[o + 1] = Math.round(g * inv); out[o + 2] = Math.round(b * inv);
    }
  }
  return { width: outW, height: outH, data: out };
}
