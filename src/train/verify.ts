import { rowDistance } from './loss.js';

/**
 * Verification scores from pair distances: the best balanced accuracy and its threshold, ROC
 * points, and the true-accept rate at a false-accept rate. Shared by the trainer's early stopping
 * and `facekit eval`.
 */

export interface RocPoint {
  readonly threshold: number;
  /** Share of different-person pairs at or under the threshold. */
  readonly far: number;
  /** Share of same-person pairs at or under the threshold. */
  readonly tar: number;
}

/** Distances of every same-person and every different-person pair of `e` (n × d rows). */
export function pairDistances(
  e: Float64Array,
  labels: ArrayLike<number>,
  d: number,
): { same: Float64Array; other: Float64Array } {
  const n = labels.length;
  const same: number[] = [];
  const other: number[] = [];
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) (labels[i] === labels[j] ? same : other).push(rowDistance(e, d, i, j));
  return { same: Float64Array.from(same), other: Float64Array.from(other) };
}

/** The ROC swept over every distinct distance, from threshold −∞ (nothing accepted) up. */
export function rocCurve(same: Float64Array, other: Float64Array): RocPoint[] {
  const s = same.slice().sort();
  const o = other.slice().sort();
  const points: RocPoint[] = [{ threshold: -Infinity, far: 0, tar: 0 }];
  let i = 0,
    j = 0;
  while (i < s.length || j < o.length) {
    const t = Math.min(i < s.length ? s[i] : Infinity, j < o.length ? o[j] : Infinity);
    while (i < s.length && s[i] === t) i++;
    while (j < o.length && o[j] === t) j++;
    points.push({ threshold: t, far: o.length ? j / o.length : 0, tar: s.length ? i / s.length : 0 });
  }
  return points;
}

/** Highest (TAR + 1 − FAR) / 2 and the threshold giving it: midway to the next distance. */
export function bestBalancedAccuracy(same: Float64Array, other: Float64Array): { accuracy: number; threshold: number } {
  const roc = rocCurve(same, other);
  let best = { accuracy: 0.5, threshold: 0 };
  for (let k = 1; k < roc.length; k++) {
    const acc = (roc[k].tar + 1 - roc[k].far) / 2;
    if (acc > best.accuracy) {
      const next = k + 1 < roc.length ? roc[k + 1].threshold : roc[k].threshold + 1e-3;
      best = { accuracy: acc, threshold: (roc[k].threshold + next) / 2 };
    }
  }
  return best;
}

/** Balanced accuracy at a given threshold. */
export function balancedAccuracyAt(same: Float64Array, other: Float64Array, threshold: number): number {
  let ts = 0,
    fo = 0;
  for (const x of same) if (x <= threshold) ts++;
  for (const x of other) if (x <= threshold) fo++;
  return (ts / Math.max(1, same.length) + 1 - fo / Math.max(1, other.length)) / 2;
}

/** TAR at the largest threshold whose FAR stays within `far`; NaN when too few different pairs to measure it. */
export function tarAtFar(roc: readonly RocPoint[], far: number, otherPairs: number): number {
  if (otherPairs * far < 1) return Number.NaN;
  let tar = 0;
  for (const p of roc) if (p.far <= far) tar = Math.max(tar, p.tar);
  return tar;
}
