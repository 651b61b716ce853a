/**
 * 1:N identification against a list of known faces, with honest unknowns (issue 17): a face is
 * named after its nearest known person only within a threshold that accounts for how many people
 * were searched (the built-in open-set calibration, src/match/open-set.ts), unless the caller
 * gives a tolerance (face_recognition's 0.6 is one option away).
 */
import { invalidArgument } from '../errors.js';
import { euclideanDistance } from './distance.js';
import { DEFAULT_OPEN_SET_FAR, openSetThreshold } from './open-set.js';

/**
 * Tolerances at or above this name everyone: on LFW no two photos of different people were
 * farther apart than about 1.2 (bench/openset.ts prints the largest impostor distance).
 */
export const MAX_TOLERANCE = 1.5;

export function checkTolerance(value: unknown, field = 'tolerance'): number {
  if (typeof value !== 'number' || !(value > 0 && value <= MAX_TOLERANCE))
    throw invalidArgument(
      field,
      `must be a number above 0 and at most ${MAX_TOLERANCE}, e.g. 0.6 (lower is stricter), got ${String(value)}`,
    );
  return value;
}

export interface IdentifyFacesOptions {
  /** A fixed distance threshold (face_recognition's `tolerance`): overrides the built-in calibration. */
  readonly tolerance?: number;
  /** Share of strangers allowed a known person's name (default DEFAULT_OPEN_SET_FAR), with the built-in calibration. */
  readonly far?: number;
}

/** The threshold in force for a search, and where it came from. */
export interface KnownThreshold {
  readonly value: number;
  readonly source: 'option' | 'builtin';
  /** Target share of strangers named; null for a tolerance the caller gave. */
  readonly far: number | null;
  readonly knownPeople: number;
}

/** The threshold for searching `knownPeople` people with `embedder`'s descriptors. */
export function knownThreshold(
  embedder: string,
  knownPeople: number,
  options: IdentifyFacesOptions = {},
): KnownThreshold {
  if (options.tolerance !== undefined) {
    if (options.far !== undefined) throw invalidArgument('far', 'give a tolerance or a false-accept rate, not both');
    return { value: checkTolerance(options.tolerance), source: 'option', far: null, knownPeople };
  }
  const t = openSetThreshold(embedder, knownPeople, options.far ?? DEFAULT_OPEN_SET_FAR);
  return { value: t.value, source: 'builtin', far: t.far, knownPeople };
}

/** How output names the threshold in force. */
export function describeKnownThreshold(t: KnownThreshold): string {
  if (t.source === 'option') return `tolerance ${t.value} (given): strangers are not accounted for`;
  const pct = `${+((t.far as number) * 100).toPrecision(3)}%`;
  return `threshold ${t.value.toFixed(3)}: at most ${pct} of strangers get a known name, with ${t.knownPeople} known ${t.knownPeople === 1 ? 'person' : 'people'} (built-in calibration; --far sets the rate, --tolerance 0.6 answers as face_recognition)`;
}

export interface Identity {
  /** The nearest known person when within the threshold, else null (unknown). */
  readonly name: string | null;
  /** Distance to the nearest known face. */
  readonly distance: number;
  /** The nearest known person whatever the distance. */
  readonly nearest: string;
  readonly threshold: KnownThreshold;
}

function checkKnown(known: readonly Float32Array[], names: readonly string[]): void {
  if (!Array.isArray(known) || known.length === 0)
    throw invalidArgument('known', 'needs at least one known face descriptor');
  if (!Array.isArray(names) || names.length !== known.length)
    throw invalidArgument(
      'names',
      `needs one name per known face (${known.length}), got ${Array.isArray(names) ? names.length : typeof names}`,
    );
  known.forEach((d, i) => {
    if (!(d instanceof Float32Array) || d.length !== known[0].length)
      throw invalidArgument(`known[${i}]`, `must be a Float32Array of ${known[0].length} numbers`);
  });
}

/**
 * Who each probe face is: the nearest of the known faces (`names[i]` is the person of `known[i]`,
 * a person may have several), named when within the threshold for this many known people.
 */
export function identifyFaces(
  known: readonly Float32Array[],
  names: readonly string[],
  probes: readonly Float32Array[],
  options: IdentifyFacesOptions & { readonly embedder?: string } = {},
): Identity[] {
  checkKnown(known, names);
  const threshold = knownThreshold(options.embedder ?? 'dlib_resnet128', new Set(names).size, options);
  return probes.map((probe, p) => {
    if (!(probe instanceof Float32Array) || probe.length !== known[0].length)
      throw invalidArgument(`probes[${p}]`, `must be a Float32Array of ${known[0].length} numbers`);
    let best = 0;
    let distance = Number.POSITIVE_INFINITY;
    known.forEach((k, i) => {
      const d = euclideanDistance(k, probe);
      if (d < distance) [best, distance] = [i, d];
    });
    return { name: distance <= threshold.value ? names[best] : null, distance, nearest: names[best], threshold };
  });
}
