import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaceKitError } from '../../src/errors.js';
import { aggregate, checkAggregation } from '../../src/match/aggregate.js';
import {
  answerConfidence,
  checkFar,
  falseAcceptRate,
  impostorTail,
  MAX_GENUINE_PAIRS,
  MAX_IMPOSTOR_PAIRS,
  pairDistances,
  quantiles,
  sampleIndices,
  thresholdForFar,
} from '../../src/match/calibrate.js';
import { verifyDescriptors } from '../../src/match/verify.js';
import { Faces } from '../helpers/descriptors.js';

const code = (c: string) => (e: unknown) => e instanceof FaceKitError && e.code === c;
const sorted = (xs: number[]) => Float32Array.from(xs).sort();

test('thresholdForFar accepts at most the asked share of impostors, halfway to the next one, and needs 5 / far of them', () => {
  const imp = sorted(Array.from({ length: 1000 }, (_, i) => 0.5 + i / 1000));
  const t = thresholdForFar(imp, 0.01);
  assert.ok(Math.abs(t - (imp[9] + imp[10]) / 2) < 1e-7);
  assert.equal(falseAcceptRate({ sorted: imp, total: imp.length }, t), 0.01);
  // Ties at the cut move the threshold below the tied values rather than over-accepting.
  const tied = sorted([...Array(10).fill(0.5), ...Array.from({ length: 990 }, (_, i) => 0.6 + i / 1e4)]);
  assert.ok(thresholdForFar(tied, 0.005) < 0.5);
  assert.throws(() => thresholdForFar(imp.subarray(0, 499), 0.01), code('CALIBRATION_TOO_FEW'));
  for (const bad of [0, -0.1, 0.5, 1, Number.NaN, '0.1']) assert.throws(() => checkFar(bad), code('INVALID_ARGUMENT'));
});

test('confidence: 1 − FAR for a match, the share of genuine distances below d for "unknown", null without genuine pairs', () => {
  const impostors = { sorted: sorted([0.5, 0.6, 0.7, 0.8]), total: 4 };
  const genuine = { sorted: sorted([0.2, 0.3, 0.4, 0.55]), total: 4 };
  assert.equal(answerConfidence(true, 0.45, impostors, genuine), 1);
  assert.equal(answerConfidence(true, 0.65, impostors, genuine), 0.5);
  assert.equal(answerConfidence(false, 0.5, impostors, genuine), 0.75);
  assert.equal(
    answerConfidence(false, 0.55, impostors, genuine),
    0.75,
    'a genuine distance equal to d would have been accepted',
  );
  assert.equal(answerConfidence(false, 0.9, impostors, { sorted: new Float32Array(0), total: 0 }), null);
  // The stored tail keeps the smallest distances and the population size.
  const big = sorted(Array.from({ length: 100_000 }, (_, i) => i / 1e5));
  const tail = impostorTail(big, 0.001);
  assert.equal(tail.total, 100_000);
  assert.equal(tail.sorted.length, 1000);
  assert.equal(falseAcceptRate(tail, big[499]), 0.005);
  const q = quantiles(big, 11);
  assert.equal(q.sorted.length, 11);
  assert.equal(q.sorted[10], big[big.length - 1]);
});

test('pairDistances: every pair of a small set, sorted; sampled (but the right count) for a large one', () => {
  const f = new Faces(31);
  const people = f.people(10, 3);
  const rows = people.flatMap((p) => p.faces.map((x) => x.descriptor));
  const labels = Int32Array.from({ length: 30 }, (_, i) => Math.floor(i / 3));
  const { impostors, genuine } = pairDistances({ labels, row: (i) => rows[i] });
  assert.equal(impostors.length, (30 * 29) / 2 - 30);
  assert.equal(genuine.length, 30);
  for (let i = 1; i < impostors.length; i++) assert.ok(impostors[i - 1] <= impostors[i]);
  assert.ok(genuine[genuine.length - 1] < impostors[0], 'synthetic people are well apart');

  const n = 3000;
  const big = new Float32Array(n * 2);
  for (let i = 0; i < big.length; i++) big[i] = (i * 0.618) % 1;
  const bigLabels = Int32Array.from({ length: n }, (_, i) => Math.floor(i / 750));
  const bigSet = { labels: bigLabels, row: (i: number) => big.subarray(2 * i, 2 * i + 2) };
  const r = pairDistances(bigSet);
  assert.equal(r.impostors.length, MAX_IMPOSTOR_PAIRS);
  assert.equal(r.genuine.length, MAX_GENUINE_PAIRS);
  const again = pairDistances(bigSet);
  assert.deepEqual(again.impostors.subarray(0, 100), r.impostors.subarray(0, 100), 'reproducible');
  const idx = sampleIndices(10, 4);
  assert.equal(new Set(idx).size, 4);
  assert.equal(sampleIndices(3, 10).length, 3);
});

test('aggregate ranks people by best, mean of the closest, or votes within the threshold', () => {
  const c = (person: number, distance: number, faceId = person * 10 + Math.round(distance * 100)) => ({
    person,
    distance,
    faceId,
  });
  const cands = [c(1, 0.3), c(2, 0.35), c(2, 0.36), c(2, 0.4), c(1, 0.7), c(1, 0.8)];
  assert.deepEqual(
    aggregate(cands, 'best', 0.6).map((s) => s.person),
    [1, 2],
  );
  const mean = aggregate(cands, 'mean', 0.6);
  assert.deepEqual(
    mean.map((s) => s.person),
    [2, 1],
  );
  assert.ok(Math.abs(mean[0].distance - (0.35 + 0.36 + 0.4) / 3) < 1e-9);
  assert.ok(Math.abs(mean[1].distance - 0.6) < 1e-9);
  assert.ok(Math.abs(aggregate(cands, 'mean', 0.6, 1)[0].distance - 0.3) < 1e-9);
  const vote = aggregate(cands, 'vote', 0.6);
  assert.deepEqual(
    vote.map((s) => [s.person, s.votes, s.distance]),
    [
      [2, 3, 0.35],
      [1, 1, 0.3],
    ],
  );
  assert.deepEqual(aggregate([], 'best', 0.6), []);
  assert.throws(() => aggregate(cands, 'mean', 0.6, 0), code('INVALID_ARGUMENT'));
  assert.throws(() => checkAggregation('max'), code('INVALID_ARGUMENT'));
});

test('verifyDescriptors: same iff within the threshold, with the threshold source and a calibrated confidence', () => {
  // A 3-4-5 triangle scaled by 1/8: every number exact in float32.
  const a = new Float32Array([0, 0]),
    b = new Float32Array([0.375, 0.5]);
  assert.deepEqual(verifyDescriptors(a, b), {
    same: false,
    distance: 0.625,
    threshold: 0.6,
    thresholdSource: 'default',
    far: null,
    confidence: null,
  });
  assert.equal(verifyDescriptors(a, b, { value: 0.7, source: 'option', far: null, calibration: null }).same, true);
  const cal = {
    impostors: { sorted: sorted([0.45, 0.55, 0.9, 1]), total: 4 },
    genuine: { sorted: sorted([0.1, 0.2, 0.63, 0.7]), total: 4 },
  };
  const v = verifyDescriptors(a, b, { value: 0.7, source: 'calibration', far: 0.01, calibration: cal });
  assert.deepEqual([v.same, v.confidence, v.far], [true, 0.5, 0.01]);
  assert.equal(
    verifyDescriptors(a, b, { value: 0.6, source: 'calibration', far: 0.01, calibration: cal }).confidence,
    0.5,
    'different: half the genuine pairs are closer',
  );
  assert.throws(() => verifyDescriptors(a, new Float32Array(3)), code('INVALID_ARGUMENT'));
});
