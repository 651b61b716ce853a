import { seededRandom } from '../align/jitter.js';
import type { DlibLastStage, DlibTail } from '../models/dlibResnet128.js';
import { addColumnSums, addTransposedProduct, backThrough, matmul } from './matrix.js';
import {
  type StageForward,
  type StageParams,
  type StageRows,
  stageBackward,
  stageForward,
  stageParams,
  stageRows,
} from './stage.js';

/**
 * The trainable last layer over cached features, in float64: `e = f · W + b`, and for 'fc+head'
 * a residual head `e + relu(e · U + c) · V`. V starts at zero and W at the stock weights, so
 * training starts from exactly the stock embedder. 'last-stage' also trains dlib's last residual
 * block (stage.ts), reading the cached activations that enter it instead of the pooled features.
 */

export const FEATURES = 256;
export const DIMS = 128;
/** The head's hidden width: small, so the few photos a user has can tune it. */
export const HEAD_HIDDEN = 64;

export type TrainedPart = 'fc' | 'fc+head' | 'last-stage';
export const TRAINED_PARTS: readonly TrainedPart[] = ['fc', 'fc+head', 'last-stage'];

export interface Params {
  w: Float64Array;
  b: Float64Array;
  head?: { u: Float64Array; c: Float64Array; v: Float64Array };
  /** The last residual block, for 'last-stage'. */
  stage?: StageParams;
}

/** Where training starts: the stock last layer, and the stock last block when it is trained too. */
export interface StockWeights extends DlibTail {
  readonly lastStage?: DlibLastStage;
}

/** Seeded uniform [0, 1): the same seed gives the same run (the jitter's mulberry32). */
export const seeded = seededRandom;

export function initialParams(stock: StockWeights, part: TrainedPart, rnd: () => number): Params {
  const p: Params = { w: Float64Array.from(stock.fc), b: Float64Array.from(stock.bias) };
  if (part === 'last-stage') {
    if (!stock.lastStage) throw new Error("'last-stage' needs the stock last block (stockTail({ lastStage: true }))");
    p.stage = stageParams(stock.lastStage);
  }
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
  const out = [p.w, p.b];
  if (p.head) out.push(p.head.u, p.head.c, p.head.v);
  if (p.stage) out.push(p.stage.w1, p.stage.b1, p.stage.w2, p.stage.b2);
  return out;
}

/**
 * What the L2 pull draws each array of paramArrays(start) toward: its starting value (the stock
 * layer and block), or zero (null) for the head, which starts as "adds nothing".
 */
export function anchorTargets(start: Params): (Float64Array | null)[] {
  return paramArrays(start).map((a) =>
    start.head && (a === start.head.u || a === start.head.c || a === start.head.v) ? null : a,
  );
}

export function cloneParams(p: Params): Params {
  return {
    w: p.w.slice(),
    b: p.b.slice(),
    head: p.head && { u: p.head.u.slice(), c: p.head.c.slice(), v: p.head.v.slice() },
    stage: p.stage && {
      w1: p.stage.w1.slice(),
      b1: p.stage.b1.slice(),
      w2: p.stage.w2.slice(),
      b2: p.stage.b2.slice(),
    },
  };
}

export interface Forward {
  readonly out: Float64Array;
  readonly x: Float64Array;
  readonly e: Float64Array;
  readonly h?: Float64Array;
  readonly stage?: StageForward;
  readonly n: number;
}

/**
 * Embeddings of n feature rows (n × 256, row-major); with a trained block (`p.stage`) the
 * features come from `stage` (the rows' stage inputs) instead, and `x` is not read.
 */
export function forward(p: Params, x: Float64Array, n: number, stage?: StageRows): Forward {
  let sf: StageForward | undefined;
  if (p.stage) {
    if (!stage || stage.n !== n) throw new Error('a trained last block needs the stage inputs of every row');
    sf = stageForward(p.stage, stage);
    x = sf.features;
  }
  const e = matmul(x, p.w, n, FEATURES, DIMS, p.b);
  if (!p.head) return { out: e, x, e, n, stage: sf };
  const h = matmul(e, p.head.u, n, DIMS, HEAD_HIDDEN, p.head.c);
  for (let i = 0; i < h.length; i++) if (h[i] < 0) h[i] = 0;
  const out = matmul(h, p.head.v, n, HEAD_HIDDEN, DIMS);
  for (let i = 0; i < out.length; i++) out[i] += e[i];
  return { out, x, e, h, n, stage: sf };
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
  addColumnSums(grads.b, ge, n, DIMS);
  if (p.stage && f.stage) grads.stage = stageBackward(p.stage, f.stage, backThrough(ge, p.w, n, FEATURES, DIMS));
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

/** Rows processed at once by embed(): bounds the memory of a trained block's windows. */
const EMBED_CHUNK = 512;

/**
 * Embeddings of float32 feature rows, as the exported graph computes them; with a trained block,
 * of the rows' stage inputs (`stage`, same order) instead.
 */
export function embed(p: Params, rows: readonly Float32Array[], stage?: readonly Float32Array[]): Float64Array {
  const out = new Float64Array(rows.length * DIMS);
  for (let start = 0; start < rows.length; start += EMBED_CHUNK) {
    const part = rows.slice(start, start + EMBED_CHUNK);
    const x = new Float64Array(part.length * FEATURES);
    part.forEach((r, i) => x.set(r, i * FEATURES));
    const s = p.stage ? stageRows((stage ?? []).slice(start, start + EMBED_CHUNK)) : undefined;
    out.set(forward(p, x, part.length, s).out, start * DIMS);
  }
  return out;
}
