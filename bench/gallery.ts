/**
 * Gallery benchmark.
 *
 * Scale: galleries of 10k … 1M descriptors: every real LFW descriptor (bench/lfw-faces.ts) plus
 * synthetic identities drawn around them (bench/synthetic.ts). Probes: one held-out photo of 500
 * real LFW people and one extra photo of 500 synthetic identities. Each phase runs in its own
 * process so that its memory is its own: build (enrolment time, database size), exact (open time,
 * identify p50/p99, batched throughput, RSS), ann (HNSW build time and file size, p50/p99,
 * recall@1 against exact), ann-load (reopening with the saved index: load time, steady RSS, an
 * incremental update).
 *
 * Open set: LFW people with >= 2 photos enrolled with one photo each; probes are their other
 * photos and the photos of people with one photo (strangers, half for calibration, half for
 * testing); rank-1 rate, open-set identification rate and false-accept rate at the calibrated
 * thresholds.
 *
 *   npm run bench:gallery -- [--data DIR] [--sizes 10000,50000,100000,1000000] [--recompute]
 *                            [--connectivity 32 --ef-add 128 --ef-search 0 (by size) --ef-sweep 64,96,128,192,256 --quantization f16]
 *                            [--no-openset] [--no-scale]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../src/align/jitter.js';
import { ANN_DEFAULTS, ANN_LARGE_GALLERY, AnnIndex, annSearchBeam, type AnnParams } from '../src/search/ann.js';
import { DescriptorMatrix, exactKnn } from '../src/search/exact.js';
import { openGallery, type Gallery, type Identification } from '../src/gallery/gallery.js';
import type { EnrollRequest } from '../src/gallery/store.js';
import { DEFAULT_TOLERANCE, euclideanDistance } from '../src/match/distance.js';
import { DEFAULT_DATA, markdownTable, parseFlags, percentile, PROJECT_ROOT, writeResult } from './common.js';
import { descriptorAt, imagesByPerson, lfwFaces, type LfwFaces } from './lfw-faces.js';
import { fitSynthetic, SyntheticPeople } from './synthetic.js';

const flags = parseFlags({
  data: DEFAULT_DATA,
  sizes: '10000,50000,100000,1000000',
  recompute: false,
  work: join(PROJECT_ROOT, 'scratch', 'bench-gallery'),
  phase: '',
  size: 0,
  threads: 2,
  exactQueriesMax: 300,
  connectivity: ANN_DEFAULTS.connectivity,
  efAdd: ANN_DEFAULTS.expansionAdd,
  efSearch: 0,
  efSweep: '64,96,128,192,256',
  quantization: ANN_DEFAULTS.quantization as string,
  noOpenset: false,
  noScale: false,
  out: 'gallery',
});
/** --ef-search 0 (the default) leaves the beam to the gallery: annSearchBeam, by its size. */
const annParams: Partial<AnnParams> = {
  connectivity: flags.connectivity,
  expansionAdd: flags.efAdd,
  quantization: flags.quantization as AnnParams['quantization'],
  ...(flags.efSearch > 0 ? { expansionSearch: flags.efSearch } : {}),
};
const efLabel =
  flags.efSearch > 0
    ? String(flags.efSearch)
    : `by size (${ANN_DEFAULTS.expansionSearch}, ${annSearchBeam(ANN_LARGE_GALLERY)} from ${ANN_LARGE_GALLERY} faces)`;

/** Probes per kind (real held-out LFW photos, synthetic identities' extra photos). */
const PROBES_PER_KIND = 500;
/** People per enrolment transaction while building: big transactions, each person still whole. */
const BUILD_BATCH_PEOPLE = 2000;
/** Queries before timing starts: JIT warm-up and the first page faults of the matrix. */
const WARMUP_QUERIES = 20;
/** Identify calls batched together for the throughput figure (exact search's QUERY_BLOCK). */
const BATCH = 8;
const SEED = 0x9a11e7;

const MiB = 2 ** 20;

function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

interface Probe {
  descriptor: Float32Array;
  /** Expected person name. */
  person: string;
  kind: 'real' | 'synthetic';
}

/** The gallery of size n and its probes, the same for every phase (seeded). */
function composition(faces: LfwFaces, n: number): { requests: EnrollRequest[]; probes: Probe[] } {
  const rnd = seededRandom(SEED);
  const groups = imagesByPerson(faces);
  const multi = groups.map((g, p) => ({ g, p })).filter((x) => x.g.length >= 2);
  // Held-out people: every k-th person with >= 2 photos; their last photo is the probe.
  const step = Math.max(1, Math.floor(multi.length / PROBES_PER_KIND));
  const held = multi.filter((_, i) => i % step === 0).slice(0, PROBES_PER_KIND);
  const heldSet = new Set(held.map((h) => h.p));
  const probes: Probe[] = held.map((h) => ({
    descriptor: descriptorAt(faces, h.g[h.g.length - 1]).slice(),
    person: faces.people[h.p],
    kind: 'real',
  }));
  // Probe people first, so that even the smallest gallery holds everyone a real probe looks for.
  const order = [...held.map((h) => h.p), ...groups.map((_, p) => p).filter((p) => !heldSet.has(p))];
  const requests: EnrollRequest[] = [];
  let count = 0;
  for (const p of order) {
    if (count >= n) break;
    const g = heldSet.has(p) ? groups[p].slice(0, -1) : groups[p];
    const take = g.slice(0, n - count);
    requests.push({ name: faces.people[p], faces: take.map((i) => ({ descriptor: descriptorAt(faces, i).slice() })) });
    count += take.length;
  }
  const synth = new SyntheticPeople(fitSynthetic(faces), SEED + 1);
  let k = 0;
  while (count < n) {
    const centre = synth.centre();
    const m = Math.min(synth.photoCount(), n - count);
    const block = new Float32Array(m * faces.dims);
    for (let j = 0; j < m; j++) synth.face(centre, block, j * faces.dims);
    const name = `synthetic-${k++}`;
    requests.push({
      name,
      faces: Array.from({ length: m }, (_, j) => ({
        descriptor: block.subarray(j * faces.dims, (j + 1) * faces.dims),
      })),
    });
    count += m;
    // One probe per identity for the first identities, spread by the seeded coin.
    if (probes.length < 2 * PROBES_PER_KIND && rnd() < 0.5) {
      const q = new Float32Array(faces.dims);
      synth.face(centre, q);
      probes.push({ descriptor: q, person: name, kind: 'synthetic' });
    }
  }
  return { requests, probes };
}

const dbFile = (n: number) => join(flags.work, `gallery-${n}.db`);
const phaseFile = (n: number, phase: string) => join(flags.work, `result-${n}-${phase}.json`);

async function timeQueries(
  g: Gallery,
  probes: Probe[],
): Promise<{ ms: number[]; answers: Awaited<ReturnType<Gallery['identify']>> }> {
  for (const p of probes.slice(0, WARMUP_QUERIES)) await g.identify([p.descriptor]);
  const ms: number[] = [];
  const answers = [];
  for (const p of probes) {
    const t0 = performance.now();
    const [a] = await g.identify([p.descriptor]);
    ms.push(performance.now() - t0);
    answers.push(a);
  }
  return { ms, answers };
}

function latency(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), n: s.length };
}

const rank1 = (answers: { nearest: string }[], probes: Probe[]) =>
  answers.filter((a, i) => a.nearest === probes[i].person).length / answers.length;

const probeFile = (n: number) => join(flags.work, `probes-${n}.json`);

/** Share of probes whose ANN answer is the exact search's nearest face: all probes, and real and synthetic ones apart. */
function recallAgainstExact(n: number, probes: Probe[], answers: { faceId: number }[]) {
  const truth = (JSON.parse(readFileSync(phaseFile(n, 'exact'), 'utf8')) as { truth: Record<string, number> }).truth;
  const checked = Object.entries(truth).map(([i, id]) => ({ i: Number(i), id }));
  const share = (kind?: Probe['kind']) => {
    const some = checked.filter((c) => kind === undefined || probes[c.i].kind === kind);
    return some.length === 0 ? Number.NaN : some.filter((c) => answers[c.i].faceId === c.id).length / some.length;
  };
  return {
    recallAt1: share(),
    recallReal: share('real'),
    recallSynthetic: share('synthetic'),
    recallQueries: checked.length,
  };
}

/** The build phase's probes, read back by the later phases (which thus never hold the whole composition in memory). */
function readProbes(n: number): Probe[] {
  const doc = JSON.parse(readFileSync(probeFile(n), 'utf8')) as { person: string; kind: Probe['kind']; d: number[] }[];
  return doc.map((p) => ({ person: p.person, kind: p.kind, descriptor: Float32Array.from(p.d) }));
}

async function phase(n: number, name: string, faces: LfwFaces): Promise<Record<string, unknown>> {
  const file = dbFile(n);
  if (name === 'build') {
    const { requests, probes } = composition(faces, n);
    writeFileSync(
      probeFile(n),
      JSON.stringify(probes.map((p) => ({ person: p.person, kind: p.kind, d: [...p.descriptor] }))),
    );
    for (const suffix of ['', '-wal', '-shm', '.hnsw']) rmSync(file + suffix, { force: true });
    const t0 = performance.now();
    const g = await openGallery({ path: file, index: 'exact' });
    for (let i = 0; i < requests.length; i += BUILD_BATCH_PEOPLE)
      await g.enrollMany(requests.slice(i, i + BUILD_BATCH_PEOPLE));
    const faceCount = g.size;
    await g.close();
    const seconds = (performance.now() - t0) / 1000;
    return {
      faces: faceCount,
      people: requests.length,
      enrolSeconds: seconds,
      dbBytes: fileSize(file) + fileSize(`${file}-wal`),
      probes: probes.length,
    };
  }
  const probes = readProbes(n);
  if (name === 'exact') {
    const t0 = performance.now();
    const g = await openGallery({ path: file, index: 'exact' });
    const openSeconds = (performance.now() - t0) / 1000;
    const rssOpen = process.memoryUsage().rss;
    // At 1M a single query costs ~0.25 s: single-query latency on a subset keeps the phase in minutes;
    // the batched pass answers every probe, so recall@1 is measured on all of them.
    const subset =
      n >= 500_000 ? probes.filter((_, i) => i % Math.ceil(probes.length / flags.exactQueriesMax) === 0) : probes;
    const { ms, answers } = await timeQueries(g, subset);
    const tb = performance.now();
    const batched: Identification[] = [];
    for (let i = 0; i < probes.length; i += BATCH)
      batched.push(...(await g.identify(probes.slice(i, i + BATCH).map((p) => p.descriptor))));
    const batchMsPerQuery = (performance.now() - tb) / probes.length;
    assert(
      subset.every((p, i) => batched[probes.indexOf(p)].faceId === answers[i].faceId),
      'batched and single exact answers differ',
    );
    await g.close();
    const truth = Object.fromEntries(batched.map((a, i) => [i, a.faceId]));
    return {
      openSeconds,
      rssOpen,
      peak: peakRss(),
      latency: latency(ms),
      batchMsPerQuery,
      rank1: rank1(batched, probes),
      truth,
    };
  }
  if (name === 'ann') {
    rmSync(`${file}.hnsw`, { force: true });
    const g = await openGallery({ path: file, index: 'ann', ann: annParams, threads: flags.threads });
    const t0 = performance.now();
    await g.indexInfo();
    const buildSeconds = (performance.now() - t0) / 1000;
    const rssBuilt = process.memoryUsage().rss;
    const { ms, answers } = await timeQueries(g, probes);
    await g.close();
    return {
      buildSeconds,
      indexBytes: fileSize(`${file}.hnsw`),
      rssBuilt,
      peak: peakRss(),
      latency: latency(ms),
      ...recallAgainstExact(n, probes, answers),
      rank1: rank1(answers, probes),
    };
  }
  if (name === 'ann-load') {
    const t0 = performance.now();
    const g = await openGallery({ path: file, index: 'ann', ann: annParams, threads: flags.threads });
    await g.indexInfo();
    const loadSeconds = (performance.now() - t0) / 1000;
    const { ms } = await timeQueries(g, probes);
    const rssSteady = process.memoryUsage().rss;
    // Peak of opening and searching alone, before the incremental update below grows the matrix.
    const peakLoad = peakRss();
    // Incremental: 100 new people × 10 faces, caught up in memory by the next query, saved on close.
    const synth = new SyntheticPeople(fitSynthetic(faces), SEED + 2);
    const extra: EnrollRequest[] = Array.from({ length: 100 }, (_, i) => {
      const c = synth.centre();
      return {
        name: `late-${i}`,
        faces: Array.from({ length: 10 }, () => {
          const d = new Float32Array(faces.dims);
          synth.face(c, d);
          return { descriptor: d };
        }),
      };
    });
    const te = performance.now();
    await g.enrollMany(extra);
    await g.identify([probes[0].descriptor]);
    const incrementalMs = performance.now() - te;
    const tc = performance.now();
    await g.close();
    const saveSeconds = (performance.now() - tc) / 1000;
    const peak = peakRss();
    // Leave the gallery as built, for reruns of the other phases (after the peak is read: this reopens it).
    const h = await openGallery({ path: file, index: 'exact' });
    for (const r of extra) await h.removePerson(r.name);
    await h.close();
    return { loadSeconds, rssSteady, peakLoad, peak, latency: latency(ms), incrementalMs, saveSeconds };
  }
  if (name === 'ann-sweep') {
    // The saved graph with other search-time candidate lists: the recall/latency curve behind ANN_DEFAULTS.expansionSearch.
    const rows = [];
    for (const ef of flags.efSweep.split(',').map(Number)) {
      const g = await openGallery({
        path: file,
        index: 'ann',
        ann: { ...annParams, expansionSearch: ef },
        threads: flags.threads,
      });
      const { ms, answers } = await timeQueries(g, probes);
      await g.close();
      rows.push({ ef, latency: latency(ms), ...recallAgainstExact(n, probes, answers) });
    }
    return { rows };
  }
  throw new Error(`unknown phase ${name}`);
}

function assert(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

function runChild(n: number, name: string): Record<string, unknown> {
  process.stderr.write(`  ${n}: ${name}…\n`);
  const args = [
    '--import',
    'tsx',
    join(PROJECT_ROOT, 'bench', 'gallery.ts'),
    '--phase',
    name,
    '--size',
    String(n),
    '--data',
    flags.data,
    '--work',
    flags.work,
    '--threads',
    String(flags.threads),
    '--exact-queries-max',
    String(flags.exactQueriesMax),
    '--connectivity',
    String(flags.connectivity),
    '--ef-add',
    String(flags.efAdd),
    '--ef-search',
    String(flags.efSearch),
    '--ef-sweep',
    flags.efSweep,
    '--quantization',
    flags.quantization,
  ];
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`phase ${name} at ${n} failed (exit ${r.status})`);
  return JSON.parse(readFileSync(phaseFile(n, name), 'utf8')) as Record<string, unknown>;
}

/** Neighbours for the intrinsic-dimension estimate: enough for a stable MLE, few enough to stay local. */
const LID_NEIGHBOURS = 20;
/** Gallery rows whose distances to a probe give its mean distance (relative contrast). */
const CONTRAST_SAMPLE = 2000;
/** Deliberately weak HNSW settings: where both data sets score 1.0, nothing is learnt about which is harder. */
const REALISM_M = [8, 16];
const REALISM_EF = [4, 16];

/**
 * Is the generator harder for HNSW than real faces? Two galleries of equal size: every real LFW
 * face but the held-out probes, and as many synthetic faces (same photo counts per identity),
 * each probed as the scale galleries are. Reports the local intrinsic dimension (Levina-Bickel
 * MLE over the 20 nearest), the relative contrast (mean distance / nearest distance; lower is
 * harder) and recall@1 of plain HNSW search at weak settings.
 */
function realism(faces: LfwFaces) {
  const d = faces.dims;
  const groups = imagesByPerson(faces);
  const multi = groups.filter((g) => g.length >= 2);
  const step = Math.max(1, Math.floor(multi.length / PROBES_PER_KIND));
  const heldOut = new Set(
    multi
      .filter((_, i) => i % step === 0)
      .slice(0, PROBES_PER_KIND)
      .map((g) => g[g.length - 1]),
  );
  const realRows = Array.from({ length: faces.images.length }, (_, i) => i).filter((i) => !heldOut.has(i));
  const n = realRows.length;
  const real = new Float32Array(n * d);
  realRows.forEach((r, j) => real.set(descriptorAt(faces, r), j * d));
  const realProbes = [...heldOut].map((i) => descriptorAt(faces, i).slice());
  const synth = new SyntheticPeople(fitSynthetic(faces), SEED + 3);
  const rnd = seededRandom(SEED + 4);
  const fake = new Float32Array(n * d);
  const fakeProbes: Float32Array[] = [];
  for (let count = 0; count < n; ) {
    const centre = synth.centre();
    const m = Math.min(synth.photoCount(), n - count);
    for (let j = 0; j < m; j++) synth.face(centre, fake, (count + j) * d);
    count += m;
    if (fakeProbes.length < PROBES_PER_KIND && rnd() < 0.5) {
      const q = new Float32Array(d);
      synth.face(centre, q);
      fakeProbes.push(q);
    }
  }
  const measure = (label: string, vectors: Float32Array, probes: Float32Array[]) => {
    const matrix = new DescriptorMatrix(d, {
      ids: Float64Array.from({ length: n }, (_, i) => i + 1),
      persons: new Int32Array(n),
      vectors,
    });
    const nearest = exactKnn(matrix, probes, LID_NEIGHBOURS);
    let lid = 0,
      contrast = 0;
    nearest.forEach((nb, q) => {
      const far = nb.distances[LID_NEIGHBOURS - 1];
      let logs = 0;
      for (let i = 0; i < LID_NEIGHBOURS - 1; i++) logs += Math.log(nb.distances[i] / far);
      lid += -(LID_NEIGHBOURS - 1) / logs;
      let sum = 0;
      for (let s = 0; s < CONTRAST_SAMPLE; s++)
        sum += euclideanDistance(matrix.row(Math.floor((s * n) / CONTRAST_SAMPLE)), probes[q]);
      contrast += sum / CONTRAST_SAMPLE / nb.distances[0];
    });
    const recall: Record<string, number> = {};
    for (const connectivity of REALISM_M) {
      // expansionSearch 1: the beam is then the count asked for, so one graph serves every ef.
      const ann = AnnIndex.build(
        matrix,
        { connectivity, expansionAdd: 32, expansionSearch: 1, quantization: 'f32' },
        1,
      );
      for (const ef of REALISM_EF)
        recall[`M${connectivity} ef${ef}`] =
          probes.filter((p, q) => ann.search(p, ef).ids[0] === matrix.idAt(nearest[q].rows[0])).length / probes.length;
    }
    return {
      label,
      faces: n,
      probes: probes.length,
      lid: lid / probes.length,
      contrast: contrast / probes.length,
      recall,
    };
  };
  return [measure('real LFW', real, realProbes), measure('synthetic', fake, fakeProbes)];
}

/** Open-set identification on LFW at calibrated thresholds; see the header. */
async function openSet(faces: LfwFaces) {
  const groups = imagesByPerson(faces);
  const enrolled = groups.map((g, p) => ({ g, p })).filter((x) => x.g.length >= 2);
  const singles = groups.map((g, p) => ({ g, p })).filter((x) => x.g.length === 1);
  const calStrangers = singles.filter((_, i) => i % 2 === 0);
  const testStrangers = singles.filter((_, i) => i % 2 === 1);
  const genuine = enrolled.flatMap((x) => x.g.slice(1).map((i) => ({ i, person: faces.people[x.p] })));
  const file = join(flags.work, 'openset.db');
  for (const suffix of ['', '-wal', '-shm', '.hnsw']) rmSync(file + suffix, { force: true });
  const g = await openGallery({ path: file, index: 'exact' });
  await g.enrollMany(
    enrolled.map((x) => ({ name: faces.people[x.p], faces: [{ descriptor: descriptorAt(faces, x.g[0]).slice() }] })),
  );
  const d = (i: number) => descriptorAt(faces, i).slice();
  const genuineAnswers = await g.identify(
    genuine.map((x) => d(x.i)),
    { threshold: 10 },
  );
  const strangerAnswers = await g.identify(
    testStrangers.map((x) => d(x.g[0])),
    { threshold: 10 },
  );
  const rank1 = genuineAnswers.filter((a, i) => a.nearest === genuine[i].person).length / genuine.length;
  const rowAt = (source: string, far: number | null, level: string, threshold: number) => ({
    source,
    far,
    level,
    threshold,
    dir:
      genuineAnswers.filter((a, i) => a.nearest === genuine[i].person && a.distance <= threshold).length /
      genuine.length,
    farMeasured: strangerAnswers.filter((a) => a.distance <= threshold).length / strangerAnswers.length,
  });
  const rows = [rowAt('default tolerance', null, '-', DEFAULT_TOLERANCE)];
  const FARS = [0.01, 0.001];
  const sources: { label: string; from?: { descriptors: Float32Array[]; names: string[]; source: string } }[] = [
    { label: 'gallery only' },
    {
      label: 'strangers (cal. half)',
      from: {
        descriptors: calStrangers.map((x) => d(x.g[0])),
        names: calStrangers.map((x) => faces.people[x.p]),
        source: 'lfw strangers, calibration half',
      },
    },
    {
      label: "strangers + enrolled people's other photos",
      from: {
        descriptors: [...calStrangers.map((x) => d(x.g[0])), ...genuine.map((x) => d(x.i))],
        names: [...calStrangers.map((x) => faces.people[x.p]), ...genuine.map((x) => x.person)],
        source:
          "lfw strangers (calibration half) and the enrolled people's other photos, each searched with its own person left out",
      },
    },
  ];
  const calibrations = [];
  for (const s of sources) {
    for (const far of FARS) {
      let c: Awaited<ReturnType<typeof g.calibrate>>[number];
      try {
        [c] = await g.calibrate({ far, from: s.from });
      } catch (e) {
        calibrations.push({ source: s.label, far, error: (e as Error).message });
        continue;
      }
      calibrations.push({
        source: s.label,
        far,
        pairThreshold: c.pairThreshold,
        searchThreshold: c.searchThreshold,
        impostors: c.impostors.total,
        probes: c.searchImpostors?.total ?? 0,
      });
      rows.push(rowAt(s.label, far, 'pair (1:1)', c.pairThreshold));
      if (c.searchThreshold !== null) rows.push(rowAt(s.label, far, 'search (1:N)', c.searchThreshold));
    }
  }
  await g.close();
  return {
    enrolledPeople: enrolled.length,
    genuineProbes: genuine.length,
    testStrangers: testStrangers.length,
    calStrangers: calStrangers.length,
    rank1,
    rows,
    calibrations,
  };
}

async function main(): Promise<void> {
  mkdirSync(flags.work, { recursive: true });
  const faces = await lfwFaces(flags.data, { recompute: flags.recompute, threads: flags.threads });
  if (flags.phase) {
    const result = await phase(flags.size, flags.phase, faces);
    writeFileSync(phaseFile(flags.size, flags.phase), JSON.stringify(result));
    return;
  }
  const sizes = flags.noScale ? [] : flags.sizes.split(',').map(Number);
  const scale: Record<string, Record<string, Record<string, unknown>>> = {};
  for (const n of sizes) {
    scale[n] = {};
    for (const name of ['build', 'exact', 'ann', 'ann-load', 'ann-sweep']) {
      scale[n][name] = runChild(n, name);
      writeResult(flags.out, { flags, annParams, scale });
    }
  }
  const generator = flags.noScale ? null : realism(faces);
  const open = flags.noOpenset ? null : await openSet(faces);
  const file = writeResult(flags.out, { flags, annParams, scale, realism: generator, openSet: open });

  type L = { p50: number; p99: number };
  const f2 = (x: number) => x.toFixed(2);
  // A share over no probes (no synthetic ones below LFW's size) is NaN, and null once through JSON.
  const f4 = (x: number | null) => (x === null || Number.isNaN(x) ? '-' : x.toFixed(4));
  if (sizes.length > 0) {
    console.log(
      `\n## Gallery scale (LFW descriptors + synthetic identities; HNSW M=${annParams.connectivity}, ef_add=${annParams.expansionAdd}, ef_search ${efLabel}, ${annParams.quantization})\n`,
    );
    console.log(
      markdownTable(
        [
          'faces',
          'exact p50 ms',
          'exact p99 ms',
          'exact batched ms/query',
          'ANN p50 ms',
          'ANN p99 ms',
          'recall@1 (n)',
          'recall@1 real / synthetic',
          'enrol s',
          'open s',
          'ANN build s',
          'ANN load s',
          'RSS exact MiB',
          'RSS ANN MiB',
          'peak build MiB',
          'peak load MiB',
          'peak +1000 faces MiB',
          'DB MiB',
          'index MiB',
        ],
        sizes.map((n) => {
          const { build: b, exact: e, ann: a, 'ann-load': l } = scale[n] as Record<string, Record<string, number & L>>;
          const el = e.latency as unknown as L,
            al = l.latency as unknown as L;
          return [
            n,
            f2(el.p50),
            f2(el.p99),
            f2(e.batchMsPerQuery),
            f2(al.p50),
            f2(al.p99),
            `${a.recallAt1.toFixed(4)} (${a.recallQueries})`,
            `${f4(a.recallReal)} / ${f4(a.recallSynthetic)}`,
            f2(b.enrolSeconds),
            f2(e.openSeconds),
            f2(a.buildSeconds),
            f2(l.loadSeconds),
            (e.rssOpen / MiB).toFixed(0),
            (l.rssSteady / MiB).toFixed(0),
            (a.peak / MiB).toFixed(0),
            (l.peakLoad / MiB).toFixed(0),
            (l.peak / MiB).toFixed(0),
            (b.dbBytes / MiB).toFixed(0),
            (a.indexBytes / MiB).toFixed(0),
          ];
        }),
      ),
    );
    type SweepRow = { ef: number; latency: L; recallAt1: number; recallReal: number; recallSynthetic: number };
    console.log(
      `\nANN search-time candidate list (ef_search), same saved graph; the whole candidate list is re-scored exactly:\n`,
    );
    console.log(
      markdownTable(
        ['faces', 'ef_search', 'p50 ms', 'p99 ms', 'recall@1', 'recall@1 real', 'recall@1 synthetic'],
        sizes.flatMap((n) =>
          (scale[n]['ann-sweep'] as { rows: SweepRow[] }).rows.map((r) => [
            n,
            r.ef,
            f2(r.latency.p50),
            f2(r.latency.p99),
            f4(r.recallAt1),
            f4(r.recallReal),
            f4(r.recallSynthetic),
          ]),
        ),
      ),
    );
    console.log(
      '\n' +
        markdownTable(
          ['faces', 'rank-1 exact', 'rank-1 ANN', 'incremental +1000 faces ms', 'index save s'],
          sizes.map((n) => {
            const s = scale[n] as Record<string, Record<string, number>>;
            return [
              n,
              s.exact.rank1.toFixed(4),
              s.ann.rank1.toFixed(4),
              f2(s['ann-load'].incrementalMs),
              f2(s['ann-load'].saveSeconds),
            ];
          }),
        ),
    );
  }
  if (generator) {
    const keys = Object.keys(generator[0].recall);
    console.log(
      `\n## The generator against real faces: equal galleries of ${generator[0].faces} faces, plain HNSW (f32, ef_add 32) at weak settings, recall@1 of ${generator[0].probes} probes\n`,
    );
    console.log(
      markdownTable(
        ['gallery', 'intrinsic dim (MLE, 20-NN)', 'relative contrast', ...keys.map((k) => `recall ${k}`)],
        generator.map((g) => [
          g.label,
          g.lid.toFixed(1),
          g.contrast.toFixed(3),
          ...keys.map((k) => g.recall[k].toFixed(3)),
        ]),
      ),
    );
  }
  if (open) {
    console.log(
      `\n## Open-set identification on LFW (${open.enrolledPeople} people enrolled with one photo each; ${open.genuineProbes} probes of them; ${open.testStrangers} test strangers; ${open.calStrangers} calibration strangers)\n`,
    );
    console.log(`rank-1 identification rate (closed set, no threshold): ${(open.rank1 * 100).toFixed(2)} %\n`);
    console.log(
      markdownTable(
        [
          'calibrated on',
          'target FAR',
          'threshold level',
          'threshold',
          'identified at threshold (DIR) %',
          'strangers accepted (FAR) %',
        ],
        open.rows.map((r) => [
          r.source,
          r.far === null ? '-' : String(r.far),
          r.level,
          r.threshold.toFixed(4),
          (r.dir * 100).toFixed(2),
          (r.farMeasured * 100).toFixed(2),
        ]),
      ),
    );
    for (const c of open.calibrations) if ('error' in c) console.log(`\n${c.source}, FAR ${c.far}: ${c.error}`);
  }
  console.log(`\nwritten ${file}`);
}

await main();
