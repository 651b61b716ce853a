import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FaceKitError } from '../../src/errors.js';
import { batchLoss } from '../../src/train/loss.js';

/**
 * Four 1-d embeddings, two people, worked by hand (see each case): loss, active share, the mean
 * distances and every gradient entry.
 */
const close = (actual: ArrayLike<number>, expected: readonly number[], tol = 1e-12) => {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++)
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `[${i}]: ${actual[i]} vs ${expected[i]}`);
};

test('batch-hard: farthest positive and nearest negative per anchor, hinge at the margin', () => {
  // e = 0, 1 (person A), 1.5, 3 (person B). Anchor 0: 0.2 + 1 − 1.5 < 0. Anchor 1: 0.2 + 1 − 0.5 = 0.7.
  // Anchor 2: 0.2 + 1.5 − 0.5 = 1.2. Anchor 3: 0.2 + 1.5 − 2 < 0. Mean over 4 anchors: 0.475.
  const r = batchLoss('batch-hard', Float64Array.of(0, 1, 1.5, 3), [0, 0, 1, 1], 1, { margin: 0.2 });
  close([r.loss, r.active, r.meanPositive, r.meanNegative], [0.475, 0.5, 1.25, 1.75]);
  // Anchor 1's triplet pushes e1 up (away from e2, toward... e0 pulls it down: +1/4 −(−1/4)); anchor 2's likewise.
  close(r.grad, [-0.25, 0.75, -0.75, 0.25]);
});

test('semi-hard: the nearest negative beyond the positive, else the farthest', () => {
  // Pairs (0,1), (1,0), (3,2) find a semi-hard negative and clear the margin; (2,3) has none
  // farther than 1.5, takes the farthest (e0 at 1.5): 0.2 + 1.5 − 1.5 = 0.2. Mean over 4 pairs: 0.05.
  const r = batchLoss('semi-hard', Float64Array.of(0, 1, 1.5, 3), [0, 0, 1, 1], 1, { margin: 0.2 });
  close([r.loss, r.active], [0.05, 0.25]);
  close(r.grad, [0.25, 0, -0.5, 0.25]);
});

test('dlib-pair: threshold ± margin hinges, as many hardest negatives as positives', () => {
  // e = 0, 0.5 (A), 0.7, 2 (B); threshold 0.6, margin 0.04. Positives: 0.5 − 0.56 < 0; 1.3 − 0.56 = 0.74.
  // Negatives: only (1,2) at 0.2 costs 0.64 − 0.2 = 0.44; the two costliest are kept. (0.74 + 0.44) / (2·2).
  const r = batchLoss('dlib-pair', Float64Array.of(0, 0.5, 0.7, 2), [0, 0, 1, 1], 1);
  close([r.loss, r.active], [0.295, 0.5], 1e-12);
  close(r.grad, [0, 0.25, -0.5, 0.25]);
});

test('a batch of one person has no triplets: zero loss and gradient', () => {
  for (const mining of ['batch-hard', 'semi-hard'] as const) {
    const r = batchLoss(mining, Float64Array.of(0, 1, 2, 3), [0, 0, 0, 0], 1);
    assert.equal(r.loss, 0);
    assert.ok(r.grad.every((g) => g === 0));
  }
  const r = batchLoss('batch-hard', Float64Array.of(0, 1), [0, 1], 1);
  assert.equal(r.loss, 0);
  assert.deepEqual([...r.grad], [0, 0]);
});

test('identical embeddings give a finite gradient (distance 0 has none)', () => {
  const r = batchLoss('batch-hard', Float64Array.of(1, 1, 1, 1), [0, 0, 1, 1], 1);
  close([r.loss], [0.2]);
  assert.ok([...r.grad].every(Number.isFinite));
});

test('wrong shapes and unknown mining are INVALID_ARGUMENT', () => {
  assert.throws(
    () => batchLoss('batch-hard', new Float64Array(5), [0, 1, 2], 2),
    (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === 'embeddings',
  );
  assert.throws(
    () => batchLoss('hardest' as never, new Float64Array(4), [0, 1], 2),
    (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && /semi-hard/.test(e.message),
  );
});
