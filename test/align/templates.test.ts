import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DLIB_ALIGNMENT_POINTS, dlibChipTemplate, dlibChipTemplate5 } from '../../src/align/templates.js';
import { chipTransform } from '../../src/align/chip.js';
import { landmarks5From68, LANDMARKS5_FROM_68 } from '../../src/landmarks/five.js';
import type { Point } from '../../src/types.js';

test('dlib alignment uses nose, eyes, outer lips and upper inner lip: 33 of the 68 points', () => {
  assert.equal(DLIB_ALIGNMENT_POINTS.length, 33);
  assert.ok(!DLIB_ALIGNMENT_POINTS.some((i) => i < 27), 'jaw and eyebrows are left out');
  for (const lowerLip of [55, 56, 57, 58, 59, 65, 66, 67]) assert.ok(!DLIB_ALIGNMENT_POINTS.includes(lowerLip));
});

test('the 150/0.25 chip puts the face centred, eyes level, inside the chip', () => {
  const t = dlibChipTemplate();
  assert.equal(t.size, 150);
  const at = (i: number) => t.targets[t.pointIndices.indexOf(i)];
  // Outer eye corners (36, 45) are level and symmetric about the nose bridge (27).
  assert.ok(Math.abs(at(36).y - at(45).y) < 0.01);
  assert.ok(Math.abs((at(36).x + at(45).x) / 2 - at(27).x) < 0.01);
  for (const p of t.targets) assert.ok(p.x > 0 && p.x < 150 && p.y > 0 && p.y < 150);
  // Padding 0.25 maps the template's unit square to [25, 125] at size 150: eye corners ~ 38 px apart from the edges.
  assert.ok(at(36).x > 30 && at(36).x < 45, `left eye corner x ${at(36).x}`);
});

test('padding 0 stretches the template over the whole chip', () => {
  const t = dlibChipTemplate(100, 0);
  const xs = t.targets.map((p) => p.x);
  assert.ok(Math.min(...xs) < 20 && Math.max(...xs) > 80);
});

test('the five-point template is made from the mean face the way five points are made from 68', () => {
  const t68 = dlibChipTemplate();
  const t5 = dlibChipTemplate5();
  assert.deepEqual(t5.pointIndices, [0, 1, 2, 3, 4]);
  const at = (i: number) => t68.targets[t68.pointIndices.indexOf(i)];
  // Every point the five use is one of dlib's alignment points, so both templates share their numbers.
  for (const indices of LANDMARKS5_FROM_68)
    for (const i of indices) assert.ok(DLIB_ALIGNMENT_POINTS.includes(i), `point ${i}`);
  const eye = (from: number) => ({
    x: [0, 1, 2, 3, 4, 5].reduce((s, k) => s + at(from + k).x, 0) / 6,
    y: [0, 1, 2, 3, 4, 5].reduce((s, k) => s + at(from + k).y, 0) / 6,
  });
  const expected = [eye(36), eye(42), at(30), at(48), at(54)];
  t5.targets.forEach((p, k) => assert.ok(Math.hypot(p.x - expected[k].x, p.y - expected[k].y) < 1e-9, `point ${k}`));
  // Eyes level and symmetric about the nose.
  assert.ok(
    Math.abs(t5.targets[0].y - t5.targets[1].y) < 1e-9 &&
      Math.abs((t5.targets[0].x + t5.targets[1].x) / 2 - t5.targets[2].x) < 0.01,
  );
});

test('a face aligned on its five points made from 68 lands where its 68 points put it', () => {
  // A mean face turned 10°, scaled 2.3× and moved: the 68 points (0..16 unused by both templates).
  const t68 = dlibChipTemplate();
  const angle = (10 * Math.PI) / 180,
    k = 2.3;
  const place = (p: Point): Point => ({
    x: 300 + k * (Math.cos(angle) * p.x - Math.sin(angle) * p.y),
    y: 120 + k * (Math.sin(angle) * p.x + Math.cos(angle) * p.y),
  });
  const points: Point[] = Array.from({ length: 68 }, () => ({ x: 0, y: 0 }));
  t68.pointIndices.forEach((i, n) => (points[i] = place(t68.targets[n])));
  const m68 = chipTransform(points, t68);
  const m5 = chipTransform(landmarks5From68(points), dlibChipTemplate5());
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(m68[i] - m5[i]) < 1e-6, `coefficient ${i}: ${m68[i]} vs ${m5[i]}`);
});
