import { seededRandom } from '../align/jitter.js';
import type { DlibTail } from '../models/dlibResnet128.js';

/**
 * The trainable last layer over cached features, in float64: `e = f · W + b`, and for 'fc+head'
 * a residual head `e + relu(e · U + c) · V`. V starts at zero and W at the stock weights, so
 * training starts from exactly the stock embedder.
 */

export const FEATURES = 256;
export const DIMS = 128;
/** The head's hidden width: small, so the few photos a user has can tune it. */
export const HEAD_HIDDEN = 64;

export type TrainedPart = 'fc' | 'fc+head';
export const TRAINED_PARTS: readonly TrainedPart[] = ['fc', 'fc+head'];

export interface Params {
  w: Float64Array;
  b: Float64Array;
  head?: { u: Float64Array; c: Float64Array; v: Float64Array };
}

/** Seeded uniform [0, 1): the same seed gives the same run (the jitter's mulberry32). */
export const seeded = seededRandom;

export function initialParams(stock: DlibTail, part: TrainedPart, rnd: () => number): Params {
  const p: Params = { w: Float64Array.from(stock.fc), b: Float64Array.from(stock.bias) };
  if (part === 'fc+head') {
    // U small and random so the hidden units differ; V zero so the head adds nothing at the start.
    const scale = 1 / Math.sqrt(DIMS);
    p.head = {
      u: Float64Array.from({ length: DIMS * HEAD_HIDDEN }, () => (rnd() * 2 - 1) * scale),
      c: new Float64Array(HEAD_HIDDEN),
      v: new Float64Array(HEAD_HIDDEN * DIMS),
    };
  }
  return p;
}

/** Every array of `p` in one fixed order (for the optimizer and the gradient check). */
export function paramArrays(p: Params): Float64Array[] {
  return p.head ? [p.w, p.b, p.head.u, p.head.c, p.head.v] : [p.w, p.b];
}

export function cloneParams(p: Params): Params {
  return {
    w: p.w.slice(),
    b: p.b.slice(),
    head: p.head && { u: p.head.u.slice(), c: p.head.c.slice(), v: p.head.v.slice() },
  };
}

/** out (n × m) = x (n × k) · y (k × m), plus bias (m) when given. */
function matmul(x: Float64Array, y: Float64Array, n: number, k: number, m: number, bias?: Float64Array): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const row = i * m;
    if (bias) for (let j = 0; j < m; j++) out[row + j] = bias[j];
    for (let t = 0; t < k; t++) {
      const a = x[i * k + t];
      if (a === 0) continue;
      const yr = t * m;
      for (let j = 0; j < m; j++) out[row + j] += a * y[yr + j];
    }
  }
  return out;
}

/** gy (k × m) += xᵀ (k × n) · g (n × m). */
function addTransposedProduct(gy: Float64Array, x: Float64Array, g: Float64Array, n: number, k: number, m: number) {
  for (let i = 0; i < n; i++)
    for (let t = 0; t < k; t++) {
      const a = x[i * k + t];
      if (a === 0) continue;
      const yr = t * m;
      for (let j = 0; j < m; j++) gy[yr + j] += a * g[i * m + j];
    }
}

/** g (n × k) · yᵀ where y is k × m and g is n × m: the gradient flowing back through x · y. */
function backThrough(g: Float64Array, y: Float64Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++)
    for (let t = 0; t < k; t++) {
      let s = 0;
      for (let j = 0; j < m; j++) s += g[i * m + j] * y[t * m + j];
      out[i * k + t] = s;
    }
  return out;
}

export interface Forward {
  readonly out: Float64Array;
  readonly x: Float64Array;
  readonly e: Float64Array;
  readonly h?: Float64Array;
  readonly n: number;
}

/** Embeddings of n feature rows (n × 256, row-major). */
export function forward(p: Params, x: Float64Array, n: number): Forward {
  const e = matmul(x, p.w, n, FEATURES, DIMS, p.b);
  if (!p.head) return { out: e, x, e, n };
  const h = matmul(e, p.head.u, n, DIMS, HEAD_HIDDEN, p.head.c);
  for (let i = 0; i < h.length; i++) if (h[i] < 0) h[i] = 0;
  const out = matmul(h, p.head.v, n, HEAD_HIDDEN, DIMS);
  for (let i = 0; i < out.length; i++) out[i] += e[i];
  return { out, x, e, h, n };
}

/** Gradients of the loss w.r.t. every parameter, given dLoss/dOutput; same shapes as `p`. */
export function backward(p: Params, f: Forward, gOut: Float64Array): Params {
  const { n } = f;
  let ge = gOut;
  const grads: Params = { w: new Float64Array(p.w.length), b: new Float64Array(p.b.length) };
  if (p.head && f.h) {
    const gv = new Float64Array(p.head.v.length);
    addTransposedProduct(gv, f.h, gOut, n, HEAD_HIDDEN, DIMS);
    const gh = backThrough(gOut, p.head.v, n, HEAD_HIDDEN, DIMS);
    for (let i = 0; i < gh.length; i++) if (f.h[i] <= 0) gh[i] = 0;
    const gu = new Float64Array(p.head.u.length);
    addTransposedProduct(gu, f.e, gh, n, DIMS, HEAD_HIDDEN);
    const gc = new Float64Array(HEAD_HIDDEN);
    for (let i = 0; i < n; i++) for (let j = 0; j < HEAD_HIDDEN; j++) gc[j] += gh[i * HEAD_HIDDEN + j];
    const back = backThrough(gh, p.head.u, n, DIMS, HEAD_HIDDEN);
    ge = new Float64Array(gOut);
    for (let i = 0; i < ge.length; i++) ge[i] += back[i];
    grads.head = { u: gu, c: gc, v: gv };
  }
  addTransposedProduct(grads.w, f.x, ge, n, FEATURES, DIMS);
  for (let i = 0; i < n; i++) for (let j = 0; j < DIMS; j++) grads.b[j] += ge[i * DIMS + j];
  return grads;
}

/** The float32 tail the ONNX export writes. */
export function toTail(p: Params): DlibTail {
  return {
    fc: Float32Array.from(p.w),
    bias: Float32Array.from(p.b),
    head: p.head && {
      hidden: HEAD_HIDDEN,
      u: Float32Array.from(p.head.u),
      c: Float32Array.from(p.head.c),
      v: Float32Array.from(p.head.v),
    },
  };
}

/** Embeddings of float32 feature rows with the float32 tail, as the exported graph computes them. */
export function embed(p: Params, rows: readonly Float32Array[]): Float64Array {
  const x = new Float64Array(rows.length * FEATURES);
  rows.forEach((r, i) => x.set(r, i * FEATURES));
  return forward(p, x, rows.length).out;
}
