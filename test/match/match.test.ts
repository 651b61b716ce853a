import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareFaces, euclideanDistance, faceDistance } from '../../src/match/distance.js';
import { rankPeople } from '../../src/match/rank.js';
import { groupPeople } from '../../src/match/group.js';
import { FaceKitError } from '../../src/errors.js';

const v = (...xs: number[]) => Float32Array.from(xs);

test('euclideanDistance, faceDistance and compareFaces agree with hand-computed values', () => {
  assert.equal(euclideanDistance(v(0, 0), v(3, 4)), 5);
  assert.deepEqual(faceDistance([v(0, 0), v(0, 1)], v(0, 0.5)), [0.5, 0.5]);
  assert.deepEqual(compareFaces([v(0, 0), v(0, 1)], v(0, 0.7)), [false, true]);
  assert.deepEqual(compareFaces([v(0, 0), v(0, 1)], v(0, 0.7), 0.75), [true, true]);
  assert.deepEqual(faceDistance([], v(1, 2)), []);
});

test('distance functions refuse mismatched or empty descriptors and a bad tolerance', () => {
  const invalid = (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT';
  assert.throws(() => euclideanDistance(v(1), v(1, 2)), invalid);
  assert.throws(() => euclideanDistance(v(), v()), invalid);
  assert.throws(() => compareFaces([v(1)], v(1), 0), invalid);
  assert.throws(() => compareFaces([v(1)], v(1), Number.NaN), invalid);
  assert.throws(() => compareFaces([v(1)], v(1), Infinity), invalid);
});

test('rankPeople gives one entry per person, by their closest photo', () => {
  const known = [
    { name: 'ann', file: 'a1', descriptor: v(0, 0) },
    { name: 'ann', file: 'a2', descriptor: v(0, 0.1) },
    { name: 'bob', file: 'b1', descriptor: v(1, 0) },
  ];
  const ranked = rankPeople(known, v(0, 0.2));
  assert.deepEqual(
    ranked.map((r) => r.name),
    ['ann', 'bob'],
  );
  assert.ok(Math.abs(ranked[0].distance - 0.1) < 1e-6);
});

test('groupPeople joins close faces across photos but never two faces of one photo', () => {
  // Photo 0 has two faces, close to each other (twins); photo 1 has one face close to both.
  const photos = [
    [{ descriptor: v(0, 0) }, { descriptor: v(0, 0.3) }],
    [{ descriptor: v(0, 0.1) }],
    [{ descriptor: v(5, 5) }],
  ];
  const { pairs, people } = groupPeople(photos, 0.6);
  assert.equal(pairs.length, 2);
  assert.deepEqual(pairs[0], {
    a: { photo: 0, face: 0 },
    b: { photo: 1, face: 0 },
    distance: euclideanDistance(v(0, 0), v(0, 0.1)),
  });
  assert.deepEqual(people, [
    [
      { photo: 0, face: 0 },
      { photo: 1, face: 0 },
    ],
  ]);
});
