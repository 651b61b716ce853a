/**
 * SORT's constant-velocity Kalman filter on a box: state [cx, cy, s, r, vcx, vcy, vs] (centre,
 * area s, aspect r = width / height, and the velocities of centre and area; the aspect is taken
 * as constant), measurement [cx, cy, s, r]. Small dense matrices as arrays of rows.
 */
import type { Box } from '../index.js';

type Matrix = number[][];

const STATE = 7;
const MEASURED = 4;

/** Measurement noise: centres are precise to a pixel or so, area and aspect much less (SORT's values). */
const MEASUREMENT_NOISE = [1, 1, 10, 10];
/** Process noise per frame: velocities change slowly, the area's velocity slowest. */
const PROCESS_NOISE = [1, 1, 1, 1, 0.01, 0.01, 0.0001];
/** Initial uncertainty: positions as measured (×10), velocities unknown (×10,000). */
const INITIAL_POSITION_VARIANCE = 10;
const INITIAL_VELOCITY_VARIANCE = 10_000;

const zeros = (rows: number, cols: number): Matrix =>
  Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
const diag = (values: readonly number[]): Matrix => values.map((v, i) => values.map((_, j) => (i === j ? v : 0)));

export function multiply(a: Matrix, b: Matrix): Matrix {
  const out = zeros(a.length, b[0].length);
  for (let i = 0; i < a.length; i++)
    for (let k = 0; k < b.length; k++) {
      const aik = a[i][k];
      if (aik === 0) continue;
      for (let j = 0; j < b[0].length; j++) out[i][j] += aik * b[k][j];
    }
  return out;
}

export const transpose = (a: Matrix): Matrix => a[0].map((_, j) => a.map((row) => row[j]));
const add = (a: Matrix, b: Matrix): Matrix => a.map((row, i) => row.map((v, j) => v + b[i][j]));
const subtract = (a: Matrix, b: Matrix): Matrix => a.map((row, i) => row.map((v, j) => v - b[i][j]));

/** Gauss-Jordan with partial pivoting; the innovation covariance is symmetric positive definite, so never singular. */
export function invert(a: Matrix): Matrix {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...diag(new Array<number>(n).fill(1))[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    const p = m[col][col];
    for (let j = 0; j < 2 * n; j++) m[col][j] /= p;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r][col];
      if (f !== 0) for (let j = 0; j < 2 * n; j++) m[r][j] -= f * m[col][j];
    }
  }
  return m.map((row) => row.slice(n));
}

/** Transition: each position moves by its velocity per frame. */
const F: Matrix = diag(new Array<number>(STATE).fill(1));
F[0][4] = 1;
F[1][5] = 1;
F[2][6] = 1;
const H: Matrix = zeros(MEASURED, STATE).map((row, i) => row.map((_, j) => (i === j ? 1 : 0)));
const HT = transpose(H);
const FT = transpose(F);
const Q = diag(PROCESS_NOISE);
const R = diag(MEASUREMENT_NOISE);

export function boxToMeasurement(box: Box): number[] {
  return [
    box.x + box.width / 2,
    box.y + box.height / 2,
    box.width * box.height,
    box.width / Math.max(box.height, 1e-6),
  ];
}

export function measurementToBox([cx, cy, s, r]: readonly number[]): Box {
  const width = Math.sqrt(Math.max(s, 0) * r);
  const height = width > 0 ? Math.max(s, 0) / width : 0;
  return { x: cx - width / 2, y: cy - height / 2, width, height };
}

export class BoxKalman {
  /** State as a column vector. */
  private x: Matrix;
  private p: Matrix;

  constructor(box: Box) {
    this.x = [...boxToMeasurement(box), 0, 0, 0].map((v) => [v]);
    this.p = diag([
      ...new Array<number>(MEASURED).fill(INITIAL_POSITION_VARIANCE),
      ...new Array<number>(STATE - MEASURED).fill(INITIAL_VELOCITY_VARIANCE),
    ]);
  }

  /** Advances one frame and returns the predicted box. */
  predict(): Box {
    // An area shrinking through zero would give an imaginary width: stop its velocity instead.
    if (this.x[2][0] + this.x[6][0] <= 0) this.x[6][0] = 0;
    this.x = multiply(F, this.x);
    this.p = add(multiply(multiply(F, this.p), FT), Q);
    return this.box;
  }

  update(box: Box): void {
    const z = boxToMeasurement(box).map((v) => [v]);
    const y = subtract(z, multiply(H, this.x));
    const s = add(multiply(multiply(H, this.p), HT), R);
    const k = multiply(multiply(this.p, HT), invert(s));
    this.x = add(this.x, multiply(k, y));
    this.p = multiply(subtract(diag(new Array<number>(STATE).fill(1)), multiply(k, H)), this.p);
  }

  get box(): Box {
    return measurementToBox(this.x.slice(0, MEASURED).map((row) => row[0]));
  }

  /** The state vector (for tests and diagnostics). */
  get state(): number[] {
    return this.x.map((row) => row[0]);
  }

  /** Standard deviation of the predicted centre, in pixels: how unsure the track is of where the face is. */
  get centreSpread(): number {
    return Math.sqrt((this.p[0][0] + this.p[1][1]) / 2);
  }
}
