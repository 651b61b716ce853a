/** Folder-mode identify's threshold and face_recognition's one-line-per-match output (issue 17). */
import { EMBEDDER_ID, embedderEntry } from '../entry/embed.js';
import {
  describeKnownThreshold,
  faceDistance,
  type KnownFace,
  knownThreshold,
  type KnownThreshold,
  openSetTable,
  type PersonDistance,
} from '../entry/match.js';
import { invalidArgument } from '../errors.js';
import { DISTANCE_DECIMALS, printLine, round, UNKNOWN_PERSON } from './output.js';

export type IdentifyThreshold = KnownThreshold;

/** --tolerance when given, else the built-in calibration at --far for the people in `known`. */
export function identifyThreshold(
  known: readonly KnownFace[],
  opts: { readonly tolerance?: number; readonly far?: number; readonly embedder?: string },
): IdentifyThreshold {
  const people = new Set(known.map((k) => k.name)).size;
  if (opts.embedder === undefined) return knownThreshold(EMBEDDER_ID, people, opts);
  const entry = embedderEntry(opts.embedder, '--embedder');
  if (openSetTable(entry.modelId) || opts.tolerance !== undefined) return knownThreshold(entry.modelId, people, opts);
  // A tuned embedder has no built-in open-set table: its own threshold, from its validation people.
  if (opts.far !== undefined)
    throw invalidArgument(
      'far',
      `embedder "${entry.name}" has no built-in open-set calibration; give --tolerance (its own threshold is ${entry.thresholds.match})`,
    );
  return knownThreshold(entry.modelId, people, { tolerance: entry.thresholds.match });
}

export const describeThreshold = describeKnownThreshold;

/** Every known photo within `threshold` of `probe`, in the known photos' order (face_recognition's). */
export function matchesWithin(known: readonly KnownFace[], probe: Float32Array, threshold: number): PersonDistance[] {
  const distances = faceDistance(
    known.map((k) => k.descriptor),
    probe,
  );
  return known.flatMap((k, i) =>
    distances[i] <= threshold ? [{ name: k.name, distance: round(distances[i], DISTANCE_DECIMALS) }] : [],
  );
}

/**
 * face_recognition's CLI lines: `file,name[,distance]` for every known photo within the
 * threshold, `file,unknown_person[,None]` for a face matching none.
 */
export function printAllMatches(
  file: string,
  faces: readonly { readonly matches?: readonly PersonDistance[] }[],
  showDistance: boolean,
): void {
  for (const f of faces) {
    const matches = f.matches ?? [];
    if (matches.length === 0) printLine(showDistance ? `${file},${UNKNOWN_PERSON},None` : `${file},${UNKNOWN_PERSON}`);
    for (const m of matches)
      printLine(showDistance ? `${file},${m.name},${m.distance.toFixed(DISTANCE_DECIMALS)}` : `${file},${m.name}`);
  }
}
