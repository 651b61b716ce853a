/**
 * Clustering benchmark: every photo of the LFW people with at least 5 photos (their cached
 * descriptors, bench/lfw-faces.ts), clustered as `facekit cluster` does (Chinese whispers over
 * links closer than the threshold), at several thresholds. Pairwise precision: of the pairs put
 * in one cluster, the share that are one person; recall: of the same-person pairs, the share put
 * in one cluster.
 *
 *   npm run bench:cluster -- [--data DIR] [--min-photos 5] [--max-photos 0 (no limit)] [--thresholds 0.4,0.45,0.47,0.5,0.55,0.6] [--recompute]
 */
import { clusterFaces, CLUSTER_THRESHOLD } from '../src/cluster/cluster.js';
import { DEFAULT_DATA, markdownTable, parseFlags, writeResult } from './common.js';
import { descriptorAt, imagesByPerson, lfwFaces } from './lfw-faces.js';

const flags = parseFlags({
  data: DEFAULT_DATA,
  minPhotos: 5,
  maxPhotos: 0,
  thresholds: '0.4,0.45,0.47,0.5,0.55,0.6',
  recompute: false,
  threads: 2,
  out: 'cluster',
});

const pairs = (n: number): number => (n * (n - 1)) / 2;

/** Pairwise precision, recall and F1 of `clusters` (lists of item indices) against `truth` labels. */
export function pairwiseScores(
  clusters: readonly number[][],
  truth: ArrayLike<number>,
): { precision: number; recall: number; f1: number } {
  let predicted = 0,
    correct = 0;
  for (const c of clusters) {
    predicted += pairs(c.length);
    const byLabel = new Map<number, number>();
    for (const i of c) byLabel.set(truth[i], (byLabel.get(truth[i]) ?? 0) + 1);
    for (const k of byLabel.values()) correct += pairs(k);
  }
  const sizes = new Map<number, number>();
  for (let i = 0; i < truth.length; i++) sizes.set(truth[i], (sizes.get(truth[i]) ?? 0) + 1);
  let actual = 0;
  for (const k of sizes.values()) actual += pairs(k);
  const precision = predicted === 0 ? 1 : correct / predicted;
  const recall = actual === 0 ? 1 : correct / actual;
  return { precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}

async function main(): Promise<void> {
  const faces = await lfwFaces(flags.data, { recompute: flags.recompute, threads: flags.threads });
  const chosen = imagesByPerson(faces).filter(
    (g) => g.length >= flags.minPhotos && (flags.maxPhotos === 0 || g.length <= flags.maxPhotos),
  );
  const items = chosen.flatMap((g, label) => g.map((i) => ({ i, label })));
  const descriptors = items.map((x) => descriptorAt(faces, x.i));
  const truth = Int32Array.from(items, (x) => x.label);
  const rows = [];
  for (const threshold of flags.thresholds.split(',').map(Number)) {
    const t0 = performance.now();
    // Every LFW photo is its own photo: no two faces share one, so no cannot-link applies.
    const clusters = clusterFaces(descriptors, { threshold });
    const seconds = (performance.now() - t0) / 1000;
    const s = pairwiseScores(clusters, truth);
    rows.push({
      threshold,
      ...s,
      clusters: clusters.length,
      multi: clusters.filter((c) => c.length > 1).length,
      singles: clusters.filter((c) => c.length === 1).length,
      largest: clusters[0]?.length ?? 0,
      seconds,
    });
    process.stderr.write(
      `  threshold ${threshold}: F1 ${s.f1.toFixed(4)}, ${clusters.length} clusters, ${seconds.toFixed(1)} s\n`,
    );
  }
  const file = writeResult(flags.out, { flags, people: chosen.length, faces: items.length, rows });
  console.log(
    `\n## Clustering LFW people with >= ${flags.minPhotos}${flags.maxPhotos ? ` and <= ${flags.maxPhotos}` : ''} photos (${items.length} faces of ${chosen.length} people; default threshold ${CLUSTER_THRESHOLD})\n`,
  );
  console.log(
    markdownTable(
      [
        'threshold',
        'pairwise precision',
        'pairwise recall',
        'F1',
        `clusters (true: ${chosen.length})`,
        'clusters >= 2 faces',
        'single faces',
        'largest',
        'seconds',
      ],
      rows.map((r) => [
        r.threshold.toFixed(2),
        r.precision.toFixed(4),
        r.recall.toFixed(4),
        r.f1.toFixed(4),
        r.clusters,
        r.multi,
        r.singles,
        r.largest,
        r.seconds.toFixed(2),
      ]),
    ),
  );
  console.log(`\nwritten ${file}`);
}

await main();
