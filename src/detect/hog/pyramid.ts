/**
 * dlib's image pyramids for its HOG detector, pixel for pixel: pyramid_down<6> (each level 5/6 of
 * the last) and pyramid_up with pyramid_down<2> (face_recognition's upsampling). Both resize with
 * dlib's bilinear resize_image for RGB images, whose main loop runs in single-precision SIMD and
 * truncates; Math.fround reproduces each float operation, so the levels match dlib byte for byte
 * (a level off by one grey level in a few pixels moved scores by ~1e-4 in early tests).
 */
import type { Image } from '../../types.js';
import { pointDown6, roundEdge } from '../dlib-geometry.js';
import { type HogKernels, hogKernels, type MemoryImage, Workspace } from './kernels.js';
import { align16 } from './wasm.js';

const f = Math.fround;

/**
 * Levels create_fhog_pyramid builds for a width×height image: it shrinks the image rectangle
 * with rect_down (rounded each time) until it is smaller than the minimum layer.
 */
export function pyramidLevelCount(
  width: number,
  height: number,
  minWidth: number,
  minHeight: number,
  maxLevels: number,
): number {
  let left = 0;
  let top = 0;
  let right = width - 1;
  let bottom = height - 1;
  let levels = 0;
  do {
    left = roundEdge(pointDown6(left));
    top = roundEdge(pointDown6(top));
    right = roundEdge(pointDown6(right));
    bottom = roundEdge(pointDown6(bottom));
    levels++;
  } while (right - left + 1 >= minWidth && bottom - top + 1 >= minHeight && levels < maxLevels);
  return levels;
}

/** The next pyramid_down<6> level: ⌊5n/6⌋ on each side. */
export function pyramidDown6(src: Image): Image {
  const [width, height] = pyramidDown6Size(src.width, src.height);
  return resizeBilinear(src, width, height);
}

export function pyramidDown6Size(width: number, height: number): [number, number] {
  return [Math.floor((5 * width) / 6), Math.floor((5 * height) / 6)];
}

/**
 * pyramid_up(img, out, pyramid_down<2>): the output is as large as rect_up of the image's
 * rectangle, 2w+2 × 2h+1 (pyramid_down<2>'s half-pixel offsets make it uneven).
 */
export function pyramidUp2(src: Image): Image {
  const [width, height] = pyramidUp2Size(src.width, src.height);
  return resizeBilinear(src, width, height);
}

export function pyramidUp2Size(width: number, height: number): [number, number] {
  return [roundEdge((width - 1 + 1.25) * 2) + 1, roundEdge((height - 1 + 0.75) * 2) + 1];
}

/** Per output column: what dlib's resize loop computes once per row but is the same in each. */
interface ColumnTaps {
  /** Byte offsets (3 per pixel) of the left and right input pixels. */
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Float weights of the SIMD columns; the double weight of the remaining ones. */
  readonly frac: Float64Array;
  readonly invFrac: Float64Array;
  /** Columns [0, simdEnd) take the single-precision path, the rest the double one. */
  readonly simdEnd: number;
}

function columnTaps(inW: number, outW: number): ColumnTaps {
  const xScale = (inW - 1) / Math.max(outW - 1, 1);
  const left = new Int32Array(outW);
  const right = new Int32Array(outW);
  const frac = new Float64Array(outW);
  const invFrac = new Float64Array(outW);
  // dlib keeps four float x positions and adds 4·xScale (as a float) per step of four columns.
  const x0 = -4 * xScale;
  const lanes = [f(x0), f(x0 + xScale), f(x0 + 2 * xScale), f(x0 + 3 * xScale)];
  const step = f(4 * xScale);
  let c = 0;
  for (; ; c += 4) {
    for (let k = 0; k < 4; k++) lanes[k] = f((lanes[k] as number) + step);
    // The loop stops at the first group whose last right tap leaves the image.
    if (Math.trunc(lanes[3] as number) + 1 >= inW || c + 4 > outW) break;
    for (let k = 0; k < 4; k++) {
      const x = lanes[k] as number;
      const l = Math.trunc(x);
      const fr = f(x - l);
      left[c + k] = l * 3;
      right[c + k] = (l + 1) * 3;
      frac[c + k] = fr;
      invFrac[c + k] = f(1 - fr);
    }
  }
  const simdEnd = c;
  let x = -xScale + c * xScale;
  for (; c < outW; c++) {
    x += xScale;
    const l = Math.floor(x);
    left[c] = l * 3;
    right[c] = Math.min(l + 1, inW - 1) * 3;
    frac[c] = x - l;
    invFrac[c] = 1 - (x - l);
  }
  return { left, right, frac, invFrac, simdEnd };
}

/** Per output row: the two source rows and the vertical weight (double, and as dlib's floats). */
interface RowTaps {
  readonly top: Int32Array;
  readonly bottom: Int32Array;
  readonly tb: Float64Array;
  readonly tbF: Float64Array;
  readonly invTbF: Float64Array;
}

function rowTaps(inH: number, outH: number): RowTaps {
  const top = new Int32Array(outH);
  const bottom = new Int32Array(outH);
  const tb = new Float64Array(outH);
  const tbF = new Float64Array(outH);
  const invTbF = new Float64Array(outH);
  const yScale = (inH - 1) / Math.max(outH - 1, 1);
  let y = -yScale;
  for (let r = 0; r < outH; r++) {
    y += yScale;
    const t = Math.floor(y);
    top[r] = t;
    bottom[r] = Math.min(t + 1, inH - 1);
    tb[r] = y - t;
    tbF[r] = f(y - t);
    invTbF[r] = f(1 - (y - t));
  }
  return { top, bottom, tb, tbF, invTbF };
}

/**
 * dlib's resize_image(in, out, interpolate_bilinear) for RGB images, exactly. The float columns run
 * in WebAssembly where there is one (`allowWasm` false: the JavaScript loops, same bytes).
 */
export function resizeBilinear(src: Image, outW: number, outH: number, allowWasm = true): Image {
  if (outW === 0 || outH === 0) return { width: outW, height: outH, data: new Uint8Array(outW * outH * 3) };
  const k = allowWasm ? hogKernels() : null;
  if (k !== null) {
    const ws = new Workspace(k);
    const from = { width: src.width, height: src.height, at: ws.take(src.data.length) };
    const to = { width: outW, height: outH, at: ws.take(outW * outH * 3) };
    const scratchAt = ws.take(resizeScratchBytes(outW, outH));
    new Uint8Array(ws.ready(), from.at, src.data.length).set(src.data);
    resizeInMemory(k, from, to, scratchAt);
    return { width: outW, height: outH, data: new Uint8Array(k.memory.buffer, to.at, outW * outH * 3).slice() };
  }
  const out = new Uint8Array(outW * outH * 3);
  const cols = columnTaps(src.width, outW);
  const rows = rowTaps(src.height, outH);
  floatColumnsJs(src, out, outW, outH, cols, rows);
  doubleColumns(src, out, outW, outH, cols, rows);
  return { width: outW, height: outH, data: out };
}

/** Bytes of scratch resizeInMemory needs for an outW×outH output. */
export function resizeScratchBytes(outW: number, outH: number): number {
  return align16(outW * 4) + align16(outW * 32) + 2 * align16(outH * 4) + align16(outH * 32) + 5 * KERNEL_SLACK;
}

/**
 * resizeBilinear from one image in the kernels' memory to another (they must not overlap; the
 * memory must already hold both and `scratchAt` + resizeScratchBytes): the single-precision
 * columns in resize.wat, the few double ones after them here, on views of the memory.
 */
export function resizeInMemory(k: HogKernels, src: MemoryImage, out: MemoryImage, scratchAt: number): void {
  const { width: outW, height: outH } = out;
  if (outW === 0 || outH === 0) return;
  const cols = columnTaps(src.width, outW);
  const rows = rowTaps(src.height, outH);
  let at = scratchAt;
  const take = (bytes: number): number => {
    const start = at;
    at = align16(at + bytes + KERNEL_SLACK);
    return start;
  };
  const leftsAt = take(outW * 4);
  const weightsAt = take(outW * 32);
  const topsAt = take(outH * 4);
  const bottomsAt = take(outH * 4);
  const rowWeightsAt = take(outH * 32);
  const buffer = k.memory.buffer;
  new Int32Array(buffer, leftsAt, outW).set(cols.left);
  // Per column and per row, each weight in all 4 lanes (the kernel multiplies them lane by lane).
  const weights = new Float32Array(buffer, weightsAt, outW * 8);
  for (let c = 0; c < cols.simdEnd; c++) {
    weights.fill(cols.invFrac[c] as number, 8 * c, 8 * c + 4);
    weights.fill(cols.frac[c] as number, 8 * c + 4, 8 * c + 8);
  }
  const rowBytes = src.width * 3;
  const tops = new Int32Array(buffer, topsAt, outH);
  const bottoms = new Int32Array(buffer, bottomsAt, outH);
  const rowWeights = new Float32Array(buffer, rowWeightsAt, outH * 8);
  for (let r = 0; r < outH; r++) {
    tops[r] = src.at + (rows.top[r] as number) * rowBytes;
    bottoms[r] = src.at + (rows.bottom[r] as number) * rowBytes;
    rowWeights.fill(rows.invTbF[r] as number, 8 * r, 8 * r + 4);
    rowWeights.fill(rows.tbF[r] as number, 8 * r + 4, 8 * r + 8);
  }
  k.resize(out.at, outW, outH, cols.simdEnd, leftsAt, weightsAt, topsAt, bottomsAt, rowWeightsAt);
  const srcImage = {
    width: src.width,
    height: src.height,
    data: new Uint8Array(buffer, src.at, rowBytes * src.height),
  };
  doubleColumns(srcImage, new Uint8Array(buffer, out.at, outW * outH * 3), outW, outH, cols, rows);
}

/** dlib's single-precision columns [0, simdEnd), in JavaScript with Math.fround. */
function floatColumnsJs(
  src: Image,
  out: Uint8Array,
  outW: number,
  outH: number,
  taps: ColumnTaps,
  rows: RowTaps,
): void {
  const data = src.data;
  const { left, right, frac, invFrac } = taps;
  for (let r = 0; r < outH; r++) {
    const tbF = rows.tbF[r] as number;
    const invTbF = rows.invTbF[r] as number;
    const topRow = (rows.top[r] as number) * src.width * 3;
    const bottomRow = (rows.bottom[r] as number) * src.width * 3;
    let o = r * outW * 3;
    for (let c = 0; c < taps.simdEnd; c++, o += 3) {
      const fr = frac[c] as number;
      const inv = invFrac[c] as number;
      const tlw = f(invTbF * inv);
      const trw = f(invTbF * fr);
      const blw = f(tbF * inv);
      const brw = f(tbF * fr);
      const tl = topRow + (left[c] as number);
      const tr = topRow + (right[c] as number);
      const bl = bottomRow + (left[c] as number);
      const br = bottomRow + (right[c] as number);
      // Channels unrolled: three independent float chains the CPU can overlap. The Uint8Array store
      // truncates, as dlib's float→int conversion (cvttps) does; the sums stay within [0, 255].
      out[o] = f(
        f(f(f(tlw * (data[tl] as number)) + f(trw * (data[tr] as number))) + f(blw * (data[bl] as number))) +
          f(brw * (data[br] as number)),
      );
      out[o + 1] = f(
        f(
          f(f(tlw * (data[tl + 1] as number)) + f(trw * (data[tr + 1] as number))) + f(blw * (data[bl + 1] as number)),
        ) + f(brw * (data[br + 1] as number)),
      );
      out[o + 2] = f(
        f(
          f(f(tlw * (data[tl + 2] as number)) + f(trw * (data[tr + 2] as number))) + f(blw * (data[bl + 2] as number)),
        ) + f(brw * (data[br + 2] as number)),
      );
    }
  }
}

/** dlib's double-precision tail columns [simdEnd, outW). */
function doubleColumns(src: Image, out: Uint8Array, outW: number, outH: number, taps: ColumnTaps, rows: RowTaps): void {
  const data = src.data;
  for (let r = 0; r < outH; r++) {
    const tb = rows.tb[r] as number;
    const topRow = (rows.top[r] as number) * src.width * 3;
    const bottomRow = (rows.bottom[r] as number) * src.width * 3;
    let o = (r * outW + taps.simdEnd) * 3;
    for (let c = taps.simdEnd; c < outW; c++, o += 3) {
      const fr = taps.frac[c] as number;
      const inv = taps.invFrac[c] as number;
      const l = taps.left[c] as number;
      const rt = taps.right[c] as number;
      for (let ch = 0; ch < 3; ch++) {
        const upper = inv * (data[topRow + l + ch] as number) + fr * (data[topRow + rt + ch] as number);
        const lower = inv * (data[bottomRow + l + ch] as number) + fr * (data[bottomRow + rt + ch] as number);
        // static_cast<unsigned char> of a value in [0, 255]: truncation.
        out[o + ch] = Math.trunc((1 - tb) * upper + tb * lower);
      }
    }
  }
}

/** Room after each scratch array (the kernel reads 16 source bytes and writes 4 output bytes a pixel: the workspace's slack covers the images). */
const KERNEL_SLACK = 16;
