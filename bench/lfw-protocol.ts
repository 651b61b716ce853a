/** The LFW View 2 protocol: pairs.txt parsing and 10-fold threshold cross-validation. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LfwPair {
  readonly fold: number;
  readonly same: boolean;
  readonly a: string;
  readonly b: string;
}

export function lfwImagePath(name: string, n: number): string {
  return join(name, `${name}_${String(n).padStart(4, '0')}.jpg`);
}

/** Parses pairs.txt ("folds perFold" header, then per fold perFold same + perFold different lines). */
export function parsePairs(text: string, source = 'pairs.txt'): LfwPair[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]?.trim().split(/\s+/).map(Number);
  if (header?.length !== 2 || header.some((x) => !Number.isInteger(x) || x <= 0))
    throw new Error(`${source}: first line must be "<folds> <pairs per class per fold>"`);
  const [folds, perFold] = header;
  // View 1 files (pairsDevTrain/Test) have a single count: one "fold" of that many same + different.
  const pairs: LfwPair[] = [];
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i].trim().split(/\s+/);
    const index = i - 1;
    const fold = Math.floor(index / (2 * perFold));
    const same = f.length === 3;
    if (f.length === 3)
      pairs.push({ fold, same, a: lfwImagePath(f[0], Number(f[1])), b: lfwImagePath(f[0], Number(f[2])) });
    else if (f.length === 4)
      pairs.push({ fold, same, a: lfwImagePath(f[0], Number(f[1])), b: lfwImagePath(f[2], Number(f[3])) });
    else throw new Error(`${source}:${i + 1}: expected 3 or 4 fields, got ${f.length}`);
  }
  if (pairs.length !== folds * perFold * 2)
    throw new Error(`${source}: expected ${folds * perFold * 2} pairs, found ${pairs.length}`);
  return pairs;
}

export function readPairs(lfwDir: string, file = 'pairs.txt'): LfwPair[] {
  return parsePairs(readFileSync(join(lfwDir, file), 'utf8'), join(lfwDir, file));
}

/** Accuracy of "same iff distance <= t"; a NaN distance (no face found) is always wrong. */
export function accuracyAt(distances: readonly number[], same: readonly boolean[], t: number): number {
  let ok = 0;
  for (let i = 0; i < distances.length; i++) if (!Number.isNaN(distances[i]) && distances[i] <= t === same[i]) ok++;
  return ok / distances.length;
}

/** Threshold maximising training accuracy: tried at midpoints between consecutive sorted distances. */
export function bestThreshold(distances: readonly number[], same: readonly boolean[]): number {
  const idx = distances
    .map((_d, i) => i)
    .filter((i) => !Number.isNaN(distances[i]))
    .sort((a, b) => distances[a] - distances[b]);
  // Sweep: start with threshold below everything (all "different"), move it past one pair at a time.
  let correct = idx.filter((i) => !same[i]).length;
  let best = correct;
  let bestT = idx.length ? distances[idx[0]] - 1e-6 : 0;
  for (let k = 0; k < idx.length; k++) {
    correct += same[idx[k]] ? 1 : -1;
    const next = k + 1 < idx.length ? distances[idx[k + 1]] : distances[idx[k]] + 1e-6;
    if (next === distances[idx[k]]) continue;
    if (correct > best) {
      best = correct;
      bestT = (distances[idx[k]] + next) / 2;
    }
  }
  return bestT;
}

export interface TenFoldResult {
  readonly foldAccuracies: number[];
  readonly thresholds: number[];
}

/** Standard LFW scoring: threshold from the other 9 folds, accuracy on the held-out one. */
export function tenFold(pairs: readonly LfwPair[], distances: readonly number[]): TenFoldResult {
  const folds = Math.max(...pairs.map((p) => p.fold)) + 1;
  const foldAccuracies: number[] = [];
  const thresholds: number[] = [];
  for (let f = 0; f < folds; f++) {
    const train = pairs.map((_p, i) => i).filter((i) => pairs[i].fold !== f);
    const test = pairs.map((_p, i) => i).filter((i) => pairs[i].fold === f);
    const t = bestThreshold(
      train.map((i) => distances[i]),
      train.map((i) => pairs[i].same),
    );
    thresholds.push(t);
    foldAccuracies.push(
      accuracyAt(
        test.map((i) => distances[i]),
        test.map((i) => pairs[i].same),
        t,
      ),
    );
  }
  return { foldAccuracies, thresholds };
}
