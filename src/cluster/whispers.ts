/**
 * Chinese whispers (Biemann 2006), the graph clustering dlib uses for faces: every node starts in
 * its own cluster, then, visited in random order, takes the label that carries the most edge
 * weight among its neighbours. No cluster count to guess; groups form along chains of close faces.
 */
import { seededRandom } from '../align/jitter.js';

/** A symmetric weighted graph in compressed rows: node i's edges are targets[offsets[i] .. offsets[i + 1]). */
export interface Graph {
  readonly offsets: Int32Array;
  readonly targets: Int32Array;
  readonly weights: Float32Array;
}

/** Passes over all nodes: dlib's default; labels settle in a handful on face graphs, the rest costs little. */
export const WHISPER_ITERATIONS = 100;
export const WHISPER_SEED = 0x77157e5;

/** Builds compressed rows from an edge list (each undirected edge given once; self-loops allowed). */
export function graphFromEdges(nodes: number, edges: readonly (readonly [number, number, number])[]): Graph {
  const degree = new Int32Array(nodes + 1);
  for (const [a, b] of edges) {
    degree[a + 1]++;
    if (a !== b) degree[b + 1]++;
  }
  for (let i = 0; i < nodes; i++) degree[i + 1] += degree[i];
  const offsets = degree.slice();
  const fill = degree.slice(0, nodes);
  const targets = new Int32Array(offsets[nodes]);
  const weights = new Float32Array(offsets[nodes]);
  for (const [a, b, w] of edges) {
    targets[fill[a]] = b;
    weights[fill[a]++] = w;
    if (a !== b) {
      targets[fill[b]] = a;
      weights[fill[b]++] = w;
    }
  }
  return { offsets, targets, weights };
}

/**
 * A label per node; nodes with equal labels form one cluster. Deterministic for a given seed.
 * With `groupOf`, a node never takes a label already worn by another node of its group: faces of
 * one photo end in different clusters even when chains of links connect them.
 */
export function chineseWhispers(
  graph: Graph,
  iterations = WHISPER_ITERATIONS,
  seed = WHISPER_SEED,
  groupOf?: ArrayLike<number>,
): Int32Array {
  const n = graph.offsets.length - 1;
  const labels = Int32Array.from({ length: n }, (_, i) => i);
  const rnd = seededRandom(seed);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const score = new Map<number, number>();
  // Per label, how many nodes of each group wear it (only tracked when groups are given).
  const worn = groupOf
    ? new Map<number, Map<number, number>>(Array.from({ length: n }, (_, i) => [i, new Map([[groupOf[i], 1]])]))
    : null;
  const blocked = (label: number, node: number): boolean => {
    if (!worn || !groupOf || label === labels[node]) return false;
    return (worn.get(label)?.get(groupOf[node]) ?? 0) > 0;
  };
  const move = (node: number, to: number): void => {
    if (worn && groupOf) {
      const g = groupOf[node];
      const from = worn.get(labels[node]) as Map<number, number>;
      from.set(g, (from.get(g) as number) - 1);
      const dest = worn.get(to) ?? new Map<number, number>();
      dest.set(g, (dest.get(g) ?? 0) + 1);
      worn.set(to, dest);
    }
    labels[node] = to;
  };
  for (let it = 0; it < iterations; it++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    let changed = false;
    for (const node of order) {
      const from = graph.offsets[node],
        to = graph.offsets[node + 1];
      if (from === to) continue;
      score.clear();
      for (let e = from; e < to; e++) {
        const l = labels[graph.targets[e]];
        score.set(l, (score.get(l) ?? 0) + graph.weights[e]);
      }
      let best = labels[node],
        bestScore = -Infinity;
      // Ties go to the smaller label, so the outcome does not depend on Map order.
      for (const [l, s] of score) {
        if (blocked(l, node)) continue;
        if (s > bestScore || (s === bestScore && l < best)) [best, bestScore] = [l, s];
      }
      if (best !== labels[node]) {
        move(node, best);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return labels;
}
