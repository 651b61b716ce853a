/**
 * The built-in open-set calibration (src/match/open-set-table.ts) and its check (issue 17).
 *
 * Descriptors: every photo of LFW's pairs.txt, encoded through the public API with the default
 * kit (bench/lfw-api.ts, cached). People are split in two by a hash of their name:
 * - calibration half: every impostor pair (two photos of two different people) gives the impostor
 *   table (distances at pair false-accept rates from 5 / pairs up to 0.5); draws of N known people
 *   and other people as strangers give the search table (the threshold that names a share far of
 *   strangers, measured, for N = 1…1000): see src/match/open-set.ts for how the two are combined;
 * - evaluation half (people the tables never saw): `--draws` random draws of `--known` known people (one photo each enrolled,
 *   another photo of theirs as probe) and `--strangers` strangers (one photo each), as
 *   `facekit identify <known_dir>` answers them (nearest known person within the threshold):
 *   strangers named and known people recognised (named right), at 0.6, under the first version's
 *   independence rule and under the per-N thresholds, for each rate; then the default rate for
 *   several counts of known people (`--sizes`).
 *
 *   npm run bench:openset -- --data ../shared/data [--write]      (--write regenerates the table file)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGallery } from '../src/entry/gallery.js';
import { euclideanDistance } from '../src/match/distance.js';
import { EMBEDDER_ID } from '../src/embed/spec.js';
import { DEFAULT_OPEN_SET_FAR, type OpenSetTable, openSetThreshold } from '../src/match/open-set.js';
import { DEFAULT_DATA, PROJECT_ROOT, markdownTable, mean, parseFlags, writeResult } from './common.js';
import { apiDescriptors, kitOptions } from './lfw-api.js';
import { descriptorAt, imagesByPerson, type LfwFaces } from './lfw-faces.js';
import { readPairs } from './lfw-protocol.js';
import { seededRandom } from '../src/align/jitter.js';

/** Pair rates the impostor table holds, from the rarest the data can show up to half of all pairs. */
const RATE_GRID = [
  1e-7, 2e-7, 5e-7, 1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2,
  0.5,
];
/** Fewest impostor pairs (or strangers) a table point may rest on: below it, the quantile is noise. */
const MIN_PAIRS_PER_POINT = 5;
/** Known-people counts the search table is measured at (the calibration half has about 2,100 people). */
const KNOWN_GRID = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
/** Target rates the search table is measured at. */
const SEARCH_FAR = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2];
/** Draws per known-people count, and strangers per draw: 40,000 nearest distances per count, 40 of them below the 0.001 point. */
const SEARCH_DRAWS = 200;
const STRANGERS_PER_DRAW = 200;

const flags = parseFlags({
  data: DEFAULT_DATA,
  detector: '',
  retry: '',
  padding: '',
  alignment: '',
  threads: 1,
  known: 150,
  strangers: 200,
  draws: 50,
  rates: '0.1,0.05,0.02,0.01,0.005,0.001',
  /** Known-people counts of the second table (at the default rate). */
  sizes: '10,50,150,500',
  write: false,
  /** Draws per known-people count in gallery mode (a real SQLite gallery per draw); 0 skips it. */
  galleryDraws: 20,
  /** Only the photos bench:lfw-api (or bench:lfw-variants) has encoded so far. */
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

/** One draw of the evaluation: `known` people with two photos or more, and strangers among the rest. */
function drawPeople(withTwo: readonly number[], evalPeople: readonly number[], known: number, rnd: () => number) {
  const knownPeople = shuffle([...withTwo], rnd).slice(0, known);
  const knownSet = new Set(knownPeople);
  const strangers = shuffle(
    evalPeople.filter((p) => !knownSet.has(p)),
    rnd,
  ).slice(0, flags.strangers);
  return { knownPeople, strangers };
}

/** Nearest distance from each stranger row to any known row (squared sums, one sqrt at the end). */
function nearestDistances(faces: LfwFaces, strangers: readonly number[], known: readonly number[]): number[] {
  return strangers.map((s) => {
    const a = descriptorAt(faces, s);
    let best = Number.POSITIVE_INFINITY;
    for (const k of known) {
      const b = descriptorAt(faces, k);
      let sum = 0;
      for (let i = 0; i < a.length && sum < best; i++) sum += (a[i] - b[i]) ** 2;
      if (sum < best) best = sum;
    }
    return Math.sqrt(best);
  });
}

/** The distance at or below which a share `rate` of the sorted values lie. */
const quantile = (sorted: Float32Array, rate: number): number =>
  +sorted[Math.floor(rate * sorted.length) - 1].toFixed(4);

/**
 * The search table: for each known-people count N, SEARCH_DRAWS draws of N people (one random
 * photo each) and STRANGERS_PER_DRAW other people (one random photo each) from the calibration
 * half; the distance of each stranger to the nearest known photo; its quantile at each rate.
 */
function searchTable(faces: LfwFaces, byPerson: number[][], people: readonly number[]) {
  const rnd = seededRandom(9);
  const pick = (p: number) => byPerson[p][Math.floor(rnd() * byPerson[p].length)];
  const knownPeople = KNOWN_GRID.filter((n) => n + STRANGERS_PER_DRAW <= people.length);
  const searchDistances = knownPeople.map((n) => {
    const nearest: number[] = [];
    for (let d = 0; d < SEARCH_DRAWS; d++) {
      const order = shuffle([...people], rnd);
      nearest.push(
        ...nearestDistances(faces, order.slice(n, n + STRANGERS_PER_DRAW).map(pick), order.slice(0, n).map(pick)),
      );
    }
    const sorted = Float32Array.from(nearest).sort();
    return SEARCH_FAR.map((r) => quantile(sorted, r));
  });
  return { knownPeople, searchFar: SEARCH_FAR, searchDistances };
}

interface Rule {
  label: string;
  far: number | null;
  threshold: (n: number) => number;
}

/**
 * `draws` random draws of `known` people with two photos or more (the first enrolled, the second
 * the probe) and `strangers` other people (one photo each), all from the evaluation half; each
 * face named after its nearest known photo when within the rule's threshold, as
 * `facekit identify <known_dir>` decides.
 */
function evaluate(
  faces: LfwFaces,
  byPerson: number[][],
  evalPeople: readonly number[],
  known: number,
  rules: readonly Rule[],
) {
  const rnd = seededRandom(17);
  const withTwo = evalPeople.filter((p) => byPerson[p].length >= 2);
  const out = rules.map(() => ({ named: [] as number[], recognised: [] as number[] }));
  for (let d = 0; d < flags.draws; d++) {
    const { knownPeople, strangers } = drawPeople(withTwo, evalPeople, known, rnd);
    const gallery = knownPeople.map((p) => byPerson[p][0]);
    const nearest = (row: number): { person: number; distance: number } => {
      let best = { person: -1, distance: Number.POSITIVE_INFINITY };
      gallery.forEach((g, k) => {
        const dist = euclideanDistance(descriptorAt(faces, g), descriptorAt(faces, row));
        if (dist < best.distance) best = { person: knownPeople[k], distance: dist };
      });
      return best;
    };
    const strangerNearest = strangers.map((p) => nearest(byPerson[p][0]));
    const knownNearest = knownPeople.map((p) => ({ p, ...nearest(byPerson[p][1]) }));
    rules.forEach((rule, i) => {
      const t = rule.threshold(knownPeople.length);
      out[i].named.push(strangerNearest.filter((s) => s.distance <= t).length / strangers.length);
      out[i].recognised.push(
        knownNearest.filter((k) => k.distance <= t && k.person === k.p).length / knownPeople.length,
      );
    });
  }
  return out.map((o, i) => ({
    label: rules[i].label,
    far: rules[i].far,
    threshold: rules[i].threshold(known),
    named: mean(o.named),
    recognised: mean(o.recognised),
  }));
}

/**
 * Gallery mode, as users get it: per draw a new SQLite gallery (never calibrated, so its threshold is
 * the built-in per-N one for the people in it), one photo per known person enrolled through
 * `enrollMany`, then `identify()` on the strangers and on the known people's other photos. Same
 * seed and draws as `evaluate`, so the first `galleryDraws` draws are the folder-mode ones.
 */
async function evaluateGallery(faces: LfwFaces, byPerson: number[][], evalPeople: readonly number[], known: number) {
  const rnd = seededRandom(17);
  const withTwo = evalPeople.filter((p) => byPerson[p].length >= 2);
  const named: number[] = [];
  const recognised: number[] = [];
  let threshold = Number.NaN;
  for (let d = 0; d < flags.galleryDraws; d++) {
    const { knownPeople, strangers } = drawPeople(withTwo, evalPeople, known, rnd);
    const dir = mkdtempSync(join(tmpdir(), 'facekit-openset-'));
    const gallery = await openGallery({ path: join(dir, 'g.sqlite'), create: true });
    try {
      await gallery.enrollMany(
        knownPeople.map((p) => ({
          name: faces.people[p],
          faces: [{ descriptor: Float32Array.from(descriptorAt(faces, byPerson[p][0])) }],
        })),
      );
      const ask = (rows: number[]) => gallery.identify(rows.map((r) => Float32Array.from(descriptorAt(faces, r))));
      const strangerAnswers = await ask(strangers.map((p) => byPerson[p][0]));
      const knownAnswers = await ask(knownPeople.map((p) => byPerson[p][1]));
      threshold = knownAnswers[0].threshold;
      named.push(strangerAnswers.filter((a) => a.person !== null).length / strangers.length);
      recognised.push(knownAnswers.filter((a, i) => a.person === faces.people[knownPeople[i]]).length / known);
    } finally {
      await gallery.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { known, threshold, named: mean(named), recognised: mean(recognised) };
}

async function main(): Promise<void> {
  const lfwDir = join(flags.data, 'lfw');
  const images = [...new Set(readPairs(lfwDir).flatMap((p) => [p.a, p.b]))].sort();
  const faces = await apiDescriptors(lfwDir, images, kitOptions(flags), flags.threads, flags.cachedOnly);
  const byPerson = imagesByPerson(faces);
  const calib = faces.people.flatMap((_, p) => (nameHash(faces.people[p]) % 2 === 0 ? [p] : []));
  const evalPeople = faces.people.flatMap((_, p) => (nameHash(faces.people[p]) % 2 === 1 ? [p] : []));

  // Calibration half: every impostor pair, then the nearest-of-N search.
  const rows = calib.flatMap((p) => byPerson[p]);
  const personOf = faces.person;
  const impostors: number[] = [];
  for (let i = 0; i < rows.length; i++)
    for (let j = i + 1; j < rows.length; j++)
      if (personOf[rows[i]] !== personOf[rows[j]])
        impostors.push(euclideanDistance(descriptorAt(faces, rows[i]), descriptorAt(faces, rows[j])));
  const sorted = Float32Array.from(impostors).sort();
  const usable = RATE_GRID.filter((r) => r * sorted.length >= MIN_PAIRS_PER_POINT);
  const distances = usable.map((r) => quantile(sorted, r));
  const search = searchTable(faces, byPerson, calib);
  const made = `LFW pairs.txt photos through the default kit's public calls (face nearest the centre), the ${calib.length} people of the calibration half: ${rows.length} photos, ${sorted.length} impostor pairs; search table ${SEARCH_DRAWS} draws × ${STRANGERS_PER_DRAW} strangers per count; bench/openset.ts`;
  const table: OpenSetTable = { embedder: EMBEDDER_ID, made, distances, pairFar: usable, ...search };

  // Evaluation half: the table (known × strangers at each rate), then the default rate across counts.
  const rates = flags.rates.split(',').map(Number);
  const rules: Rule[] = [
    { label: 'tolerance 0.6 (face_recognition)', far: null, threshold: () => 0.6 },
    ...rates.flatMap((far): Rule[] => [
      {
        label: `independence rule (before), far ${far}`,
        far,
        threshold: (n) => openSetThreshold('', n, far, table, true).value,
      },
      { label: `built-in per-N, far ${far}`, far, threshold: (n) => openSetThreshold('', n, far, table).value },
    ]),
  ];
  const withTwo = evalPeople.filter((p) => byPerson[p].length >= 2).length;
  const main = evaluate(faces, byPerson, evalPeople, flags.known, rules);
  const pct = (x: number) => (100 * x).toFixed(1);
  console.log(
    `${made}\nevaluation half: ${evalPeople.length} people (${withTwo} with two photos); ${flags.draws} draws of ${flags.known} known + ${flags.strangers} strangers\n\n` +
      markdownTable(
        ['rule', 'target far %', `threshold at ${flags.known} known`, 'strangers named %', 'known recognised %'],
        main.map((r) => [
          r.label,
          r.far === null ? '—' : pct(r.far),
          r.threshold.toFixed(3),
          pct(r.named),
          pct(r.recognised),
        ]),
      ),
  );
  const far = DEFAULT_OPEN_SET_FAR;
  const sizes = flags.sizes
    .split(',')
    .map(Number)
    .filter((n) => n <= withTwo && n + flags.strangers <= evalPeople.length);
  const perSize = sizes.map((n) => ({
    n,
    rows: evaluate(faces, byPerson, evalPeople, n, [
      { label: 'before', far, threshold: (k) => openSetThreshold('', k, far, table, true).value },
      { label: 'after', far, threshold: (k) => openSetThreshold('', k, far, table).value },
    ]),
  }));
  console.log(
    `\nDefault rate ${pct(far)} % across known-people counts (before = independence rule, after = per-N):\n\n${markdownTable(
      [
        'known people',
        'threshold before',
        'threshold after',
        'named % before',
        'named % after',
        'recognised % before',
        'recognised % after',
      ],
      perSize.map(({ n, rows: [b, a] }) => [
        n,
        b.threshold.toFixed(3),
        a.threshold.toFixed(3),
        pct(b.named),
        pct(a.named),
        pct(b.recognised),
        pct(a.recognised),
      ]),
    )}`,
  );
  console.log(
    `\nsearch table (threshold measured for N known people at rate far):\n\n${markdownTable(
      ['N', ...SEARCH_FAR.map(String)],
      search.knownPeople.map((n, i) => [n, ...search.searchDistances[i].map((d) => d.toFixed(4))]),
    )}`,
  );
  const galleryRows = [];
  if (flags.galleryDraws > 0)
    for (const n of sizes) galleryRows.push(await evaluateGallery(faces, byPerson, evalPeople, n));
  if (galleryRows.length > 0)
    console.log(
      `\nGallery mode: openGallery().identify() on a gallery never calibrated (built-in per-N threshold at ${pct(far)} %), ${flags.galleryDraws} draws per count:\n\n${markdownTable(
        ['known people', 'threshold', 'strangers named %', 'known recognised %'],
        galleryRows.map((r) => [r.known, r.threshold.toFixed(3), pct(r.named), pct(r.recognised)]),
      )}`,
    );
  if (flags.write) {
    const file = join(PROJECT_ROOT, 'src', 'match', 'open-set-table.ts');
    writeFileSync(file, tableSource(table));
    console.log(`wrote ${file}`);
  }
  console.log(`wrote ${writeResult('openset', { flags, table, main, perSize, galleryRows })}`);
}

function tableSource(table: OpenSetTable): string {
  return `/** GENERATED by \`npm run bench:openset -- --write\` (bench/openset.ts); do not edit by hand. */
import type { OpenSetTable } from './open-set.js';

export const OPEN_SET_TABLES: readonly OpenSetTable[] = [
  {
    embedder: ${JSON.stringify(table.embedder)},
    made: ${JSON.stringify(table.made)},
    distances: ${JSON.stringify(table.distances)},
    pairFar: ${JSON.stringify(table.pairFar)},
    knownPeople: ${JSON.stringify(table.knownPeople)},
    searchFar: ${JSON.stringify(table.searchFar)},
    searchDistances: ${JSON.stringify(table.searchDistances)},
  },
];
`;
}

await main();
