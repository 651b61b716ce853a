/**
 * dlib's input_rgb_image_pyramid<pyramid_down<6>>: the image and its 5/6, (5/6)², ... copies laid
 * out in one tiled image (compute_tiled_image_pyramid_details), so that one pass of the CNN scans
 * every scale. Level 0 is the image normalised as (v − channel mean) / 256; each further level is
 * dlib's bilinear resize_image of the level before it, inside the tiled tensor; everything else is 0.
 */
import type { Image } from '../../types.js';
import type { DlibRect } from '../hog/scan.js';
import type { MmodOptions } from './options.js';

/** dlib stops the pyramid before a level lower than this (compute_tiled_image_pyramid_details' min_height). */
const MIN_LEVEL_HEIGHT = 5;
/** pyramid_down<6>'s rate: each level is ⌊5/6⌋ of the one before on each side. */
const PYRAMID_RATE = 5 / 6;
/** dlib divides the mean-subtracted pixels by 256 (not 255). */
const PIXEL_SCALE = 256;

export interface TiledLayout {
  /** Where each level lies in the tiled image (inclusive edges, dlib's rectangles), level 0 first. */
  readonly levels: readonly DlibRect[];
  readonly rows: number;
  readonly cols: number;
}

function rectWidth(r: DlibRect): number {
  return r.right - r.left + 1;
}

function rectHeight(r: DlibRect): number {
  return r.bottom - r.top + 1;
}

function intersects(a: DlibRect, b: DlibRect): boolean {
  return (
    Math.max(a.left, b.left) <= Math.min(a.right, b.right) && Math.max(a.top, b.top) <= Math.min(a.bottom, b.bottom)
  );
}

/**
 * compute_tiled_image_pyramid_details: level 0 at the top left, the next levels below it until
 * the rest fits beside them, then the remaining ones right-aligned going back up.
 */
export function tiledLayout(width: number, height: number, padding: number, outerPadding: number): TiledLayout {
  if (width * height === 0) return { levels: [], rows: 0, cols: 0 };
  const sizes: { w: number; h: number }[] = [{ w: width, h: height }];
  let nr = height;
  let nc = width;
  for (;;) {
    nr = Math.floor(PYRAMID_RATE * nr);
    nc = Math.floor(PYRAMID_RATE * nc);
    if (nr * nc === 0 || nr < MIN_LEVEL_HEIGHT) break;
    sizes.push({ w: nc, h: nr });
  }
  const first = sizes[0] as { w: number; h: number };
  let totalHeight = -2 * padding;
  for (const s of sizes) totalHeight += s.h + padding;
  let columnHeight = 0;
  let previousWidth = 0;
  for (const s of sizes) {
    // The first column ends where the next level fits beside the one above it and the column
    // holds at least half of the height.
    if (s.w <= first.w - previousWidth - padding && (columnHeight - first.h) * 2 >= totalHeight - first.h) break;
    columnHeight += s.h + padding;
    previousWidth = s.w;
  }
  columnHeight -= padding;

  const levels: DlibRect[] = [];
  let y = outerPadding;
  let i = 0;
  for (; y < columnHeight + outerPadding && i < sizes.length; i++) {
    const s = sizes[i] as { w: number; h: number };
    levels.push({ left: outerPadding, top: y, right: outerPadding + s.w - 1, bottom: y + s.h - 1 });
    y += s.h + padding;
  }
  y -= padding;
  const right = outerPadding + first.w - 1;
  for (; i < sizes.length; i++) {
    const s = sizes[i] as { w: number; h: number };
    const rect = { left: right - s.w + 1, top: y - s.h, right, bottom: y - 1 };
    // The second column stops before it would run into level 0.
    if (intersects(levels[0] as DlibRect, rect)) break;
    levels.push(rect);
    y -= s.h + padding;
  }
  return { levels, rows: columnHeight + 2 * outerPadding, cols: first.w + 2 * outerPadding };
}

/** Per output column of a resize: the two source columns and the right one's weight. */
interface Taps {
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly frac: Float32Array;
}

/** resize_image's sampling positions: corners onto corners, x = c · (in − 1)/(out − 1). */
function taps(inSize: number, outSize: number): Taps {
  const scale = (inSize - 1) / Math.max(outSize - 1, 1);
  const left = new Int32Array(outSize);
  const right = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  for (let c = 0; c < outSize; c++) {
    const x = c * scale;
    const l = Math.floor(x);
    left[c] = l;
    right[c] = Math.min(l + 1, inSize - 1);
    frac[c] = x - l;
  }
  return { left, right, frac };
}

/**
 * dlib's bilinear resize of level `src` into level `dst` of the tiled tensor, each channel plane
 * on its own. dlib runs it in single-precision SIMD; this runs in double and stores float32, a
 * difference of a few units in the 7th digit of pyramid values that moves no score by 1e-5.
 */
function resizeLevel(data: Float32Array, cols: number, plane: number, src: DlibRect, dst: DlibRect): void {
  const inW = rectWidth(src);
  const inH = rectHeight(src);
  const outW = rectWidth(dst);
  const outH = rectHeight(dst);
  const { left, right, frac } = taps(inW, outW);
  const rowTaps = taps(inH, outH);
  for (let ch = 0; ch < 3; ch++) {
    const base = ch * plane;
    for (let r = 0; r < outH; r++) {
      const top = base + (src.top + (rowTaps.left[r] as number)) * cols + src.left;
      const bottom = base + (src.top + (rowTaps.right[r] as number)) * cols + src.left;
      const tb = rowTaps.frac[r] as number;
      const out = base + (dst.top + r) * cols + dst.left;
      for (let c = 0; c < outW; c++) {
        const l = left[c] as number;
        const rt = right[c] as number;
        const lr = frac[c] as number;
        const upper = (data[top + l] as number) + lr * ((data[top + rt] as number) - (data[top + l] as number));
        const lower =
          (data[bottom + l] as number) + lr * ((data[bottom + rt] as number) - (data[bottom + l] as number));
        data[out + c] = upper + tb * (lower - upper);
      }
    }
  }
}

/**
 * The network's input for `image`: planar [3, rows, cols] float32, and where each level lies.
 * `reuse` is taken (and cleared) when it has the right length: a fresh 50 MB tensor per 640-px
 * photo at upsample 1 cost 25 ms of page faults, a quarter of the tiling.
 */
export function tiledPyramid(
  image: Image,
  options: MmodOptions,
  reuse?: Float32Array<ArrayBuffer>,
): { layout: TiledLayout; data: Float32Array<ArrayBuffer> } {
  const layout = tiledLayout(image.width, image.height, options.pyramidPadding, options.pyramidOuterPadding);
  const { rows, cols, levels } = layout;
  const plane = rows * cols;
  const data = reuse?.length === 3 * plane ? reuse.fill(0) : new Float32Array(3 * plane);
  const level0 = levels[0];
  if (!level0) return { layout, data };
  const means = options.channelMeans.map(Math.fround);
  const src = image.data;
  for (let ch = 0; ch < 3; ch++) {
    const mean = means[ch] as number;
    for (let y = 0; y < image.height; y++) {
      const out = ch * plane + (level0.top + y) * cols + level0.left;
      let i = y * image.width * 3 + ch;
      for (let x = 0; x < image.width; x++, i += 3) data[out + x] = ((src[i] as number) - mean) / PIXEL_SCALE;
    }
  }
  for (let l = 1; l < levels.length; l++)
    resizeLevel(data, cols, plane, levels[l - 1] as DlibRect, levels[l] as DlibRect);
  return { layout, data };
}
