/**
 * Scene-cut detection: the median absolute difference between the cells of small grey thumbnails
 * of consecutive frames. The median, not the mean: something passing in front of the camera
 * (an occlusion) changes a part of the frame, a cut changes nearly all of it. At a cut no face on one side is the same face on the other, so the tracker ends every
 * track there rather than letting IoU carry a box from one person onto another.
 */
import type { Image } from '../index.js';

const THUMB_W = 32;
const THUMB_H = 24;
/** Grey levels (0–255) of median cell difference that make a cut: on the test videos pans, zooms and a face-sized black box gave at most 9, the cut 74. */
export const CUT_THRESHOLD = 20;

export function thumbnail(image: Image): Float32Array {
  const out = new Float32Array(THUMB_W * THUMB_H);
  const { width, height, data } = image;
  for (let ty = 0; ty < THUMB_H; ty++) {
    const y0 = Math.floor((ty * height) / THUMB_H);
    const y1 = Math.max(y0 + 1, Math.floor(((ty + 1) * height) / THUMB_H));
    for (let tx = 0; tx < THUMB_W; tx++) {
      const x0 = Math.floor((tx * width) / THUMB_W);
      const x1 = Math.max(x0 + 1, Math.floor(((tx + 1) * width) / THUMB_W));
      // Every other pixel of the cell in each direction: a quarter of the work, the same mean within a grey level.
      let sum = 0;
      let count = 0;
      for (let y = y0; y < y1; y += 2)
        for (let x = x0; x < x1; x += 2) {
          const i = (y * width + x) * 3;
          sum += data[i] + data[i + 1] + data[i + 2];
          count++;
        }
      out[ty * THUMB_W + tx] = sum / (3 * count);
    }
  }
  return out;
}

export class CutDetector {
  private previous: Float32Array | undefined;
  /** The last frame's difference from the one before (for diagnostics and tests). */
  lastDifference = 0;

  constructor(private readonly threshold = CUT_THRESHOLD) {}

  /** True when `image` starts a new shot. */
  isCut(image: Image): boolean {
    const thumb = thumbnail(image);
    const previous = this.previous;
    this.previous = thumb;
    if (!previous) return false;
    const differences = thumb.map((v, i) => Math.abs(v - previous[i])).sort();
    this.lastDifference = differences[differences.length >> 1];
    return this.lastDifference > this.threshold;
  }
}
