/**
 * Open-set thresholds from data: the distance below which strangers are accepted at a chosen
 * false-accept rate (FAR), measured on impostor distances (faces of different people), and the
 * confidences that those distributions give an answer.
 *
 * Two rates matter and differ by orders of magnitude: a pair FAR (1:1, one stranger against one
 * face: `verify`) and a search FAR (1:N, one stranger against a whole gallery: `identify`, where
 * the nearest of N impostors decides). A gallery of 1,000 people at a pair FAR of 0.001 accepts
 * most strangers, so identification uses the search threshold, measured by searching the gallery
 * with faces of people left out of it.
 */
import { seededRandom } from '../align/jitter.js';
import { FaceKitError, invalidArgument } from '../errors.js';

/** A threshold for rate f needs at least this many impostors expected below it, i.e. n >= 5 / f; fewer gives a threshold set by one or two outliers. */
export const MIN_EXPECTED_FALSE_ACCEPTS = 5;
/** Impostor pairs measured at most: 2M distances take well under a second and pin a 1e-5 FAR to ±15%. */
export const MAX_IMPOSTOR_PAIRS = 2_000_000;
export const MAX_GENUINE_PAIRS = 200_000;
/** Search probes at most: each is a full search of the gallery; 20k supports a search FAR down to 2.5e-4. */
export const MAX_SEARCH_PROBES = 20_000;
/**
 * Stored impostor distances: the smallest ones, up to 10× the count below the threshold (so the
 * confidence of any match, and of thresholds a little looser, is exact), at least 1,000, at most 100,000.
 */
const TAIL_FACTOR = 10;
const MIN_TAIL = 1000;
const MAX_TAIL = 100_000;
/** Same-person distances are kept as this many quantiles: the confidence of "unknown" needs their shape, not every value. */
const GENUINE_QUANTILES = 2000;
/** Fixed seed: the same gallery calibrates to the same threshold every time. */
export const CALIBRATION_SEED = 0xca11b;

/** Sorted distances and the count of the population they describe (the tail of it, or quantiles of it). */
export interface DistanceSample {
  readonly sorted: Float32Array;
  readonly total: number;
}

export function checkFar(far: unknown, field = 'far'): number {
  if (typeof far !== 'number' || !Number.isFinite(far) || far <= 0 || far >= 0.5) {
    throw invalidArgument(
      field,
      `a false-accept rate must be a number above 0 and below 0.5 (e.g. 0.001), got ${String(far)}`,
    );
  }
  return far;
}

/** How many sorted values are <= x. */
function countAtMost(sorted: Float32Array, x: number): number {
  let lo = 0,
    hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The largest threshold at which at most `far` of the impostor distances are accepted (accept
 * means distance <= threshold): halfway between the last accepted and the first refused
 * distance. Throws CALIBRATION_TOO_FEW when there are fewer than 5 / far distances.
 */
export function thresholdForFar(sortedImpostors: Float32Array, far: number, what = 'impostor pairs'): number {
  checkFar(far);
  const n = sortedImpostors.length;
  const needed = Math.ceil(MIN_EXPECTED_FALSE_ACCEPTS / far);
  if (n < needed) {
    throw new FaceKitError(
      'CALIBRATION_TOO_FEW',
      `a false-accept rate of ${far} needs at least ${needed} ${what}; there are ${n}: enrol more people, calibrate on a larger labelled folder (--from), or ask for a larger rate`,
      { field: 'far' },
    );
  }
  const m = Math.floor(far * n);
  // Ties: step back until the accepted count really stays at or below m.
  let k = m;
  while (k > 0 && sortedImpostors[k - 1] === sortedImpostors[k]) k--;
  if (k === 0) return sortedImpostors[0] * (1 - Number.EPSILON * 4);
  return (sortedImpostors[k - 1] + sortedImpostors[k]) / 2;
}

/** The part of a sorted impostor sample worth storing for rate `far` (see TAIL_FACTOR). */
export function impostorTail(sorted: Float32Array, far: number): DistanceSample {
  const keep = Math.min(sorted.length, MAX_TAIL, Math.max(MIN_TAIL, Math.ceil(TAIL_FACTOR * far * sorted.length)));
  return { sorted: sorted.slice(0, keep), total: sorted.length };
}

/** Evenly spaced order statistics of a sorted sample: its shape in a bounded size. */
export function quantiles(sorted: Float32Array, count = GENUINE_QUANTILES): DistanceSample {
  if (sorted.length <= count) return { sorted: sorted.slice(), total: sorted.length };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = sorted[Math.round((i * (sorted.length - 1)) / (count - 1))];
  return { sorted: out, total: sorted.length };
}

/**
 * Share of impostors at distance <= d. Past the stored tail it is at least the tail's share; the
 * value returned there is that lower bound.
 */
export function falseAcceptRate(impostors: DistanceSample, d: number): number {
  return impostors.total === 0 ? 0 : countAtMost(impostors.sorted, d) / impostors.total;
}

/**
 * Confidence of an answer at distance d, from the calibration's distributions:
 * - a match: 1 − FAR(d), the share of impostors (strangers) that stay farther away than d;
 * - no match: the share of same-person distances below d, i.e. how rarely the person themselves
 *   would look this different; null when the calibration saw no same-person pair.
 */
export function answerConfidence(
  accepted: boolean,
  d: number,
  impostors: DistanceSample,
  genuine: DistanceSample,
): number | null {
  if (accepted) return 1 - falseAcceptRate(impostors, d);
  const g = genuine.sorted;
  if (g.length === 0) return null;
  // Strictly below d: a genuine distance equal to d would have been accepted.
  let lo = 0,
    hi = g.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (g[mid] < d) lo = mid + 1;
    else hi = mid;
  }
  return lo / g.length;
}

/** Labelled descriptors: one label per row, and each row's descriptor (all of one length). */
export interface Labelled {
  readonly labels: Int32Array;
  row(i: number): Float32Array;
}

function dist(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) {
    const t = a[k] - b[k];
    s += t * t;
  }
  return Math.sqrt(s);
}

/**
 * Impostor and genuine pair distances of a labelled set, each sorted: every pair when there are at
 * most MAX_IMPOSTOR_PAIRS (MAX_GENUINE_PAIRS), else that many random pairs, reproducibly.
 */
export function pairDistances(set: Labelled): { impostors: Float32Array; genuine: Float32Array } {
  const n = set.labels.length;
  const { labels } = set;
  const row = (i: number) => set.row(i);
  const sizes = new Map<number, number[]>();
  labels.forEach((l, i) => {
    const rows = sizes.get(l) ?? [];
    rows.push(i);
    sizes.set(l, rows);
  });
  const groups = [...sizes.values()];
  const genuineTotal = groups.reduce((s, g) => s + (g.length * (g.length - 1)) / 2, 0);
  const impostorTotal = (n * (n - 1)) / 2 - genuineTotal;
  const rnd = seededRandom(CALIBRATION_SEED);

  let impostors: Float32Array;
  if (impostorTotal <= MAX_IMPOSTOR_PAIRS) {
    impostors = new Float32Array(impostorTotal);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const a = row(i);
      for (let j = i + 1; j < n; j++) if (labels[i] !== labels[j]) impostors[k++] = dist(a, row(j));
    }
  } else {
    impostors = new Float32Array(MAX_IMPOSTOR_PAIRS);
    for (let k = 0; k < MAX_IMPOSTOR_PAIRS; ) {
      const i = Math.floor(rnd() * n),
        j = Math.floor(rnd() * n);
      if (labels[i] !== labels[j]) impostors[k++] = dist(row(i), row(j));
    }
  }

  let genuine: Float32Array;
  if (genuineTotal <= MAX_GENUINE_PAIRS) {
    genuine = new Float32Array(genuineTotal);
    let k = 0;
    for (const g of groups)
      for (let a = 0; a < g.length; a++)
        for (let b = a + 1; b < g.length; b++) genuine[k++] = dist(row(g[a]), row(g[b]));
  } else {
    // Pick a group in proportion to its pair count, then a pair in it: uniform over all same-person pairs.
    const multi = groups.filter((g) => g.length > 1);
    const cum: number[] = [];
    let acc = 0;
    for (const g of multi) {
      acc += (g.length * (g.length - 1)) / 2;
      cum.push(acc);
    }
    genuine = new Float32Array(MAX_GENUINE_PAIRS);
    for (let k = 0; k < MAX_GENUINE_PAIRS; ) {
      const x = rnd() * acc;
      let lo = 0,
        hi = cum.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cum[mid] > x) hi = mid;
        else lo = mid + 1;
      }
      const g = multi[lo];
      const a = Math.floor(rnd() * g.length),
        b = Math.floor(rnd() * g.length);
      if (a !== b) genuine[k++] = dist(row(g[a]), row(g[b]));
    }
  }
  return { impostors: impostors.sort(), genuine: genuine.sort() };
}

/** Up to `max` distinct indices below n, reproducibly shuffled (all of them when n <= max). */
export function sampleIndices(n: number, max: number, seed = CALIBRATION_SEED): Int32Array {
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const rnd = seededRandom(seed);
  const m = Math.min(n, max);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rnd() * (n - i));
    const t = all[i];
    all[i] = all[j];
    all[j] = t;
  }
  return all.slice(0, m);
}
