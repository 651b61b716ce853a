import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxAroundPoints, REFINE_BOX_SCALE } from '../../src/landmarks/refine.js';

test('boxAroundPoints centres a box on the points, scaled per axis', () => {
  const pts = [
    { x: 10, y: 20 },
    { x: 50, y: 20 },
    { x: 30, y: 100 },
  ];
  assert.deepEqual(boxAroundPoints(pts, 1), { x: 10, y: 20, width: 40, height: 80 });
  const b = boxAroundPoints(pts, 1.5);
  assert.deepEqual(b, { x: 0, y: 0, width: 60, height: 120 });
  const d = boxAroundPoints(pts);
  assert.ok(Math.abs(d.width - 40 * REFINE_BOX_SCALE) < 1e-9 && Math.abs(d.x + d.width / 2 - 30) < 1e-9);
});

test('boxAroundPoints of one repeated point is an empty box at that point (callers skip it)', () => {
  const b = boxAroundPoints([
    { x: 7, y: 9 },
    { x: 7, y: 9 },
  ]);
  assert.deepEqual(b, { x: 7, y: 9, width: 0, height: 0 });
});
