/**
 * The built-in open-set calibration (src/match/open-set-table.ts) and its check (issue 17).
 *
 * Descriptors: every photo of LFW's pairs.txt, encoded through the public API with the default
 * kit (bench/lfw-api.ts, cached). People are split in two by a hash of their name:
 * - calibration half: every impostor pair (two photos of two different people) gives the table of
 *   distances at pair false-accept rates from 5 / pairs up to 0.5;
 * - evaluation half: `--draws` random draws of `--known` known people (one photo each enrolled,
 *   another photo of theirs as probe) and `--strangers` strangers (one photo each), as
 *   `facekit identify <known_dir>` answers them (nearest known person within the threshold):
 *   strangers named and known people recognised (named right), at 0.6 and at the built-in
 *   threshold for each rate.
 *
 *   npm run bench:openset -- --data ../shared/data [--write]      (--write regenerates the table file)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { euclideanDistance } from '../src/match/distance.js';
import { EMBEDDER_ID } from '../src/embed/spec.js';
import { openSetThreshold } from '../src/match/open-set.js';
import { DEFAULT_DATA, PROJECT_ROOT, markdownTable, mean, parseFlags, writeResult } from './common.js';
import { apiDescriptors, kitOptions } from './lfw-api.js';
import { descriptorAt, imagesByPerson } from './lfw-faces.js';
import { readPairs } from './lfw-protocol.js';
import { seededRandom } from '../src/align/jitter.js';

/** Pair rates the table holds, from the rarest the data can show up to half of all pairs. */
const RATE_GRID = [
  1e-7, 2e-7, 5e-7, 1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2,
  0.5,
];
/** Fewest impostor pairs a table point may rest on: below it, the quantile is noise. */
const MIN_PAIRS_PER_POINT = 5;

const flags = parseFlags({
  data: DEFAULT_DATA,
  detector: '',
  retry: '',
  padding: '',
  threads: 1,
  known: 150,
  strangers: 200,
  draws: 50,
  rates: '0.1,0.01,0.001',
  write: false,
  /** Only the photos bench:lfw-api has encoded so far (a run in progress saves every 500). */
  cachedOnly: false,
});

/** FNV-1a: a split of people by name that does not depend on the data's order. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function shuffle<T>(xs: T[], rnd: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

async function main(): Promise<void> {
  const lfwDir = join(flags.data, 'lfw');
  const images = [...new Set(readPairs(lfwDir).flatMap((p) => [p.a, p.b]))].sort();
  const faces = await apiDescriptors(lfwDir, images, kitOptions(flags), flags.threads, flags.cachedOnly);
  const byPerson = imagesByPerson(faces);
  const calib = faces.people.flatMap((_, p) => (nameHash(faces.people[p]) % 2 === 0 ? [p] : []));
  const evalPeople = faces.people.flatMap((_, p) => (nameHash(faces.people[p]) % 2 === 1 ? [p] : []));

  // Calibration half: every impostor pair.
  const rows = calib.flatMap((p) => byPerson[p]);
  const personOf = faces.person;
  const impostors: number[] = [];
  for (let i = 0; i < rows.length; i++)
    for (let j = i + 1; j < rows.length; j++)
      if (personOf[rows[i]] !== personOf[rows[j]])
        impostors.push(euclideanDistance(descriptorAt(faces, rows[i]), descriptorAt(faces, rows[j])));
  const sorted = Float32Array.from(impostors).sort();
  const usable = RATE_GRID.filter((r) => r * sorted.length >= MIN_PAIRS_PER_POINT);
  const distances = usable.map((r) => +sorted[Math.floor(r * sorted.length) - 1].toFixed(4));
  const made = `LFW pairs.txt photos through createFaceKit().analyze() (face nearest the centre), the ${calib.length} people of the calibration half (${rows.length} photos, ${sorted.length} impostor pairs); bench/openset.ts`;
  const table = { embedder: EMBEDDER_ID, made, distances, pairFar: usable };

  // Evaluation half.
  const rnd = seededRandom(17);
  const withTwo = evalPeople.filter((p) => byPerson[p].length >= 2);
  const rates = flags.rates.split(',').map(Number);
  const rules: { label: string; threshold: (n: number) => number }[] = [
    { label: 'tolerance 0.6 (before)', threshold: () => 0.6 },
    ...rates.map((far) => ({
      label: `built-in, far ${far}`,
      threshold: (n: number) => openSetTableThreshold(table, n, far),
    })),
  ];
  const results = rules.map(() => ({ named: [] as number[], recognised: [] as number[], threshold: 0 }));
  for (let d = 0; d < flags.draws; d++) {
    const known = shuffle([...withTwo], rnd).slice(0, flags.known);
    const knownSet = new Set(known);
    const strangers = shuffle(
      evalPeople.filter((p) => !knownSet.has(p)),
      rnd,
    ).slice(0, flags.strangers);
    const gallery = known.map((p) => byPerson[p][0]);
    const nearest = (row: number): { person: number; distance: number } => {
      let best = { person: -1, distance: Number.POSITIVE_INFINITY };
      gallery.forEach((g, k) => {
        const dist = euclideanDistance(descriptorAt(faces, g), descriptorAt(faces, row));
        if (dist < best.distance) best = { person: known[k], distance: dist };
      });
      return best;
    };
    const strangerNearest = strangers.map((p) => nearest(byPerson[p][0]));
    const knownNearest = known.map((p) => ({ p, ...nearest(byPerson[p][1]) }));
    rules.forEach((rule, i) => {
      const t = rule.threshold(known.length);
      results[i].threshold = t;
      results[i].named.push(strangerNearest.filter((s) => s.distance <= t).length / strangers.length);
      results[i].recognised.push(knownNearest.filter((k) => k.distance <= t && k.person === k.p).length / known.length);
    });
  }
  const pct = (x: number) => (100 * x).toFixed(1);
  console.log(
    `${made}\nevaluation half: ${evalPeople.length} people (${withTwo.length} with two photos); ${flags.draws} draws of ${flags.known} known + ${flags.strangers} strangers\n\n` +
      markdownTable(
        ['rule', `threshold at ${flags.known} known`, 'strangers named %', 'known recognised %'],
        rules.map((r, i) => [
          r.label,
          results[i].threshold.toFixed(3),
          pct(mean(results[i].named)),
          pct(mean(results[i].recognised)),
        ]),
      ),
  );
  console.log(
    `\n${markdownTable(
      ['pair FAR', 'distance'],
      usable.map((r, i) => [String(r), distances[i].toFixed(4)]),
    )}`,
  );
  if (flags.write) {
    const file = join(PROJECT_ROOT, 'src', 'match', 'open-set-table.ts');
    writeFileSync(file, tableSource(table));
    console.log(`wrote ${file}`);
  }
  console.log(
    `wrote ${writeResult('openset', { flags, table, rules: rules.map((r, i) => ({ label: r.label, ...results[i], named: mean(results[i].named), recognised: mean(results[i].recognised) })) })}`,
  );
}

/** openSetThreshold on a table not yet written to the source file. */
function openSetTableThreshold(table: { distances: number[]; pairFar: number[] }, n: number, far: number): number {
  return openSetThreshold('', n, far, table).value;
}

function tableSource(table: { embedder: string; made: string; distances: number[]; pairFar: number[] }): string {
  return `/** GENERATED by \`npm run bench:openset -- --write\` (bench/openset.ts); do not edit by hand. */
import type { OpenSetTable } from './open-set.js';

export const OPEN_SET_TABLES: readonly OpenSetTable[] = [
  {
    embedder: ${JSON.stringify(table.embedder)},
    made: ${JSON.stringify(table.made)},
    distances: ${JSON.stringify(table.distances)},
    pairFar: ${JSON.stringify(table.pairFar)},
  },
];
`;
}

await main();
