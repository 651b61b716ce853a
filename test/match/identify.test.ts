import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FaceKitError } from '../../src/errors.js';
import { checkTolerance, identifyFaces, knownThreshold, MAX_TOLERANCE } from '../../src/match/identify.js';
import {
  DEFAULT_OPEN_SET_FAR,
  describeOpenSet,
  openSetTable,
  type OpenSetTable,
  openSetThreshold,
  pairRateFor,
} from '../../src/match/open-set.js';

const code = (c: string) => (e: unknown) => e instanceof FaceKitError && e.code === c;
const PAIRS = { distances: [0.3, 0.4, 0.5, 0.6], pairFar: [1e-6, 1e-4, 1e-2, 0.1] };
/** A table whose search part was measured at 1 and 100 people, rates 0.001 and 0.01. */
const tableWith = (searchDistances: number[][]): OpenSetTable => ({
  embedder: 'x',
  made: 'test',
  ...PAIRS,
  knownPeople: [1, 100],
  searchFar: [1e-3, 1e-2],
  searchDistances,
});
/** What the independence rule gives at (n, far). */
const independent = (n: number, far: number) => openSetThreshold('x', n, far, tableWith([[0.3], [0.3]]), true).value;
/** Search distances exactly those of independent comparisons (N_eff = N everywhere). */
const TABLE = tableWith([
  [independent(1, 1e-3), independent(1, 1e-2)],
  [independent(100, 1e-3), independent(100, 1e-2)],
]);
/** Correlated comparisons: measured thresholds looser than the independence rule's at 100 people. */
const MEASURED = tableWith([
  [independent(1, 1e-3), independent(1, 1e-2)],
  [0.42, 0.47],
]);

test('pairRateFor: one person is the rate itself; N people share it so that 1 − (1 − p)^N = far', () => {
  assert.ok(Math.abs(pairRateFor(0.01, 1) - 0.01) < 1e-15);
  const p = pairRateFor(0.01, 150);
  assert.ok(Math.abs(1 - (1 - p) ** 150 - 0.01) < 1e-12);
  assert.ok(pairRateFor(0.01, 1000) < pairRateFor(0.01, 10));
});

test('openSetThreshold interpolates log-linearly, shrinks with more people, and clamps at the strictest point', () => {
  const one = openSetThreshold('x', 1, 1e-4, TABLE);
  assert.ok(Math.abs(one.value - 0.4) < 1e-9);
  assert.equal(one.source, 'builtin');
  const mid = openSetThreshold('x', 1, 1e-3, TABLE);
  assert.ok(Math.abs(mid.value - 0.45) < 1e-9, `log-midway between 1e-4 and 1e-2: ${mid.value}`);
  assert.ok(openSetThreshold('x', 100, 0.01, TABLE).value < openSetThreshold('x', 10, 0.01, TABLE).value);
  const strictest = openSetThreshold('x', 1e9, 0.001, TABLE);
  assert.equal(strictest.value, 0.3);
  assert.equal(strictest.clamped, true);
  assert.match(describeOpenSet(strictest), /strictest/);
  assert.equal(openSetThreshold('x', 1, 0.4, TABLE).value, 0.6, 'above the table: its largest distance');
  for (const bad of [0, 0.5, -1, Number.NaN])
    assert.throws(() => openSetThreshold('x', 10, bad, TABLE), code('INVALID_ARGUMENT'));
  for (const n of [1, 7, 100, 5000])
    assert.ok(Math.abs(openSetThreshold('x', n, 0.005, TABLE).effectivePeople - n) < 1e-6 * n, 'N_eff = N here');
});

test('openSetThreshold per N: the measured threshold at a measured point, between them interpolated, past them N_eff / N held', () => {
  const at = (n: number, far: number) => openSetThreshold('x', n, far, MEASURED);
  assert.ok(Math.abs(at(100, 1e-2).value - 0.47) < 1e-9, `${at(100, 1e-2).value}`);
  assert.ok(Math.abs(at(100, 1e-3).value - 0.42) < 1e-9, `${at(100, 1e-3).value}`);
  // Correlated comparisons act as fewer than N independent ones, so the threshold is looser than the independence rule's.
  assert.ok(at(100, 1e-2).effectivePeople < 100);
  assert.ok(at(100, 1e-2).value > independent(100, 1e-2));
  // Between 1 and 100 people: between the two measured thresholds, decreasing with N.
  const ten = at(10, 1e-2).value;
  assert.ok(ten < at(1, 1e-2).value && ten > at(100, 1e-2).value, `${ten}`);
  // Past the largest count: N_eff / N held, so N_eff grows with N and the threshold keeps shrinking, from where it was.
  const k100 = at(100, 1e-2).effectivePeople / 100;
  assert.ok(Math.abs(at(1000, 1e-2).effectivePeople / 1000 - k100) < 1e-12);
  assert.ok(at(1000, 1e-2).value < at(100, 1e-2).value);
  assert.ok(at(101, 1e-2).value <= at(100, 1e-2).value && at(100, 1e-2).value - at(101, 1e-2).value < 1e-3);
  // A rate between the measured ones lies between their thresholds.
  const between = at(100, 3e-3).value;
  assert.ok(between > 0.42 && between < 0.47, `${between}`);
});

test('the built-in table of dlib_resnet128 is increasing, says how it was made, and its search part is measured', () => {
  const t = openSetTable('dlib_resnet128');
  assert.ok(t, 'a built-in table for the default embedder');
  assert.ok(t.distances.length >= 5 && t.distances.length === t.pairFar.length);
  for (let i = 1; i < t.distances.length; i++) {
    assert.ok(t.distances[i] >= t.distances[i - 1]);
    assert.ok(t.pairFar[i] > t.pairFar[i - 1]);
  }
  assert.match(t.made, /LFW/);
  assert.equal(t.knownPeople[0], 1);
  assert.ok((t.knownPeople.at(-1) as number) >= 500, 'measured up to hundreds of known people');
  assert.equal(t.searchDistances.length, t.knownPeople.length);
  t.searchDistances.forEach((row, i) => {
    assert.equal(row.length, t.searchFar.length);
    for (let j = 1; j < row.length; j++) assert.ok(row[j] >= row[j - 1], 'a looser rate, a larger threshold');
    if (i > 0) row.forEach((d, j) => assert.ok(d <= t.searchDistances[i - 1][j] + 1e-9, 'more people, a stricter one'));
  });
  // Strangers searched against 150 people need a stricter threshold than face_recognition's 0.6, and
  // more people a stricter one still; a stranger's comparisons are correlated, so fewer count than N.
  const t150 = openSetThreshold('dlib_resnet128', 150, DEFAULT_OPEN_SET_FAR);
  assert.ok(t150.value < 0.6);
  assert.ok(t150.effectivePeople < 150);
  assert.ok(openSetThreshold('dlib_resnet128', 5000, DEFAULT_OPEN_SET_FAR).value < t150.value);
  assert.ok(openSetThreshold('dlib_resnet128', 150, 0.05).value > t150.value);
});

test('knownThreshold: a tolerance wins (checked), else the built-in one at the rate; not both', () => {
  assert.deepEqual(knownThreshold('dlib_resnet128', 3, { tolerance: 0.6 }), {
    value: 0.6,
    source: 'option',
    far: null,
    knownPeople: 3,
  });
  const b = knownThreshold('dlib_resnet128', 3, { far: 0.001 });
  assert.equal(b.source, 'builtin');
  assert.equal(b.far, 0.001);
  assert.throws(() => knownThreshold('dlib_resnet128', 3, { tolerance: 0.6, far: 0.01 }), code('INVALID_ARGUMENT'));
  for (const bad of [0, -0.5, 60, MAX_TOLERANCE + 0.1, Number.NaN])
    assert.throws(() => checkTolerance(bad), code('INVALID_ARGUMENT'));
});

function unit(dims: number, hot: number, spread = 0): Float32Array {
  const v = new Float32Array(dims);
  v[hot] = 1 - spread;
  v[(hot + 1) % dims] = spread;
  return v;
}

test('identifyFaces names the nearest person within the threshold, else null with the nearest kept', () => {
  const known = [unit(8, 0), unit(8, 0, 0.05), unit(8, 3)];
  const names = ['ann', 'ann', 'bob'];
  const [a, stranger] = identifyFaces(known, names, [unit(8, 0, 0.02), unit(8, 6)], { tolerance: 0.5 });
  assert.equal(a.name, 'ann');
  assert.equal(stranger.name, null);
  assert.equal(stranger.nearest, 'ann');
  assert.equal(a.threshold.knownPeople, 2, 'people, not photos');
  const builtin = identifyFaces(known, names, [unit(8, 3, 0.01)]);
  assert.equal(builtin[0].name, 'bob');
  assert.equal(builtin[0].threshold.source, 'builtin');
});

test('identifyFaces refuses bad known lists and probes, naming the field', () => {
  const k = [unit(8, 0)];
  assert.throws(() => identifyFaces([], [], [unit(8, 0)]), code('INVALID_ARGUMENT'));
  assert.throws(
    () => identifyFaces(k, ['a', 'b'], [unit(8, 0)]),
    (e: unknown) => e instanceof FaceKitError && e.field === 'names',
  );
  assert.throws(
    () => identifyFaces(k, ['a'], [new Float32Array(4)]),
    (e: unknown) => e instanceof FaceKitError && e.field === 'probes[0]',
  );
  assert.throws(
    () => identifyFaces([unit(8, 0), new Float32Array(3)], ['a', 'b'], []),
    (e: unknown) => e instanceof FaceKitError && e.field === 'known[1]',
  );
  assert.throws(() => identifyFaces(k, ['a'], [unit(8, 0)], { tolerance: 60 }), code('INVALID_ARGUMENT'));
});
