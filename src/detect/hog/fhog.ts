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

export const FHOG_PLANES = 31;
const ORIENTATIONS = 18;
const HALF_ORIENTATIONS = 9;
/** dlib's pixels per SIMD step in the gradient loop. */
const SIMD_WIDTH = 8;
/** Largest squared gradient: 2·255². */
const MAX_GRADIENT_ENERGY = 2 * 255 * 255;
const GRADIENT_RANGE = 511;

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
 * products and comparisons (the vector and scalar paths agree on these), and √(energy) as float.
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
    const magnitude = new Float32Array(MAX_GRADIENT_ENERGY + 1);
    for (let e = 0; e <= MAX_GRADIENT_ENERGY; e++) magnitude[e] = Math.sqrt(e);
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
 * An image with fewer than 3 cells a side has no features (rows = cols = 0).
 */
export function extractFhog(img: Image, cellSize: number, padRows: number, padCols: number): FhogImage {
  const { orientation, magnitude } = tables();
  const width = img.width;
  const height = img.height;
  const data = img.data;
  const cellsR = Math.floor(height / cellSize + 0.5);
  const cellsC = Math.floor(width / cellSize + 0.5);
  const hogR = Math.max(cellsR - 2, 0);
  const hogC = Math.max(cellsC - 2, 0);
  if (cellsR === 0 || cellsC === 0 || hogR === 0 || hogC === 0) {
    return { rows: 0, cols: 0, planes: new Float32Array(0) };
  }

  // Orientation histograms with one cell of margin all round, 18 bins per cell.
  const histC = cellsC + 2;
  const hist = new Float32Array((cellsR + 2) * histC * ORIENTATIONS);
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

  const stride = width * 3;
  for (let y = 1; y < visibleR; y++) {
    const yp = f((y + 0.5) / cellSize - 0.5);
    const iyp = Math.floor(yp);
    const vy0 = f(yp - iyp);
    const vy1 = f(1 - vy0);
    const upperRow = (iyp + 1) * histC;
    const lowerRow = (iyp + 2) * histC;
    const row = y * stride;
    for (let x = 1; x < visibleC; x++) {
      const p = row + x * 3;
      const rx = (data[p + 3] as number) - (data[p - 3] as number);
      const ry = (data[p + stride] as number) - (data[p - stride] as number);
      const gx0 = (data[p + 4] as number) - (data[p - 2] as number);
      const gy0 = (data[p + 1 + stride] as number) - (data[p + 1 - stride] as number);
      const bx = (data[p + 5] as number) - (data[p - 1] as number);
      const by = (data[p + 2 + stride] as number) - (data[p + 2 - stride] as number);
      const rLen = rx * rx + ry * ry;
      const gLen = gx0 * gx0 + gy0 * gy0;
      const bLen = bx * bx + by * by;
      let gx: number;
      let gy: number;
      let len: number;
      if (x < simdEnd) {
        // select(r > g, r, g), then select(that > b, that, b): ties go to the later channel.
        if (rLen > gLen) {
          gx = rx;
          gy = ry;
          len = rLen;
        } else {
          gx = gx0;
          gy = gy0;
          len = gLen;
        }
        if (!(len > bLen)) {
          gx = bx;
          gy = by;
          len = bLen;
        }
      } else {
        // Red, replaced only by a strictly larger green, then a strictly larger blue.
        gx = rx;
        gy = ry;
        len = rLen;
        if (gLen > len) {
          gx = gx0;
          gy = gy0;
          len = gLen;
        }
        if (bLen > len) {
          gx = bx;
          gy = by;
          len = bLen;
        }
      }
      const v = magnitude[len] as number;
      const o = orientation[(gy + 255) * GRADIENT_RANGE + gx + 255] as number;
      const cx = colIndex[x] as number;
      const w0 = colW0[x] as number;
      const w1 = colW1[x] as number;
      let v11: number;
      let v01: number;
      let v10: number;
      let v00: number;
      if (x < simdEnd) {
        const a1 = f(w1 * v);
        const a0 = f(w0 * v);
        v11 = f(vy1 * a1);
        v01 = f(vy0 * a1);
        v10 = f(vy1 * a0);
        v00 = f(vy0 * a0);
      } else {
        v11 = f(f(vy1 * w1) * v);
        v01 = f(f(vy0 * w1) * v);
        v10 = f(f(vy1 * w0) * v);
        v00 = f(f(vy0 * w0) * v);
      }
      hist[(upperRow + cx) * ORIENTATIONS + o] += v11;
      hist[(lowerRow + cx) * ORIENTATIONS + o] += v01;
      hist[(upperRow + cx + 1) * ORIENTATIONS + o] += v10;
      hist[(lowerRow + cx + 1) * ORIENTATIONS + o] += v00;
    }
  }

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

  const rows = hogR + padRows - 1;
  const cols = hogC + padCols - 1;
  const planeSize = rows * cols;
  const planes = new Float32Array(FHOG_PLANES * planeSize);
  const offR = Math.floor((padRows - 1) / 2);
  const offC = Math.floor((padCols - 1) / 2);
  const eps = f(0.0001);
  const clipScale = f(0.2);
  const unitScale = f(0.1);
  const textureScale = f(2 * 0.2357);
  const nn = new Float64Array(4);
  const n = new Float64Array(4);
  const t = new Float64Array(4);
  const nAt = (r: number, c: number): number => norm[r * cellsC + c] as number;
  for (let y = 0; y < hogR; y++) {
    for (let x = 0; x < hogC; x++) {
      // The four 2×2 blocks around cell (y+1, x+1), in dlib's lane order: below-right,
      // above-right, below-left, above-left; each summed in dlib's order, then + eps.
      const blocks = [
        f(f(f(f(nAt(y + 1, x + 1) + nAt(y + 1, x + 2)) + nAt(y + 2, x + 1)) + nAt(y + 2, x + 2)) + eps),
        f(f(f(f(nAt(y, x + 1) + nAt(y, x + 2)) + nAt(y + 1, x + 1)) + nAt(y + 1, x + 2)) + eps),
        f(f(f(f(nAt(y + 1, x) + nAt(y + 1, x + 1)) + nAt(y + 2, x)) + nAt(y + 2, x + 1)) + eps),
        f(f(f(f(nAt(y, x) + nAt(y, x + 1)) + nAt(y + 1, x)) + nAt(y + 1, x + 1)) + eps),
      ];
      for (let k = 0; k < 4; k++) {
        nn[k] = f(clipScale * f(Math.sqrt(blocks[k] as number)));
        n[k] = f(unitScale / (nn[k] as number));
        t[k] = 0;
      }
      const h = ((y + 2) * histC + x + 2) * ORIENTATIONS;
      const at = (y + offR) * cols + x + offC;
      for (let o = 0; o < ORIENTATIONS; o += 3) {
        const lane = [0, 0, 0];
        for (let k = 0; k < 4; k++) {
          const nnk = nn[k] as number;
          const nk = n[k] as number;
          const h0 = f(Math.min(hist[h + o] as number, nnk) * nk);
          const h1 = f(Math.min(hist[h + o + 1] as number, nnk) * nk);
          const h2 = f(Math.min(hist[h + o + 2] as number, nnk) * nk);
          laneValues[k * 3] = h0;
          laneValues[k * 3 + 1] = h1;
          laneValues[k * 3 + 2] = h2;
          t[k] = f((t[k] as number) + f(f(h0 + h1) + h2));
        }
        for (let j = 0; j < 3; j++) lane[j] = laneSum(j);
        planes[(o + 0) * planeSize + at] = lane[0] as number;
        planes[(o + 1) * planeSize + at] = lane[1] as number;
        planes[(o + 2) * planeSize + at] = lane[2] as number;
      }
      for (let o = 0; o < HALF_ORIENTATIONS; o++) {
        const both = f((hist[h + o] as number) + (hist[h + o + HALF_ORIENTATIONS] as number));
        for (let k = 0; k < 4; k++) {
          laneValues[k * 3] = f(Math.min(both, nn[k] as number) * (n[k] as number));
        }
        planes[(ORIENTATIONS + o) * planeSize + at] = laneSum(0);
      }
      for (let k = 0; k < 4; k++) {
        planes[(ORIENTATIONS + HALF_ORIENTATIONS + k) * planeSize + at] = f((t[k] as number) * textureScale);
      }
    }
  }
  return { rows, cols, planes };
}

/** Scratch for laneSum: value j of lane k at k·3 + j. */
const laneValues = new Float64Array(12);

/** dlib's SSE2 horizontal sum of four float lanes: (l0 + l2) + (l1 + l3). */
function laneSum(j: number): number {
  return f(
    f((laneValues[j] as number) + (laneValues[6 + j] as number)) +
      f((laneValues[3 + j] as number) + (laneValues[9 + j] as number)),
  );
}
