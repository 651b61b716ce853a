/**
 * Built-in open-set thresholds: how far a face may be from its nearest known person and still be
 * called that person, so that at most a chosen share of strangers (people not among the known)
 * get a known person's name. A stranger searched against N known people meets N impostors, so a
 * 1:1 threshold (face_recognition's 0.6) names far more strangers than its own rate: with 150 known
 * LFW people, 0.6 named 83 of 200 strangers (issue 17). Here the threshold shrinks with N:
 *
 *   pair rate p = 1 − (1 − far)^(1/N),   threshold = the distance below which a share p of
 *   impostor pairs lie (the embedder's table, measured on LFW: bench/openset.ts).
 *
 * Treating the N comparisons as independent over-counts false accepts (a stranger's distances to
 * different people are correlated), so the rate actually met is at most the target; the table's
 * note in open-set-table.ts gives the measured one.
 */
import { checkFar } from './calibrate.js';
import { OPEN_SET_TABLES } from './open-set-table.js';

/**
 * One embedder's impostor distances (bench/openset.ts writes them to open-set-table.ts): the
 * distance at or below which a share `pairFar` of impostor pairs (two photos of two different
 * people) lie, measured on LFW through the public API.
 */
export interface OpenSetTable {
  readonly embedder: string;
  /** How the table was made: data, pairs, people. */
  readonly made: string;
  /** Increasing. */
  readonly distances: readonly number[];
  /** Increasing. */
  readonly pairFar: readonly number[];
}

/**
 * The target share of strangers named as someone known, where nothing else is said. Measured
 * (bench/openset.ts, 150 known LFW people, 200 strangers, 50 draws): 0.02 named 0.7% of strangers
 * and recognised 74.5% of the known; 0.01 named 0.3% but recognised 64.8%; 0.05 named 2.6%. The
 * bound is conservative (see above), so 0.02 keeps the rate met under 1%.
 */
export const DEFAULT_OPEN_SET_FAR = 0.02;

/** A threshold from the built-in calibration, with what it stands for. */
export interface OpenSetThreshold {
  readonly value: number;
  /** Target share of strangers named as someone known. */
  readonly far: number;
  /** Known people it was computed for. */
  readonly knownPeople: number;
  /** The per-comparison rate that gives `far` over `knownPeople` people. */
  readonly pairFar: number;
  /** True when pairFar lies below the table's smallest measured rate: the threshold is the table's smallest distance, stricter than needed. */
  readonly clamped: boolean;
  readonly source: 'builtin';
}

/** The per-comparison false-accept rate that gives `far` over `knownPeople` independent comparisons. */
export function pairRateFor(far: number, knownPeople: number): number {
  return -Math.expm1(Math.log1p(-far) / knownPeople);
}

/** The embedder's table, or undefined for an embedder without one. */
export function openSetTable(embedder: string): OpenSetTable | undefined {
  return OPEN_SET_TABLES.find((t) => t.embedder === embedder);
}

/**
 * The distance threshold for `far` with `knownPeople` people searched (at least 1), from the
 * embedder's built-in table: log-linear between the table's points.
 */
export function openSetThreshold(
  embedder: string,
  knownPeople: number,
  far = DEFAULT_OPEN_SET_FAR,
  table: Pick<OpenSetTable, 'distances' | 'pairFar'> | undefined = openSetTable(embedder),
): OpenSetThreshold {
  checkFar(far);
  if (!table) throw new Error(`no built-in open-set calibration for embedder ${embedder}`);
  const n = Math.max(1, Math.floor(knownPeople));
  const p = pairRateFor(far, n);
  const { distances, pairFar } = table;
  const base = { far, knownPeople: n, pairFar: p, source: 'builtin' } as const;
  if (p <= pairFar[0]) return { ...base, value: distances[0], clamped: p < pairFar[0] };
  const last = pairFar.length - 1;
  if (p >= pairFar[last]) return { ...base, value: distances[last], clamped: false };
  let i = 1;
  while (pairFar[i] < p) i++;
  const t = (Math.log(p) - Math.log(pairFar[i - 1])) / (Math.log(pairFar[i]) - Math.log(pairFar[i - 1]));
  return { ...base, value: distances[i - 1] + t * (distances[i] - distances[i - 1]), clamped: false };
}

/** "a 1% false-accept rate over 150 known people": how output names the threshold in force. */
export function describeOpenSet(t: OpenSetThreshold): string {
  const pct = `${+(t.far * 100).toPrecision(3)}%`;
  return `threshold ${t.value.toFixed(3)} for at most ${pct} of strangers named, with ${t.knownPeople} known ${t.knownPeople === 1 ? 'person' : 'people'} (built-in calibration${t.clamped ? ', at its strictest point' : ''})`;
}
