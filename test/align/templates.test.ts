import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DLIB_ALIGNMENT_POINTS, dlibChipTemplate } from '../../src/align/templates.js';

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
