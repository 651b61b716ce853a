/**
 * Groups faces of people nobody has named yet: a graph joins each face to its near neighbours
 * (within a distance, never two faces of one photo), and Chinese whispers finds the groups, never
 * putting two faces of one photo in one group.
 */
import { invalidArgument } from '../errors.js';
import { ANN_MIN_FACES, AnnIndex } from '../search/ann.js';
import { DescriptorMatrix, exactKnn } from '../search/exact.js';
import { euclideanDistance } from '../match/distance.js';
import { CLUSTER_THRESHOLD } from './defaults.js';
import { chineseWhispers, graphFromEdges, WHISPER_ITERATIONS, WHISPER_SEED } from './whispers.js';

export { CLUSTER_THRESHOLD };
/** Links kept per face at most: its nearest ones. A person's clusters stay connected through chains, and the graph stays O(n). */
export const CLUSTER_NEIGHBOURS = 32;

export interface ClusterOptions {
  readonly threshold?: number;
  /** Photo of each face: faces of one photo are never linked (one person appears once per photo). */
  readonly photoOf?: readonly number[];
  readonly neighbours?: number;
  /** Faces from which the neighbours come from an HNSW index instead of exact search (default ANN_MIN_FACES). */
  readonly annMinFaces?: number;
  readonly iterations?: number;
  readonly seed?: number;
}

/** Clusters as lists of input indices: largest first, then by first index; single faces are clusters of one. */
export function clusterFaces(descriptors: readonly Float32Array[], options: ClusterOptions = {}): number[][] {
  const threshold = options.threshold ?? CLUSTER_THRESHOLD;
  if (!(threshold > 0) || !Number.isFinite(threshold))
    throw invalidArgument('threshold', `must be a positive number, got ${threshold}`);
  const k = options.neighbours ?? CLUSTER_NEIGHBOURS;
  if (!Number.isInteger(k) || k < 1) throw invalidArgument('neighbours', `must be a positive integer, got ${k}`);
  const annMinFaces = options.annMinFaces ?? ANN_MIN_FACES;
  if (!Number.isInteger(annMinFaces) || annMinFaces < 1)
    throw invalidArgument('annMinFaces', `must be a positive integer, got ${annMinFaces}`);
  const photoOf = options.photoOf;
  if (photoOf && photoOf.length !== descriptors.length)
    throw invalidArgument('photoOf', 'needs one photo index per face');
  const n = descriptors.length;
  if (n === 0) return [];
  const dims = descriptors[0].length;
  const vectors = new Float32Array(n * dims);
  descriptors.forEach((d, i) => {
    if (d.length !== dims)
      throw invalidArgument(
        `descriptors[${i}]`,
        `has ${d.length} values; the first has ${dims}: descriptors of different models`,
      );
    vectors.set(d, i * dims);
  });
  const matrix = new DescriptorMatrix(dims, {
    ids: Float64Array.from({ length: n }, (_, i) => i),
    persons: new Int32Array(n),
    vectors,
  });
  // Links weigh 1 − d / threshold: a close pair outvotes a chain of near-threshold links, which is
  // what merges two people. No self-loops (dlib's unweighted version has them): with weights below
  // 1 they would outvote every neighbour. bench/cluster.ts: on LFW people with 2-4 photos this lifts
  // pairwise F1 from 0.62 (dlib's unweighted rule, best threshold) to 0.79.
  const edges: [number, number, number][] = [];
  const seen = new Set<number>();
  const link = (i: number, j: number, d: number): void => {
    if (i === j || d >= threshold || (photoOf && photoOf[i] === photoOf[j])) return;
    const a = Math.min(i, j),
      b = Math.max(i, j);
    const key = a * n + b;
    if (seen.has(key)) return;
    seen.add(key);
    edges.push([a, b, 1 - d / threshold]);
  };
  const want = Math.min(n, k + 1);
  if (n >= annMinFaces) {
    const ann = AnnIndex.build(matrix);
    for (let i = 0; i < n; i++)
      for (const j of ann.search(matrix.row(i), want).ids) link(i, j, euclideanDistance(matrix.row(i), matrix.row(j)));
  } else {
    const all = exactKnn(matrix, descriptors, want);
    all.forEach((nb, i) => nb.rows.forEach((j, x) => link(i, j, nb.distances[x])));
  }
  const labels = chineseWhispers(
    graphFromEdges(n, edges),
    options.iterations ?? WHISPER_ITERATIONS,
    options.seed ?? WHISPER_SEED,
    photoOf,
  );
  const groups = new Map<number, number[]>();
  labels.forEach((l, i) => {
    const g = groups.get(l) ?? [];
    g.push(i);
    groups.set(l, g);
  });
  return [...groups.values()].sort((a, b) => b.length - a.length || a[0] - b[0]);
}
