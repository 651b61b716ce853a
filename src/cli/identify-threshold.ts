/** Folder-mode identify's threshold and face_recognition's one-line-per-match output (issue 17). */
import { EMBEDDER_ID } from '../entry/embed.js';
import {
  describeKnownThreshold,
  faceDistance,
  type KnownFace,
  knownThreshold,
  type KnownThreshold,
  type PersonDistance,
} from '../entry/match.js';
import { DISTANCE_DECIMALS, printLine, round, UNKNOWN_PERSON } from './output.js';

export type IdentifyThreshold = KnownThreshold;

/** --tolerance when given, else the built-in calibration at --far for the people in `known`. */
export function identifyThreshold(
  known: readonly KnownFace[],
  opts: { readonly tolerance?: number; readonly far?: number },
): IdentifyThreshold {
  return knownThreshold(EMBEDDER_ID, new Set(known.map((k) => k.name)).size, opts);
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
