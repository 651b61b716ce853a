import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaceKitError } from '../../src/errors.js';
import { landmarks5From68 } from '../../src/landmarks/five.js';
import { LANDMARK_PARTS_68, landmarkParts } from '../../src/landmarks/parts.js';
import type { Point } from '../../src/types.js';

/** Point i at (i, 2i): every part's points say which indices it took. */
const numbered = (n: number): Point[] => Array.from({ length: n }, (_, i) => ({ x: i, y: 2 * i }));
const isInvalid = (field: string) => (e: unknown) =>
  e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === field;

test("landmarkParts splits the 68 points into face_recognition's parts, lips wrapping round the inner points", () => {
  const parts = landmarkParts(numbered(68));
  const indices = (name: keyof typeof parts) => parts[name].map((p) => p.x);
  for (const name of ['chin', 'leftEyebrow', 'rightEyebrow', 'noseBridge', 'noseTip', 'leftEye', 'rightEye'] as const) {
    const [from, to] = LANDMARK_PARTS_68[name];
    assert.deepEqual(
      indices(name),
      Array.from({ length: to - from }, (_, k) => from + k),
      name,
    );
  }
  assert.deepEqual(indices('topLip'), [48, 49, 50, 51, 52, 53, 54, 64, 63, 62, 61, 60]);
  assert.deepEqual(indices('bottomLip'), [54, 55, 56, 57, 58, 59, 48, 60, 67, 66, 65, 64]);
});

test('fewer or more than 68 points, or no array, fail with INVALID_ARGUMENT instead of undefined points', () => {
  for (const n of [0, 5, 67, 69]) {
    assert.throws(() => landmarkParts(numbered(n)), isInvalid('points'), `${n} points`);
    assert.throws(() => landmarks5From68(numbered(n)), isInvalid('points'), `${n} points`);
  }
  assert.throws(() => landmarkParts(null as never), isInvalid('points'));
  assert.throws(() => landmarks5From68({ length: 68 } as never), isInvalid('points'));
});
