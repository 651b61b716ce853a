import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaceKitError } from '../../src/errors.js';
import { clusterFaces } from '../../src/cluster/cluster.js';
import { chineseWhispers, graphFromEdges } from '../../src/cluster/whispers.js';
import { Faces } from '../helpers/descriptors.js';

test('chinese whispers splits two cliques joined by one edge, deterministically', () => {
  const clique = (o: number) =>
    [
      [o, o + 1, 1],
      [o, o + 2, 1],
      [o, o + 3, 1],
      [o + 1, o + 2, 1],
      [o + 1, o + 3, 1],
      [o + 2, o + 3, 1],
    ] as [number, number, number][];
  const edges = [
    ...clique(0),
    ...clique(4),
    [3, 4, 1] as [number, number, number],
    ...Array.from({ length: 9 }, (_, i) => [i, i, 1] as [number, number, number]),
  ];
  const g = graphFromEdges(9, edges);
  const labels = chineseWhispers(g);
  assert.deepEqual(new Set(labels.slice(0, 4)).size, 1);
  assert.deepEqual(new Set(labels.slice(4, 8)).size, 1);
  assert.notEqual(labels[0], labels[4]);
  assert.notEqual(labels[8], labels[0], 'a node with only a self-loop stays alone');
  assert.deepEqual(chineseWhispers(g), labels);
  // Nodes of one group never share a label, however they are linked.
  const groupOf = [0, 1, 2, 3, 0, 1, 2, 3, 4];
  const constrained = chineseWhispers(graphFromEdges(9, [...edges, [0, 5, 1], [1, 6, 1]]), 100, 1, groupOf);
  for (let i = 0; i < 9; i++)
    for (let j = i + 1; j < 9; j++) if (groupOf[i] === groupOf[j]) assert.notEqual(constrained[i], constrained[j]);
});

test('clusterFaces groups photos of the same synthetic people, largest group first, never two faces of one photo', () => {
  const f = new Faces(41);
  const people = [7, 5, 3, 1].map((n) => ({ centre: f.person(), n }));
  const faces: Float32Array[] = [];
  const truth: number[] = [];
  people.forEach((p, k) => {
    for (let i = 0; i < p.n; i++) {
      faces.push(f.photo(p.centre));
      truth.push(k);
    }
  });
  const clusters = clusterFaces(faces);
  assert.deepEqual(
    clusters.map((c) => c.length),
    [7, 5, 3, 1],
  );
  clusters.forEach((c) => assert.equal(new Set(c.map((i) => truth[i])).size, 1));
  // Person 0's first two photos are one group photo: they must part.
  const photoOf = faces.map((_, i) => (i === 1 ? 0 : i));
  const split = clusterFaces(faces, { photoOf });
  assert.ok(split.every((c) => !(c.includes(0) && c.includes(1))));
  assert.deepEqual(clusterFaces([]), []);
  const code = (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT';
  assert.throws(() => clusterFaces(faces, { threshold: 0 }), code);
  assert.throws(() => clusterFaces(faces, { photoOf: [1] }), code);
  assert.throws(() => clusterFaces([faces[0], new Float32Array(3)]), code);
  assert.throws(() => clusterFaces(faces, { neighbours: 0 }), code);
  assert.throws(() => clusterFaces(faces, { annMinFaces: 0 }), code);
});

test('clusterFaces on a large collection takes its neighbours from an HNSW index and finds the same groups', () => {
  const f = new Faces(42);
  const faces: Float32Array[] = [];
  for (let p = 0; p < 60; p++) {
    const centre = f.person();
    for (let i = 0; i < 1 + (p % 4); i++) faces.push(f.photo(centre));
  }
  const exact = clusterFaces(faces);
  const viaAnn = clusterFaces(faces, { annMinFaces: 10 });
  assert.deepEqual(viaAnn, exact);
  assert.equal(exact.length, 60);
});
