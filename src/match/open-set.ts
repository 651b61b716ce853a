/**
 * Built-in open-set thresholds: how far a face may be from its nearest known person and still be
 * called that person, so that a chosen share `far` of strangers (people not among the known) get
 * a known person's name. A stranger searched against N known people meets N impostors, so a 1:1
 * threshold (face_recognition's 0.6) names far more strangers than its own rate: with 150 known
 * LFW people, 0.6 named 83 of 200 strangers (issue 17). Here the threshold shrinks with N.
 *
 * Two measurements per embedder, both on LFW people kept apart from the ones the thresholds are
 * checked on (bench/openset.ts writes them to open-set-table.ts):
 * - the impostor table: the distance below which a share p of impostor pairs (two photos of two
 *   different people) lie, for p from 1e-6 up;
 * - the search table: for N known people (one photo each) and a target rate far, the distance
 *   below which a share far of strangers' nearest known face lies — the threshold itself,
 *   measured, for N from 1 to 1000.
 *
 * A stranger's distances to N people are correlated (a face far from one is far from many), so
 * they act as fewer than N independent comparisons. The search table is read as that number
 * N_eff, solved from 1 − (1 − p(threshold))^N_eff = far; then for any N and far:
 *
 *   N_eff = the table's, log-log interpolated between measured points (see effectivePeople),
 *   pair rate p = 1 − (1 − far)^(1/N_eff),   threshold = the impostor table's distance at p.
 *
 * At the measured points this gives the measured threshold; between them it interpolates; past
 * 1000 people it extrapolates with N_eff / N held, below the smallest measured rate with N_eff held.
 * The independence rule alone (N_eff = N, issue 17's first version) met under half its target rate
 * and called a quarter of known people unknown; README "Unknown faces" has both tables.
 */
import { checkFar } from './calibrate.js';
import { OPEN_SET_TABLES } from './open-set-table.js';

/** One embedder's measured distances (bench/openset.ts writes them to open-set-table.ts). */
export interface OpenSetTable {
  readonly embedder: string;
  /** How the tables were made: data, pairs, people, draws. */
  readonly made: string;
  /** Impostor table: distances (increasing) at or below which a share `pairFar` (increasing) of impostor pairs lie. */
  readonly distances: readonly number[];
  readonly pairFar: readonly number[];
  /** Search table: known-people counts measured (increasing, the first is 1)… */
  readonly knownPeople: readonly number[];
  /** …target rates measured (increasing)… */
  readonly searchFar: readonly number[];
  /** …and the measured threshold for each: searchDistances[i][j] for knownPeople[i], searchFar[j]. */
  readonly searchDistances: readonly (readonly number[])[];
}

/**
 * The target share of strangers named as someone known, where nothing else is said. Measured
 * (bench/openset.ts: 50 draws of 150 known LFW people and 200 strangers, people the tables never
 * saw): 1.6% of strangers named, 79.9% of known people recognised; 1.4–1.6% named from 10 to 500
 * known people. 0.01 named 0.6% and recognised 71.3%; 0.05 named 4.4% and recognised 87.8%.
 */
export const DEFAULT_OPEN_SET_FAR = 0.02;

/** A threshold from the built-in calibration, with what it stands for. */
export interface OpenSetThreshold {
  readonly value: number;
  /** Target share of strangers named as someone known. */
  readonly far: number;
  /** Known people it was computed for. */
  readonly knownPeople: number;
  /** How many independent comparisons searching them is worth (N_eff, from the search table). */
  readonly effectivePeople: number;
  /** The per-comparison rate that gives `far` over `effectivePeople` comparisons. */
  readonly pairFar: number;
  /** True when pairFar lies below the impostor table's smallest rate: the threshold is the table's smallest distance, stricter than needed. */
  readonly clamped: boolean;
  readonly source: 'builtin';
}

/** The per-comparison false-accept rate that gives `far` over `comparisons` independent comparisons. */
export function pairRateFor(far: number, comparisons: number): number {
  return -Math.expm1(Math.log1p(-far) / comparisons);
}

/** The embedder's table, or undefined for an embedder without one. */
export function openSetTable(embedder: string): OpenSetTable | undefined {
  return OPEN_SET_TABLES.find((t) => t.embedder === embedder);
}

/** Where x falls on an increasing grid, in log space: [lower index, weight of the upper one], held at the ends. */
function logPosition(grid: readonly number[], x: number): [number, number] {
  if (x <= grid[0]) return [0, 0];
  const last = grid.length - 1;
  if (x >= grid[last]) return [last, 0];
  let i = 1;
  while (grid[i] < x) i++;
  return [i - 1, (Math.log(x) - Math.log(grid[i - 1])) / (Math.log(grid[i]) - Math.log(grid[i - 1]))];
}

/** Log-linear from `xs` to `ys` (both increasing), held at the ends. */
function logLinear(xs: readonly number[], ys: readonly number[], x: number): number {
  const [i, w] = logPosition(xs, x);
  return w === 0 ? ys[i] : ys[i] + w * (ys[i + 1] - ys[i]);
}

/** The impostor table's distance at pair rate p, and whether p lay below the table. */
function pairDistance(table: Pick<OpenSetTable, 'distances' | 'pairFar'>, p: number): [number, boolean] {
  return [logLinear(table.pairFar, table.distances, p), p < table.pairFar[0]];
}

/** The impostor table read backwards: the pair rate at distance d (log-linear in the rate). */
function pairRateAt(table: Pick<OpenSetTable, 'distances' | 'pairFar'>, d: number): number {
  const { distances, pairFar } = table;
  if (d <= distances[0]) return pairFar[0];
  const last = distances.length - 1;
  if (d >= distances[last]) return pairFar[last];
  let i = 1;
  while (distances[i] < d) i++;
  if (distances[i] === distances[i - 1]) return pairFar[i];
  const w = (d - distances[i - 1]) / (distances[i] - distances[i - 1]);
  return Math.exp(Math.log(pairFar[i - 1]) + w * (Math.log(pairFar[i]) - Math.log(pairFar[i - 1])));
}

/** N_eff at a measured point: how many independent comparisons searching knownPeople[i] people is worth at searchFar[j]. */
function measuredEffective(table: OpenSetTable, i: number, j: number): number {
  const p = pairRateAt(table, table.searchDistances[i][j]);
  return Math.log1p(-table.searchFar[j]) / Math.log1p(-p);
}

/**
 * N_eff for n people at rate far: log N_eff bilinear in (log n, log far) between measured points
 * (so it grows with n as the measured points do), rates held at the table's edges; past the
 * largest count measured, N_eff grows in proportion to n (N_eff / n held).
 */
export function effectivePeople(table: OpenSetTable, n: number, far: number): number {
  const nMax = table.knownPeople[table.knownPeople.length - 1];
  const [i, wi] = logPosition(table.knownPeople, Math.min(n, nMax));
  const [j, wj] = logPosition(table.searchFar, far);
  const at = (a: number, b: number) => Math.log(measuredEffective(table, a, b));
  const row = (a: number) => (wj === 0 ? at(a, j) : (1 - wj) * at(a, j) + wj * at(a, j + 1));
  const logEffective = wi === 0 ? row(i) : (1 - wi) * row(i) + wi * row(i + 1);
  return Math.exp(logEffective) * Math.max(1, n / nMax);
}

/**
 * The distance threshold for `far` with `knownPeople` people searched (at least 1), from the
 * embedder's built-in tables (see the top of this file). `independent: true` ignores the search
 * table (N_eff = N): the first version's rule, kept for the benchmark's before/after.
 */
export function openSetThreshold(
  embedder: string,
  knownPeople: number,
  far = DEFAULT_OPEN_SET_FAR,
  table: OpenSetTable | undefined = openSetTable(embedder),
  independent = false,
): OpenSetThreshold {
  checkFar(far);
  if (!table) throw new Error(`no built-in open-set calibration for embedder ${embedder}`);
  const n = Math.max(1, Math.floor(knownPeople));
  const comparisons = independent ? n : effectivePeople(table, n, far);
  const p = pairRateFor(far, comparisons);
  const [value, clamped] = pairDistance(table, p);
  return { value, far, knownPeople: n, effectivePeople: comparisons, pairFar: p, clamped, source: 'builtin' };
}

/** "a 1% false-accept rate over 150 known people": how output names the threshold in force. */
export function describeOpenSet(t: OpenSetThreshold): string {
  const pct = `${+(t.far * 100).toPrecision(3)}%`;
  return `threshold ${t.value.toFixed(3)} for at most ${pct} of strangers named, with ${t.knownPeople} known ${t.knownPeople === 1 ? 'person' : 'people'} (built-in calibration${t.clamped ? ', at its strictest point' : ''})`;
}
