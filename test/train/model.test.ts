import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchLoss, MININGS } from '../../src/train/loss.js';
import {
  backward,
  DIMS,
  FEATURES,
  forward,
  HEAD_HIDDEN,
  type Params,
  paramArrays,
  seeded,
} from '../../src/train/model.js';
import { epochBatches } from '../../src/train/sampler.js';
import { stageRows, WINDOW } from '../../src/train/stage.js';
import { DLIB_STAGE_SIZE } from '../../src/models/dlibResnet128.js';

/** Random parameters with a non-zero head (or a random last block), so every path carries gradient. */
function randomParams(rnd: () => number, head: boolean, stage = false): Params {
  const r = (n: number, s: number) => Float64Array.from({ length: n }, () => (rnd() * 2 - 1) * s);
  return {
    w: r(FEATURES * DIMS, 0.05),
    b: r(DIMS, 0.05),
    head: head ? { u: r(DIMS * HEAD_HIDDEN, 0.3), c: r(HEAD_HIDDEN, 0.1), v: r(HEAD_HIDDEN * DIMS, 0.3) } : undefined,
    stage: stage
      ? { w1: r(WINDOW * FEATURES, 0.03), b1: r(FEATURES, 0.2), w2: r(FEATURES * FEATURES, 0.1), b2: r(FEATURES, 0.2) }
      : undefined,
  };
}

const N = 8;
const LABELS = [0, 0, 1, 1, 2, 2, 3, 3];

for (const mining of MININGS)
  for (const part of ['fc', 'fc+head', 'last-stage'])
    test(`${mining}, ${part}: hand-derived gradient equals central differences`, () => {
      const rnd = seeded(7);
      const p = randomParams(rnd, part === 'fc+head', part === 'last-stage');
      const x = Float64Array.from({ length: N * FEATURES }, () => rnd());
      // Stage inputs centred on 0 so the shortcut's relus take both sides.
      const stage =
        part === 'last-stage'
          ? stageRows(
              Array.from({ length: N }, () => Float32Array.from({ length: DLIB_STAGE_SIZE }, () => rnd() - 0.3)),
            )
          : undefined;
      const lossOf = () =>
        batchLoss(mining, forward(p, x, N, stage).out, LABELS, DIMS, { margin: 0.5, threshold: 0.6, pairMargin: 0.3 });
      const f = forward(p, x, N, stage);
      const r = lossOf();
      assert.ok(r.loss > 0, 'the case must have active terms');
      const grads = paramArrays(backward(p, f, r.grad));
      const eps = 1e-6;
      paramArrays(p).forEach((a, k) => {
        for (let t = 0; t < 12; t++) {
          const i = Math.floor(rnd() * a.length);
          const keep = a[i];
          a[i] = keep + eps;
          const up = lossOf().loss;
          a[i] = keep - eps;
          const down = lossOf().loss;
          a[i] = keep;
          const numeric = (up - down) / (2 * eps);
          assert.ok(
            Math.abs(numeric - grads[k][i]) <= 1e-6 + 1e-4 * Math.abs(numeric),
            `array ${k}[${i}]: analytic ${grads[k][i]}, numeric ${numeric}`,
          );
        }
      });
    });

test('P×K sampler: K photos of P people per batch, every person once an epoch, same seed same batches', () => {
  const labels = Int32Array.from({ length: 30 }, (_, i) => i % 7); // 7 people, 4-5 photos each
  const a = epochBatches(labels, { people: 3, photos: 2 }, seeded(3));
  const b = epochBatches(labels, { people: 3, photos: 2 }, seeded(3));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, epochBatches(labels, { people: 3, photos: 2 }, seeded(4)));
  const people = a.flatMap((batch) => [...new Set(batch.map((i) => labels[i]))]);
  // 7 people in batches of 3: the last lone person is joined by others, so all 7 appear.
  assert.deepEqual([...new Set(people)].sort(), [0, 1, 2, 3, 4, 5, 6]);
  for (const batch of a) {
    const counts = new Map<number, number>();
    for (const i of batch) counts.set(labels[i], (counts.get(labels[i]) ?? 0) + 1);
    assert.ok([...counts.values()].every((c) => c === 2));
    assert.ok(counts.size >= 2);
  }
});

test('sampler refuses a dataset without two people of two photos, and bad shapes', () => {
  assert.throws(() => epochBatches(Int32Array.of(0, 0, 1), { people: 2, photos: 2 }, seeded(1)), /2 or more people/);
  assert.throws(
    () => epochBatches(Int32Array.of(0, 0, 1, 1), { people: 1, photos: 2 }, seeded(1)),
    /at least 2 people/,
  );
  assert.throws(
    () => epochBatches(Int32Array.of(0, 0, 1, 1), { people: 2, photos: 1.5 }, seeded(1)),
    /at least 2 photos/,
  );
});
