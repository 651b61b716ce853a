import { test } from 'node:test';
import assert from 'node:assert/strict';
import { affineScale, applyAffine, fitSimilarity, type Affine } from '../../src/align/similarity.js';
import { FaceKitError } from '../../src/errors.js';

const square = [
  { x: 0, y: 0 },
  { x: 10, y: 0 },
  { x: 10, y: 10 },
  { x: 0, y: 10 },
  { x: 3, y: 7 },
];

function similarity(angleDeg: number, scale: number, tx: number, ty: number): Affine {
  const a = Math.cos((angleDeg * Math.PI) / 180) * scale,
    b = Math.sin((angleDeg * Math.PI) / 180) * scale;
  return [a, -b, tx, b, a, ty];
}

test('fitSimilarity recovers an exact rotation + scale + translation', () => {
  const truth = similarity(23, 1.7, 40, -12);
  const fit = fitSimilarity(
    square,
    square.map((p) => applyAffine(truth, p)),
  );
  for (let i = 0; i < 6; i++)
    assert.ok(Math.abs(fit[i] - truth[i]) < 1e-9, `coefficient ${i}: ${fit[i]} vs ${truth[i]}`);
  assert.ok(Math.abs(affineScale(fit) - 1.7) < 1e-9);
});

test('fitSimilarity is the least-squares fit under noise (residual no worse than the true map)', () => {
  const truth = similarity(-8, 0.6, 5, 9);
  const noise = [0.3, -0.2, 0.1, 0.25, -0.15];
  const to = square.map((p, i) => {
    const q = applyAffine(truth, p);
    return { x: q.x + noise[i], y: q.y - noise[(i + 2) % 5] };
  });
  const residual = (m: Affine) =>
    square.reduce((s, p, i) => s + (applyAffine(m, p).x - to[i].x) ** 2 + (applyAffine(m, p).y - to[i].y) ** 2, 0);
  assert.ok(residual(fitSimilarity(square, to)) <= residual(truth) + 1e-12);
});

test('fitSimilarity never reflects: a mirrored target gives a rotation, not a flip', () => {
  const mirrored = square.map((p) => ({ x: -p.x, y: p.y }));
  const m = fitSimilarity(square, mirrored);
  assert.ok(m[0] * m[4] - m[1] * m[3] >= 0, 'determinant must be non-negative');
});

test('fitSimilarity rejects too few, mismatched or degenerate points with FaceKitError', () => {
  assert.throws(
    () => fitSimilarity([{ x: 0, y: 0 }], [{ x: 1, y: 1 }]),
    (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT',
  );
  assert.throws(
    () => fitSimilarity(square, square.slice(1)),
    (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT',
  );
  const same = [
    { x: 2, y: 2 },
    { x: 2, y: 2 },
  ];
  assert.throws(() => fitSimilarity(same, square.slice(0, 2)), /degenerate/);
  assert.throws(
    () =>
      fitSimilarity(square.slice(0, 2), [
        { x: Number.NaN, y: 0 },
        { x: 1, y: 1 },
      ]),
    /degenerate/,
  );
});
