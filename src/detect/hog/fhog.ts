/**
 * Felzenszwalb HOG features (31 planes per cell) as dlib's extract_fhog_features computes them for
 * an RGB image, including its float rounding: per pixel the channel with the largest gradient,
 * snapped to one of 18 orientations, voted bilinearly into 4 cells; 4 block norms per cell; 18
 * contrast-sensitive, 9 insensitive and 4 texture features, clipped at 0.2.
 *
 * dlib runs most of each row 8 pixels at a time and the rest one by one, and the two paths differ
 * in small ways this file reproduces: the channel picked when two gradients are equally strong (the
 * vector path takes the later channel, the scalar one the earlier), and the rounding of the vote
 * weights. Math.fround marks each float operation.
 */
import type { Image } from '../../types.js';
import { HOG_FHOG_SCRATCH_AT } from './fhog-wasm.js';
import { type HogKernels, hogKernels, type MemoryImage, Workspace } from './kernels.js';
import { align16, ensureBytes } from './wasm.js';

export const FHOG_PLANES = 31;
const ORIENTATIONS = 18;
const HALF_ORIENTATIONS = 9;
/** dlib's pixels per SIMD step in the gradient loop. */
const SIMD_WIDTH = 8;
const GRADIENT_RANGE = 511;
const F32_BYTES = 4;

const f = Math.fround;

/** dlib's 9 unit vectors (as floats); bin o+9 is the opposite direction of bin o. */
const DIRECTIONS: readonly (readonly [number, number])[] = [
  [1.0, 0.0],
  [0.9397, 0.342],
  [0.766, 0.6428],
  [0.5, 0.866],
  [0.1736, 0.9848],
  [-0.1736, 0.9848],
  [-0.5, 0.866],
  [-0.766, 0.6428],
  [-0.9397, 0.342],
].map(([x, y]) => [f(x as number), f(y as number)] as const);

let orientationTable: Uint8Array | undefined;
let magnitudeTable: Float32Array | undefined;

/**
 * Orientation bin of every gradient (dx, dy) in [-255, 255]², computed once with dlib's float dot
 * products and comparisons (the vector and scalar paths agree on these), and its length as a float
 * (dlib's float sqrt of the exact integer energy).
 */
function tables(): { orientation: Uint8Array; magnitude: Float32Array } {
  if (orientationTable === undefined || magnitudeTable === undefined) {
    const orientation = new Uint8Array(GRADIENT_RANGE * GRADIENT_RANGE);
    for (let dy = -255; dy <= 255; dy++) {
      for (let dx = -255; dx <= 255; dx++) {
        let bestDot = 0;
        let best = 0;
        for (let o = 0; o < HALF_ORIENTATIONS; o++) {
          const dir = DIRECTIONS[o] as readonly [number, number];
          const dot = f(f(dx * dir[0]) + f(dy * dir[1]));
          if (dot > bestDot) {
            bestDot = dot;
            best = o;
          } else if (-dot > bestDot) {
            bestDot = -dot;
            best = o + HALF_ORIENTATIONS;
          }
        }
        orientation[(dy + 255) * GRADIENT_RANGE + dx + 255] = best;
      }
    }
    const magnitude = new Float32Array(GRADIENT_RANGE * GRADIENT_RANGE);
    for (let dy = -255; dy <= 255; dy++) {
      for (let dx = -255; dx <= 255; dx++)
        magnitude[(dy + 255) * GRADIENT_RANGE + dx + 255] = Math.sqrt(dx * dx + dy * dy);
    }
    orientationTable = orientation;
    magnitudeTable = magnitude;
  }
  return { orientation: orientationTable, magnitude: magnitudeTable as Float32Array };
}

/** FHOG planes laid out plane by plane, each rows×cols, row-major. */
export interface FhogImage {
  readonly rows: number;
  readonly cols: number;
  readonly planes: Float32Array;
}

/**
 * extract_fhog_features(img, hog, cellSize, padRows, padCols): planes of (cells−2) + pad − 1 rows
 * and columns, the features placed ⌊(pad−1)/2⌋ cells in from the top left, zeros around them.
 * An image with fewer than 3 cells a side has no features (rows = cols = 0). The gradient votes
 * run in WebAssembly where there is one (`allowWasm` false: the JavaScript loops, same results).
 */
export function extractFhog(
  img: Image,
  cellSize: number,
  padRows: number,
  padCols: number,
  allowWasm = true,
): FhogImage {
  const plan = fhogPlan(img.width, img.height, cellSize, padRows, padCols);
  if (plan === null) return { rows: 0, cols: 0, planes: new Float32Array(0) };
  const { layout } = plan;
  const k = allowWasm ? fhogKernels() : null;
  if (k === null) {
    return { rows: layout.rows, cols: layout.cols, planes: normalizeJs(votesJs(img, plan.votes), layout) };
  }
  const ws = new Workspace(k);
  const source = { width: img.width, height: img.height, at: ws.take(img.data.length) };
  const planesAt = ws.take(planeBytes(plan));
  const scratchAt = ws.take(fhogScratchBytes(plan));
  new Uint8Array(ws.ready(), source.at, img.data.length).set(img.data);
  fhogInMemory(k, plan, source, planesAt, scratchAt);
  const planes = new Float32Array(k.memory.buffer, planesAt, FHOG_PLANES * layout.rows * layout.cols).slice();
  return { rows: layout.rows, cols: layout.cols, planes };
}

/** What extractFhog computes before any pixel: where each pixel votes and where the features go. */
export interface FhogPlan {
  readonly votes: Votes;
  readonly layout: PlaneLayout;
}

/** The plan for a width×height image, or null when it has no features (under 3 cells a side). */
export function fhogPlan(
  width: number,
  height: number,
  cellSize: number,
  padRows: number,
  padCols: number,
): FhogPlan | null {
  const cellsR = Math.floor(height / cellSize + 0.5);
  const cellsC = Math.floor(width / cellSize + 0.5);
  const hogR = Math.max(cellsR - 2, 0);
  const hogC = Math.max(cellsC - 2, 0);
  if (cellsR === 0 || cellsC === 0 || hogR === 0 || hogC === 0) return null;

  // Orientation histograms with one cell of margin all round, 18 bins per cell.
  const histC = cellsC + 2;
  const histLength = (cellsR + 2) * histC * ORIENTATIONS;
  const visibleR = Math.min(cellsR * cellSize, height) - 1;
  const visibleC = Math.min(cellsC * cellSize, width) - 1;
  // dlib's vector loop covers x in [1, simdEnd); the scalar loop the rest of the row.
  const simdBlocks = visibleC - 7 > 1 ? Math.ceil((visibleC - 7 - 1) / SIMD_WIDTH) : 0;
  const simdEnd = 1 + simdBlocks * SIMD_WIDTH;

  // Per column: histogram column and float vote weights, for the vector and scalar loops.
  const colIndex = new Int32Array(visibleC);
  const colW0 = new Float64Array(visibleC);
  const colW1 = new Float64Array(visibleC);
  for (let x = 1; x < visibleC; x++) {
    if (x < simdEnd) {
      const xp = f(f(f(x + 0.5) / cellSize) + 0.5);
      const ixp = Math.trunc(xp);
      colIndex[x] = ixp;
      colW0[x] = f(xp - ixp);
      colW1[x] = f(1 - (colW0[x] as number));
    } else {
      const xp = f((x + 0.5) / cellSize - 0.5);
      const ixp = Math.floor(xp);
      colIndex[x] = ixp + 1;
      colW0[x] = f(xp - ixp);
      colW1[x] = f(1 - (colW0[x] as number));
    }
  }

  // Per row: the two histogram rows it votes into and their float weights.
  const rowUpper = new Int32Array(visibleR);
  const rowVy0 = new Float64Array(visibleR);
  const rowVy1 = new Float64Array(visibleR);
  for (let y = 1; y < visibleR; y++) {
    const yp = f((y + 0.5) / cellSize - 0.5);
    const iyp = Math.floor(yp);
    rowUpper[y] = iyp + 1;
    rowVy0[y] = f(yp - iyp);
    rowVy1[y] = f(1 - (rowVy0[y] as number));
  }
  const votes: Votes = {
    histC,
    histLength,
    visibleR,
    visibleC,
    simdEnd,
    colIndex,
    colW0,
    colW1,
    rowUpper,
    rowVy0,
    rowVy1,
  };
  const layout: PlaneLayout = {
    cellsR,
    cellsC,
    hogR,
    hogC,
    rows: hogR + padRows - 1,
    cols: hogC + padCols - 1,
    offR: Math.floor((padRows - 1) / 2),
    offC: Math.floor((padCols - 1) / 2),
  };
  return { votes, layout };
}

/** Where the features go: cells of the histogram, features per side, planes' size and offset. */
export interface PlaneLayout {
  readonly cellsR: number;
  readonly cellsC: number;
  readonly hogR: number;
  readonly hogC: number;
  readonly rows: number;
  readonly cols: number;
  readonly offR: number;
  readonly offC: number;
}

/** The cell energies and the 31 features per cell from the vote histograms, in JavaScript. */
function normalizeJs(hist: Float32Array, layout: PlaneLayout): Float32Array {
  const { cellsR, cellsC, hogR, hogC, rows, cols, offR, offC } = layout;
  const histC = cellsC + 2;
  // Energy per cell: Σ over the 9 undirected orientations of (h[o] + h[o+9])².
  const norm = new Float32Array(cellsR * cellsC);
  for (let r = 0; r < cellsR; r++) {
    for (let c = 0; c < cellsC; c++) {
      const h = ((r + 1) * histC + c + 1) * ORIENTATIONS;
      let sum = 0;
      for (let o = 0; o < HALF_ORIENTATIONS; o++) {
        const s = f((hist[h + o] as number) + (hist[h + o + HALF_ORIENTATIONS] as number));
        sum = f(sum + f(s * s));
      }
      norm[r * cellsC + c] = sum;
    }
  }

  const planeSize = rows * cols;
  const planes = new Float32Array(FHOG_PLANES * planeSize);
  for (let y = 0; y < hogR; y++) {
    for (let x = 0; x < hogC; x++) {
      // The 3×3 cell energies around cell (y+1, x+1).
      const i0 = y * cellsC + x;
      const e00 = norm[i0] as number;
      const e01 = norm[i0 + 1] as number;
      const e02 = norm[i0 + 2] as number;
      const e10 = norm[i0 + cellsC] as number;
      const e11 = norm[i0 + cellsC + 1] as number;
      const e12 = norm[i0 + cellsC + 2] as number;
      const e20 = norm[i0 + 2 * cellsC] as number;
      const e21 = norm[i0 + 2 * cellsC + 1] as number;
      const e22 = norm[i0 + 2 * cellsC + 2] as number;
      // The four 2×2 blocks holding the cell, in dlib's lane order (below-right, above-right,
      // below-left, above-left), each summed in dlib's order: clip level nn and scale n per lane.
      const nn0 = clipLevel(e11, e12, e21, e22);
      const nn1 = clipLevel(e01, e02, e11, e12);
      const nn2 = clipLevel(e10, e11, e20, e21);
      const nn3 = clipLevel(e00, e01, e10, e11);
      const n0 = f(UNIT_SCALE / nn0);
      const n1 = f(UNIT_SCALE / nn1);
      const n2 = f(UNIT_SCALE / nn2);
      const n3 = f(UNIT_SCALE / nn3);
      const h = ((y + 2) * histC + x + 2) * ORIENTATIONS;
      const at = (y + offR) * cols + x + offC;
      // Texture features: per lane, Σ over groups of 3 orientations of ((h0 + h1) + h2).
      let t0 = 0;
      let t1 = 0;
      let t2 = 0;
      let t3 = 0;
      for (let o = 0; o < ORIENTATIONS; o += 3) {
        const ha = hist[h + o] as number;
        const hb = hist[h + o + 1] as number;
        const hc = hist[h + o + 2] as number;
        const a0 = f(Math.min(ha, nn0) * n0);
        const a1 = f(Math.min(ha, nn1) * n1);
        const a2 = f(Math.min(ha, nn2) * n2);
        const a3 = f(Math.min(ha, nn3) * n3);
        const b0 = f(Math.min(hb, nn0) * n0);
        const b1 = f(Math.min(hb, nn1) * n1);
        const b2 = f(Math.min(hb, nn2) * n2);
        const b3 = f(Math.min(hb, nn3) * n3);
        const c0 = f(Math.min(hc, nn0) * n0);
        const c1 = f(Math.min(hc, nn1) * n1);
        const c2 = f(Math.min(hc, nn2) * n2);
        const c3 = f(Math.min(hc, nn3) * n3);
        planes[o * planeSize + at] = laneSum(a0, a1, a2, a3);
        planes[(o + 1) * planeSize + at] = laneSum(b0, b1, b2, b3);
        planes[(o + 2) * planeSize + at] = laneSum(c0, c1, c2, c3);
        t0 = f(t0 + f(f(a0 + b0) + c0));
        t1 = f(t1 + f(f(a1 + b1) + c1));
        t2 = f(t2 + f(f(a2 + b2) + c2));
        t3 = f(t3 + f(f(a3 + b3) + c3));
      }
      for (let o = 0; o < HALF_ORIENTATIONS; o++) {
        const both = f((hist[h + o] as number) + (hist[h + o + HALF_ORIENTATIONS] as number));
        planes[(ORIENTATIONS + o) * planeSize + at] = laneSum(
          f(Math.min(both, nn0) * n0),
          f(Math.min(both, nn1) * n1),
          f(Math.min(both, nn2) * n2),
          f(Math.min(both, nn3) * n3),
        );
      }
      const texture = (ORIENTATIONS + HALF_ORIENTATIONS) * planeSize + at;
      planes[texture] = f(t0 * TEXTURE_SCALE);
      planes[texture + planeSize] = f(t1 * TEXTURE_SCALE);
      planes[texture + 2 * planeSize] = f(t2 * TEXTURE_SCALE);
      planes[texture + 3 * planeSize] = f(t3 * TEXTURE_SCALE);
    }
  }
  return planes;
}

const EPS = f(0.0001);
const CLIP_SCALE = f(0.2);
const UNIT_SCALE = f(0.1);
const TEXTURE_SCALE = f(2 * 0.2357);

/** 0.2·√(energy of a 2×2 block + eps), summed as dlib's lanes are. */
function clipLevel(a: number, b: number, c: number, d: number): number {
  return f(CLIP_SCALE * f(Math.sqrt(f(f(f(f(a + b) + c) + d) + EPS))));
}

/** dlib's SSE2 horizontal sum of four float lanes: (l0 + l2) + (l1 + l3). */
function laneSum(l0: number, l1: number, l2: number, l3: number): number {
  return f(f(l0 + l2) + f(l1 + l3));
}

/**
 * The gradient of the channel with the largest squared gradient at byte `p`, as an index into the
 * orientation and magnitude tables. dlib's vector path lets a later channel win ties
 * (`laterWinsTies`), its scalar path keeps the earlier one.
 */
function strongestGradient(data: Uint8Array, p: number, stride: number, laterWinsTies: boolean): number {
  const rx = (data[p + 3] as number) - (data[p - 3] as number);
  const ry = (data[p + stride] as number) - (data[p - stride] as number);
  const gx = (data[p + 4] as number) - (data[p - 2] as number);
  const gy = (data[p + 1 + stride] as number) - (data[p + 1 - stride] as number);
  const bx = (data[p + 5] as number) - (data[p - 1] as number);
  const by = (data[p + 2 + stride] as number) - (data[p + 2 - stride] as number);
  const rLen = rx * rx + ry * ry;
  const gLen = gx * gx + gy * gy;
  const bLen = bx * bx + by * by;
  let dx = rx;
  let dy = ry;
  let len = rLen;
  if (laterWinsTies ? gLen >= len : gLen > len) {
    dx = gx;
    dy = gy;
    len = gLen;
  }
  if (laterWinsTies ? bLen >= len : bLen > len) {
    dx = bx;
    dy = by;
  }
  return (dy + 255) * GRADIENT_RANGE + dx + 255;
}

/** Where each pixel votes: per column and per row, as dlib computes them (see extractFhog). */
export interface Votes {
  readonly histC: number;
  readonly histLength: number;
  readonly visibleR: number;
  readonly visibleC: number;
  readonly simdEnd: number;
  readonly colIndex: Int32Array;
  readonly colW0: Float64Array;
  readonly colW1: Float64Array;
  readonly rowUpper: Int32Array;
  readonly rowVy0: Float64Array;
  readonly rowVy1: Float64Array;
}

/** The gradient votes in plain JavaScript: where WebAssembly is missing. */
function votesJs(img: Image, votes: Votes): Float32Array {
  const { orientation, magnitude } = tables();
  const { histC, visibleR, visibleC, simdEnd, colIndex, colW0, colW1 } = votes;
  const hist = new Float32Array(votes.histLength);
  const data = img.data;
  const stride = img.width * 3;
  for (let y = 1; y < visibleR; y++) {
    const vy0 = votes.rowVy0[y] as number;
    const vy1 = votes.rowVy1[y] as number;
    const upper = (votes.rowUpper[y] as number) * histC * ORIENTATIONS;
    const lower = upper + histC * ORIENTATIONS;
    const row = y * stride;
    // Two loops, as dlib's two paths: they differ in tie order and vote rounding (see the top).
    for (let x = 1; x < simdEnd; x++) {
      const g = strongestGradient(data, row + x * 3, stride, true);
      const v = magnitude[g] as number;
      const o = orientation[g] as number;
      const cell = (colIndex[x] as number) * ORIENTATIONS + o;
      const a1 = f((colW1[x] as number) * v);
      const a0 = f((colW0[x] as number) * v);
      hist[upper + cell] += f(vy1 * a1);
      hist[lower + cell] += f(vy0 * a1);
      hist[upper + cell + ORIENTATIONS] += f(vy1 * a0);
      hist[lower + cell + ORIENTATIONS] += f(vy0 * a0);
    }
    for (let x = simdEnd; x < visibleC; x++) {
      const g = strongestGradient(data, row + x * 3, stride, false);
      const v = magnitude[g] as number;
      const o = orientation[g] as number;
      const cell = (colIndex[x] as number) * ORIENTATIONS + o;
      const w1 = colW1[x] as number;
      const w0 = colW0[x] as number;
      hist[upper + cell] += f(f(vy1 * w1) * v);
      hist[lower + cell] += f(f(vy0 * w1) * v);
      hist[upper + cell + ORIENTATIONS] += f(f(vy1 * w0) * v);
      hist[lower + cell + ORIENTATIONS] += f(f(vy0 * w0) * v);
    }
  }

  return hist;
}

let tableInstalled = false;

/** The kernels with the orientation table at byte 0 of their memory, or null without WebAssembly SIMD. */
function fhogKernels(): HogKernels | null {
  const k = hogKernels();
  if (k !== null && !tableInstalled) {
    const { orientation } = tables();
    ensureBytes(k.memory, HOG_FHOG_SCRATCH_AT);
    new Uint8Array(k.memory.buffer, 0, orientation.length).set(orientation);
    tableInstalled = true;
  }
  return k;
}

/** Bytes of the 31 planes of a plan. */
export function planeBytes(plan: FhogPlan): number {
  return FHOG_PLANES * plan.layout.rows * plan.layout.cols * F32_BYTES;
}

/** The scratch fhogInMemory needs: the histograms, the per-row and per-column vote tables, the cell energies. */
export function fhogScratchBytes(plan: FhogPlan): number {
  const { histLength, visibleR, visibleC } = plan.votes;
  const { cellsR, cellsC } = plan.layout;
  const slack = 16;
  return (
    align16(histLength * F32_BYTES + slack) +
    3 * align16(visibleC * F32_BYTES + slack) +
    4 * align16(visibleR * F32_BYTES + slack) +
    align16(cellsR * cellsC * F32_BYTES + slack)
  );
}

/**
 * Votes and features in WebAssembly (fhog.wat), from the image at `img` (in the kernels' memory) to
 * 31 planes at `planesAt`, with scratch from `scratchAt` (fhogScratchBytes; the memory must hold
 * all of them). IEEE single-precision arithmetic is dlib's own, so no Math.fround is needed, and
 * the features' 4 blocks are the 4 lanes of an f32x4 as they are the 4 lanes of dlib's SSE vector:
 * the planes are the same bit for bit. The gradient length is a float sqrt in the kernel (the
 * table's values, without its megabyte).
 */
export function fhogInMemory(
  k: HogKernels,
  plan: FhogPlan,
  img: MemoryImage,
  planesAt: number,
  scratchAt: number,
): void {
  fhogKernels();
  const { votes, layout } = plan;
  const { histC, histLength, visibleR, visibleC } = votes;
  const rowBytes = histC * ORIENTATIONS * F32_BYTES;
  let at = scratchAt;
  const take = (bytes: number): number => {
    const start = at;
    // 16 bytes of slack: the feature kernel reads the cell energies 4 at a time.
    at = align16(at + bytes + 16);
    return start;
  };
  const histAt = take(histLength * F32_BYTES);
  const colsAt = take(visibleC * F32_BYTES);
  const w0At = take(visibleC * F32_BYTES);
  const w1At = take(visibleC * F32_BYTES);
  const upsAt = take(visibleR * F32_BYTES);
  const losAt = take(visibleR * F32_BYTES);
  const vy0At = take(visibleR * F32_BYTES);
  const vy1At = take(visibleR * F32_BYTES);
  const normAt = take(layout.cellsR * layout.cellsC * F32_BYTES);
  const buffer = k.memory.buffer;
  new Float32Array(buffer, histAt, histLength).fill(0);
  const cols = new Int32Array(buffer, colsAt, visibleC);
  for (let x = 0; x < visibleC; x++) cols[x] = (votes.colIndex[x] as number) * ORIENTATIONS * F32_BYTES;
  new Float32Array(buffer, w0At, visibleC).set(votes.colW0);
  new Float32Array(buffer, w1At, visibleC).set(votes.colW1);
  const ups = new Int32Array(buffer, upsAt, visibleR);
  const los = new Int32Array(buffer, losAt, visibleR);
  for (let y = 0; y < visibleR; y++) {
    ups[y] = histAt + (votes.rowUpper[y] as number) * rowBytes;
    los[y] = (ups[y] as number) + rowBytes;
  }
  new Float32Array(buffer, vy0At, visibleR).set(votes.rowVy0);
  new Float32Array(buffer, vy1At, visibleR).set(votes.rowVy1);
  k.votes(img.at, img.width * 3, visibleR, votes.simdEnd, visibleC, colsAt, w0At, w1At, upsAt, losAt, vy0At, vy1At);
  const { cellsR, cellsC, hogR, hogC, rows, offR, offC } = layout;
  new Float32Array(buffer, planesAt, FHOG_PLANES * rows * layout.cols).fill(0);
  k.normalize(
    histAt,
    histC,
    cellsR,
    cellsC,
    normAt,
    planesAt,
    rows * layout.cols * F32_BYTES,
    layout.cols,
    hogR,
    hogC,
    offR,
    offC,
  );
}
