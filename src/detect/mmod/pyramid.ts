/**
 * dlib's input_rgb_image_pyramid<pyramid_down<6>>: the image and its 5/6, (5/6)², ... copies laid
 * out in one tiled image (compute_tiled_image_pyramid_details), so that one pass of the CNN scans
 * every scale. Level 0 is the image normalised as (v − channel mean) / 256; each further level is
 * dlib's bilinear resize_image of the level before it, inside the tiled tensor; everything else is 0.
 */
import type { Image } from '../../types.js';
import type { DlibRect } from '../dlib-geometry.js';
import { align16, ensureBytes, instantiate, type WasmMemory } from '../hog/wasm.js';
import type { MmodOptions } from './options.js';
import { MMOD_RESIZE_WASM_BASE64 } from './resize-wasm.js';

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

/** The pyramid's arithmetic, in JavaScript or in WebAssembly: same doubles, same floats. */
interface LevelResizer {
  /** Level 0: `image` normalised, (v − mean) / 256, into the planes from element `out` on. */
  level0(image: Image, out: number, cols: number, plane: number, means: readonly [number, number, number]): void;
  /** into[c] = l + frac[c]·(r − l) across the source row starting at element `at`. */
  across(at: number, into: Float64Array, t: Taps): void;
  /** The tensor's elements from `out` on: upper + tb·(lower − upper), rounded to float32. */
  down(upper: Float64Array, lower: Float64Array, out: number, outW: number, tb: number): void;
  /** Two scratch rows of at least `width` doubles. */
  rows(width: number): [Float64Array, Float64Array];
  /** Called once per level with its column taps, before across(). */
  columns(t: Taps): void;
}

function jsResizer(data: Float32Array): LevelResizer {
  return {
    level0(image, at, cols, plane, [red, green, blue]) {
      const src = image.data;
      for (let y = 0; y < image.height; y++) {
        const out = at + y * cols;
        let i = y * image.width * 3;
        for (let x = 0; x < image.width; x++, i += 3) {
          data[out + x] = ((src[i] as number) - red) / PIXEL_SCALE;
          data[plane + out + x] = ((src[i + 1] as number) - green) / PIXEL_SCALE;
          data[2 * plane + out + x] = ((src[i + 2] as number) - blue) / PIXEL_SCALE;
        }
      }
    },
    columns() {},
    rows: (width) => [new Float64Array(width), new Float64Array(width)],
    across(at, into, t) {
      const { left, right, frac } = t;
      for (let c = 0; c < left.length; c++) {
        const l = data[at + (left[c] as number)] as number;
        into[c] = l + (frac[c] as number) * ((data[at + (right[c] as number)] as number) - l);
      }
    },
    down(upper, lower, out, outW, tb) {
      for (let c = 0; c < outW; c++) {
        const u = upper[c] as number;
        data[out + c] = u + tb * ((lower[c] as number) - u);
      }
    },
  };
}

/**
 * dlib's bilinear resize of level `src` into level `dst` of the tiled tensor, each channel plane
 * on its own. dlib runs it in single-precision SIMD; this runs in double and stores float32, a
 * difference of a few units in the 7th digit of pyramid values that moves no score by 1e-5.
 * Each source row is interpolated across once and kept (in double) for the output rows that
 * read it: at 5/6 most source rows serve two output rows.
 */
function resizeLevel(resizer: LevelResizer, cols: number, plane: number, src: DlibRect, dst: DlibRect): void {
  const inW = rectWidth(src);
  const inH = rectHeight(src);
  const outW = rectWidth(dst);
  const outH = rectHeight(dst);
  const columns = taps(inW, outW);
  const rowTaps = taps(inH, outH);
  resizer.columns(columns);
  // The across-interpolated source rows held, and which source row each holds (-1: none).
  let [upperRow, lowerRow] = resizer.rows(outW);
  for (let ch = 0; ch < 3; ch++) {
    const base = ch * plane + src.top * cols + src.left;
    let upperAt = -1;
    let lowerAt = -1;
    for (let r = 0; r < outH; r++) {
      const top = rowTaps.left[r] as number;
      const bottom = rowTaps.right[r] as number;
      if (top !== upperAt) {
        if (top === lowerAt) {
          [upperRow, lowerRow] = [lowerRow, upperRow];
          lowerAt = -1;
        } else resizer.across(base + top * cols, upperRow, columns);
        upperAt = top;
      }
      if (bottom !== lowerAt) {
        if (bottom === upperAt) lowerRow.set(upperRow.subarray(0, outW));
        else resizer.across(base + bottom * cols, lowerRow, columns);
        lowerAt = bottom;
      }
      resizer.down(upperRow, lowerRow, ch * plane + (dst.top + r) * cols + dst.left, outW, rowTaps.frac[r] as number);
    }
  }
}

interface ResizeKernel {
  readonly memory: WasmMemory;
  across(at: number, into: number, outW: number, lefts: number, rights: number, fracs: number): void;
  down(upper: number, lower: number, out: number, outW: number, tb: number): void;
  level0(
    src: number,
    width: number,
    height: number,
    out: number,
    cols: number,
    planeBytes: number,
    mean0: number,
    mean1: number,
    mean2: number,
  ): void;
}

/** Tensors above this stay in JavaScript: WebAssembly's memory ends at 4 GB. */
const MAX_WASM_TENSOR_BYTES = 2 ** 31;
const F32 = 4;
const F64 = 8;

/**
 * The input tensor's home between photos: a WebAssembly memory (tensor at byte 0, the resize's
 * scratch after it) where WebAssembly SIMD exists, else a JavaScript array. It remembers which
 * layout it holds: with the same one next time, the levels overwrite all they cover and the rest
 * is still zero, so it is not cleared (a fresh 50 MB tensor per 640-px photo at upsample 1 cost
 * 25 ms of page faults, clearing it 10 ms more). One call at a time uses it: the detector takes it
 * while a call runs.
 */
export class TensorBuffer {
  private kernel: ResizeKernel | null | undefined;
  private data: Float32Array<ArrayBuffer> | undefined;
  private held = '';

  constructor(private readonly allowWasm = true) {}

  /** A tensor of `length` floats, zero outside what layout `key` fills, and the resizer writing into it. */
  take(length: number, key: string, image: Image): { data: Float32Array<ArrayBuffer>; resizer: LevelResizer } {
    const bytes = length * F32;
    if (this.allowWasm && bytes <= MAX_WASM_TENSOR_BYTES) {
      this.kernel ??= instantiate<ResizeKernel>(MMOD_RESIZE_WASM_BASE64);
      const k = this.kernel;
      if (k !== null) {
        const scratch = align16(bytes) + 5 * align16((image.width + 2) * F64) + align16(image.data.length + 16);
        const grows = k.memory.buffer.byteLength < scratch;
        ensureBytes(k.memory, scratch);
        const data = new Float32Array(k.memory.buffer, 0, length);
        if (grows) data.fill(0);
        else if (this.held !== key) data.fill(0);
        this.data = data;
        this.held = key;
        return { data, resizer: wasmResizer(k, bytes, image.width) };
      }
    }
    let data = this.data;
    if (data?.length === length) {
      if (this.held !== key) data.fill(0);
    } else data = new Float32Array(length);
    this.data = data;
    this.held = key;
    return { data, resizer: jsResizer(data) };
  }
}

/** The resizer over the kernel's memory: scratch rows, taps and tensor addresses as byte offsets. */
function wasmResizer(k: ResizeKernel, tensorBytes: number, width: number): LevelResizer {
  const slot = align16((width + 2) * F64);
  const lefts = align16(tensorBytes);
  const rights = lefts + align16((width + 2) * F32);
  const fracs = rights + align16((width + 2) * F32);
  const upperAt = fracs + slot;
  const lowerAt = upperAt + slot;
  const imageAt = lowerAt + slot;
  const buffer = k.memory.buffer;
  const upper = new Float64Array(buffer, upperAt, width);
  const lower = new Float64Array(buffer, lowerAt, width);
  const address = (row: Float64Array): number => row.byteOffset;
  let outW = 0;
  return {
    level0(image, out, cols, plane, [red, green, blue]) {
      new Uint8Array(buffer, imageAt, image.data.length).set(image.data);
      k.level0(imageAt, image.width, image.height, out * F32, cols, plane * F32, red, green, blue);
    },
    columns(t) {
      outW = t.left.length;
      const l = new Int32Array(buffer, lefts, outW);
      const r = new Int32Array(buffer, rights, outW);
      for (let c = 0; c < outW; c++) {
        l[c] = (t.left[c] as number) * F32;
        r[c] = (t.right[c] as number) * F32;
      }
      new Float64Array(buffer, fracs, outW).set(t.frac);
    },
    rows: () => [upper, lower],
    across(at, into) {
      k.across(at * F32, address(into), outW, lefts, rights, fracs);
    },
    down(up, low, out, w, tb) {
      k.down(address(up), address(low), out * F32, w, tb);
    },
  };
}

/**
 * The network's input for `image`: planar [3, rows, cols] float32, and where each level lies,
 * in `buffer` when given (see TensorBuffer), else in a new array.
 */
export function tiledPyramid(
  image: Image,
  options: MmodOptions,
  buffer: TensorBuffer = new TensorBuffer(),
): { layout: TiledLayout; data: Float32Array<ArrayBuffer> } {
  const layout = tiledLayout(image.width, image.height, options.pyramidPadding, options.pyramidOuterPadding);
  const { rows, cols, levels } = layout;
  const plane = rows * cols;
  const key = `${image.width}x${image.height}/${options.pyramidPadding}/${options.pyramidOuterPadding}`;
  const { data, resizer } = buffer.take(3 * plane, key, image);
  const level0 = levels[0];
  if (!level0) return { layout, data };
  const means = options.channelMeans.map(Math.fround) as [number, number, number];
  resizer.level0(image, level0.top * cols + level0.left, cols, plane, means);
  for (let l = 1; l < levels.length; l++)
    resizeLevel(resizer, cols, plane, levels[l - 1] as DlibRect, levels[l] as DlibRect);
  return { layout, data };
}
