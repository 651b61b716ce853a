import { invalidArgument } from '../errors.js';

/**
 * Metric-learning losses over one batch of embeddings, with their gradients by hand (checked
 * against finite differences in test/train-loss.test.ts). Distances are plain euclidean, the
 * metric dlib's network was trained for and facekit matches with.
 */

export type Mining = 'batch-hard' | 'semi-hard' | 'dlib-pair';
export const MININGS: readonly Mining[] = ['batch-hard', 'semi-hard', 'dlib-pair'];

export interface LossOptions {
  /** Triplets: d(a,n) must exceed d(a,p) by this. Default 0.2 (distances of dlib's space: same ≈ 0.35, other ≈ 0.8). */
  readonly margin?: number;
  /** dlib-pair: the distance that separates same from other (dlib: 0.6). */
  readonly threshold?: number;
  /** dlib-pair: the band around the threshold each pair must clear (dlib: 0.04). */
  readonly pairMargin?: number;
}

export interface BatchLoss {
  readonly loss: number;
  /** dLoss/dEmbedding, n × d, row-major. */
  readonly grad: Float64Array;
  /** Share of the mined triplets (pairs for dlib-pair) with a non-zero loss. */
  readonly active: number;
  /** Mean distance over every same-person and every different-person pair of the batch. */
  readonly meanPositive: number;
  readonly meanNegative: number;
}

export const DEFAULT_MARGIN = 0.2;
export const DLIB_PAIR_THRESHOLD = 0.6;
export const DLIB_PAIR_MARGIN = 0.04;

/** Euclidean distance between rows i and j of `e` (rows of d values). */
export function rowDistance(e: Float64Array, d: number, i: number, j: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) {
    const t = e[i * d + k] - e[j * d + k];
    s += t * t;
  }
  return Math.sqrt(s);
}

/** n × n euclidean distances between the rows of `e` (n × d). */
export function distanceMatrix(e: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out[i * n + j] = out[j * n + i] = rowDistance(e, d, i, j);
  return out;
}

/** Adds `w · ∂d(i,j)/∂e` to grad: ±(e_i − e_j)/d(i,j); nothing at d = 0, where the distance has no gradient. */
function addDistanceGrad(
  grad: Float64Array,
  e: Float64Array,
  d: number,
  i: number,
  j: number,
  dist: number,
  w: number,
) {
  if (dist === 0 || w === 0) return;
  const s = w / dist;
  for (let k = 0; k < d; k++) {
    const g = s * (e[i * d + k] - e[j * d + k]);
    grad[i * d + k] += g;
    grad[j * d + k] -= g;
  }
}

function pairMeans(dist: Float64Array, labels: ArrayLike<number>, n: number): [number, number] {
  let sp = 0,
    np = 0,
    sn = 0,
    nn = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      if (labels[i] === labels[j]) {
        sp += dist[i * n + j];
        np++;
      } else {
        sn += dist[i * n + j];
        nn++;
      }
    }
  return [np ? sp / np : 0, nn ? sn / nn : 0];
}

type Triplet = readonly [anchor: number, positive: number, negative: number];

/** Batch-hard (Hermans et al.): each anchor with its farthest positive and nearest negative. */
function mineBatchHard(labels: ArrayLike<number>, n: number, dist: Float64Array): Triplet[] {
  const out: Triplet[] = [];
  for (let a = 0; a < n; a++) {
    let p = -1,
      q = -1;
    for (let j = 0; j < n; j++) {
      if (j === a) continue;
      if (labels[j] === labels[a]) {
        if (p < 0 || dist[a * n + j] > dist[a * n + p]) p = j;
      } else if (q < 0 || dist[a * n + j] < dist[a * n + q]) q = j;
    }
    if (p >= 0 && q >= 0) out.push([a, p, q]);
  }
  return out;
}

/**
 * Semi-hard (FaceNet): every anchor-positive pair with the nearest negative farther than the
 * positive; where no negative is farther, the farthest one.
 */
function mineSemiHard(labels: ArrayLike<number>, n: number, dist: Float64Array): Triplet[] {
  const out: Triplet[] = [];
  for (let a = 0; a < n; a++)
    for (let p = 0; p < n; p++) {
      if (p === a || labels[p] !== labels[a]) continue;
      const dap = dist[a * n + p];
      let semi = -1,
        far = -1;
      for (let j = 0; j < n; j++) {
        if (labels[j] === labels[a]) continue;
        const dan = dist[a * n + j];
        if (dan > dap && (semi < 0 || dan < dist[a * n + semi])) semi = j;
        if (far < 0 || dan > dist[a * n + far]) far = j;
      }
      const q = semi >= 0 ? semi : far;
      if (q >= 0) out.push([a, p, q]);
    }
  return out;
}

/** Mean over the mined triplets of max(0, margin + d(a,p) − d(a,n)), and its gradient. */
function tripletHinge(
  triplets: readonly Triplet[],
  e: Float64Array,
  n: number,
  d: number,
  margin: number,
  dist: Float64Array,
) {
  const grad = new Float64Array(n * d);
  if (triplets.length === 0) return { loss: 0, grad, triplets: 0, active: 0 };
  const w = 1 / triplets.length;
  let loss = 0,
    active = 0;
  for (const [a, p, q] of triplets) {
    const l = margin + dist[a * n + p] - dist[a * n + q];
    if (l <= 0) continue;
    loss += l;
    active++;
    addDistanceGrad(grad, e, d, a, p, dist[a * n + p], w);
    addDistanceGrad(grad, e, d, a, q, dist[a * n + q], -w);
  }
  return { loss: loss * w, grad, triplets: triplets.length, active };
}

/**
 * dlib's loss_metric, written from its description: a same-person pair costs
 * max(0, d − (threshold − margin)), a different-person pair max(0, threshold + margin − d); every
 * same-person pair counts, and only as many different-person pairs as there are same-person ones,
 * the costliest (hard negative mining). Loss = their sum / (2 × same-person pairs).
 */
function dlibPair(
  e: Float64Array,
  labels: ArrayLike<number>,
  n: number,
  d: number,
  threshold: number,
  margin: number,
  dist: Float64Array,
) {
  const grad = new Float64Array(n * d);
  const pos: [number, number, number][] = [];
  const neg: [number, number, number][] = [];
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const dij = dist[i * n + j];
      if (labels[i] === labels[j]) pos.push([i, j, Math.max(0, dij - (threshold - margin))]);
      else neg.push([i, j, Math.max(0, threshold + margin - dij)]);
    }
  if (pos.length === 0) return { loss: 0, grad, triplets: 0, active: 0 };
  // Ties broken by pair order so the choice, and so the run, is reproducible.
  const hardest = neg.sort((x, y) => y[2] - x[2]).slice(0, pos.length);
  const scale = 1 / (2 * pos.length);
  let loss = 0,
    active = 0;
  for (const [i, j, l] of pos)
    if (l > 0) {
      loss += l;
      active++;
      addDistanceGrad(grad, e, d, i, j, dist[i * n + j], scale);
    }
  for (const [i, j, l] of hardest)
    if (l > 0) {
      loss += l;
      active++;
      addDistanceGrad(grad, e, d, i, j, dist[i * n + j], -scale);
    }
  return { loss: loss * scale, grad, triplets: pos.length + hardest.length, active };
}

/** The loss of one batch: `e` holds n embeddings of d values (row-major), `labels` their people. */
export function batchLoss(
  mining: Mining,
  e: Float64Array,
  labels: ArrayLike<number>,
  d: number,
  options: LossOptions = {},
): BatchLoss {
  const n = labels.length;
  if (e.length !== n * d) throw invalidArgument('embeddings', `expected ${n} × ${d} values, got ${e.length}`);
  const dist = distanceMatrix(e, n, d);
  const margin = options.margin ?? DEFAULT_MARGIN;
  const r =
    mining === 'batch-hard'
      ? tripletHinge(mineBatchHard(labels, n, dist), e, n, d, margin, dist)
      : mining === 'semi-hard'
        ? tripletHinge(mineSemiHard(labels, n, dist), e, n, d, margin, dist)
        : mining === 'dlib-pair'
          ? dlibPair(
              e,
              labels,
              n,
              d,
              options.threshold ?? DLIB_PAIR_THRESHOLD,
              options.pairMargin ?? DLIB_PAIR_MARGIN,
              dist,
            )
          : undefined;
  if (!r) throw invalidArgument('mining', `unknown mining "${String(mining)}" (use ${MININGS.join(', ')})`);
  const [meanPositive, meanNegative] = pairMeans(dist, labels, n);
  return {
    loss: r.loss,
    grad: r.grad,
    active: r.triplets ? r.active / r.triplets : 0,
    meanPositive,
    meanNegative,
  };
}
