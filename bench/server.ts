/**
 * `npm run bench:server`: facekit serve under load, on loopback, with autocannon.
 *
 * - identify with a photo (640×427, 3 faces) and with a descriptor, at 1/4/16 concurrent clients,
 *   1 and 2 inference workers, against a 10k-face gallery (synthetic descriptors around the demo
 *   photos' faces: at 10k faces the gallery searches exactly, so their spread matters little);
 * - the baseline, measured in the same run on the same cores: the in-process pipeline (decode,
 *   analyze, gallery search) in as many parallel single-threaded pipelines as the service has workers;
 * - RSS of the server process over a soak of descriptor requests;
 * - 4× overload at the default queue: share of 503s, p99 of accepted requests against unloaded.
 *
 * The server runs in a child process (as `facekit serve` does); autocannon runs here, on the same
 * machine, and takes CPU from it: compare rows of one run only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { seededRandom } from '../src/align/jitter.js';
import { openGallery } from '../src/gallery/gallery.js';
import { openSqliteStore } from '../src/gallery/sqlite.js';
import { loadImage } from '../src/image/decode.js';
import { FaceKit } from '../src/pipeline/kit.js';
import { DEFAULT_EMBEDDER } from '../src/embed/spec.js';
import { workerKitOptions } from '../src/server/kit-options.js';
import { DEFAULT_MAX_FACES, defaultRecognition, QUEUE_PER_WORKER } from '../src/server/limits.js';
import { DEFAULT_DETECTOR } from '../src/server/pipeline.js';
import { markdownTable, parseFlags, PROJECT_ROOT, writeResult } from './common.js';

const flags = parseFlags({
  workers: '1,2',
  clients: '1,4,16',
  /** Seconds per measured run. */
  duration: 10,
  faces: 10_000,
  soak: 20_000,
  /** Queue for the throughput rows: every client's request is accepted (no 503s, no wait bound), so the rows measure throughput. */
  queue: 16,
  /** Overload: clients per (worker + default queue slot). */
  overload: 4,
  /** Seconds per overload run (unloaded and overloaded): longer than the rows', for enough accepted photos to give a p99. */
  overloadDuration: 30,
  /** Which parts to run: rows (throughput and baseline), soak, overload. Each prints and saves its own table. */
  phases: 'rows,soak,overload',
});
const PHASES = new Set(String(flags.phases).split(','));
const WORKERS = String(flags.workers).split(',').map(Number);
const CLIENTS = String(flags.clients).split(',').map(Number);
const DURATION_S = Number(flags.duration);
/** A queue-wait share no photo reaches: the throughput rows queue every client's photo. */
const NO_WAIT_BOUND = 1000;
/** Requests before the soak's RSS counts as warmed up. */
const SOAK_WARMUP = 2000;
const RSS_SAMPLE_MS = 250;
/** Photo width: bench:speed's 640×427 photo with 3 faces. */
const PHOTO_WIDTH = 640;
/** Typical distances between synthetic people's centres (~0.85) and photos of one person (~0.4), over 128 dims. */
const BETWEEN_SD = 0.85 / 16;
const WITHIN_SD = 0.4 / 16;
const SEED = 12;

/** What `facekit serve` runs a photo with when neither the request nor the command line chooses. */
const SERVICE_DEFAULTS = defaultRecognition({ detector: DEFAULT_DETECTOR }, DEFAULT_MAX_FACES);

const samplePhoto = join(PROJECT_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo', 'sample1.jpg');

function gaussian(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

/** A gallery of `count` faces: people drawn around the demo photo's mean face, 1-4 photos each. */
async function buildGallery(db: string, count: number, mean: Float32Array): Promise<Float32Array> {
  const rnd = seededRandom(SEED);
  const g = await openGallery({ path: db });
  let made = 0;
  let person = 0;
  let probe = new Float32Array(0);
  const batch: { name: string; faces: { descriptor: Float32Array }[] }[] = [];
  while (made < count) {
    const centre = Float32Array.from(mean, (m) => m + BETWEEN_SD * gaussian(rnd));
    const photos = Math.min(count - made, 1 + Math.floor(rnd() * 4));
    const faces = Array.from({ length: photos }, () => ({
      descriptor: Float32Array.from(centre, (c) => c + WITHIN_SD * gaussian(rnd)),
    }));
    if (person === 0) probe = Float32Array.from(centre, (c) => c + WITHIN_SD * gaussian(rnd));
    batch.push({ name: `person-${person++}`, faces });
    made += photos;
    if (batch.length === 500 || made >= count) {
      await g.enrollMany(batch);
      batch.length = 0;
    }
  }
  await g.close();
  return probe;
}

interface Server {
  child: ChildProcess;
  url: string;
}

/** Servers still running: stopped if the benchmark itself is stopped. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(1));

/** `queueWait` undefined: the service's default; the throughput rows turn it off with a large share. */
async function startServer(db: string, workers: number, queue: number, queueWait?: number): Promise<Server> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(PROJECT_ROOT, 'src/cli/main.ts'),
      'serve',
      '--db',
      db,
      '--port',
      '0',
      '--workers',
      String(workers),
      '--queue',
      String(queue),
      ...(queueWait === undefined ? [] : ['--queue-wait', String(queueWait)]),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: PROJECT_ROOT },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      const m = / on (http:\/\/[\d.:]+) /.exec(log);
      if (m && log.includes('ready:')) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${log}`)));
  });
  return { child, url };
}

function stopServer(s: Server): Promise<void> {
  return new Promise((resolve) => {
    s.child.once('exit', () => resolve());
    s.child.kill('SIGTERM');
  });
}

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ: 100 on Linux). */
const CLOCK_TICKS = 100;

/**
 * CPU seconds, user + system, the process `pid` has used so far: over every thread (HTTP,
 * inference workers, libuv), or with `mainThread` its main thread alone (HTTP, auth, search, JSON).
 */
function cpuSeconds(pid: number, mainThread = false): number {
  const stat = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
  // The fields after the command name: state is the first, utime and stime the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  busy: number;
  other: number;
  /** p99 over accepted (2xx) requests alone. */
  acceptedP99: number;
  /** The server process's CPU milliseconds per accepted request (every thread; refused requests' cost included). */
  cpuMsPerRequest: number;
  /** Of which the main thread's (HTTP, auth, gallery search, JSON; the rest is the inference workers'). */
  mainCpuMsPerRequest: number;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function load(
  server: Server,
  body: { headers: Record<string, string>; body: string | Buffer },
  connections: number,
  opts: { duration?: number; amount?: number },
): Promise<Load> {
  const url = `${server.url}/v1/identify`;
  const pid = server.child.pid as number;
  const cpuBefore = cpuSeconds(pid);
  const mainBefore = cpuSeconds(pid, true);
  const accepted: number[] = [];
  const instance = autocannon({ url, method: 'POST', connections, timeout: 60, ...body, ...opts });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) accepted.push(ms);
  });
  const r = await instance;
  const cpu = cpuSeconds(pid) - cpuBefore;
  const mainCpu = cpuSeconds(pid, true) - mainBefore;
  accepted.sort((a, b) => a - b);
  const busy = r.statusCodeStats['503']?.count ?? 0;
  return {
    rps: accepted.length / r.duration,
    p50: percentile(accepted, 0.5),
    p99: percentile(accepted, 0.99),
    ok: accepted.length,
    busy,
    other: r.non2xx - busy + r.errors,
    acceptedP99: percentile(accepted, 0.99),
    cpuMsPerRequest: (cpu * 1000) / Math.max(1, accepted.length),
    mainCpuMsPerRequest: (mainCpu * 1000) / Math.max(1, accepted.length),
  };
}

interface Baseline {
  photosPerS: number;
  /** This process's CPU milliseconds per photo (decode, analyze, search), every thread. */
  cpuMsPerPhoto: number;
}

/**
 * The in-process pipeline: `parallel` kits with the service workers' very settings (detector,
 * padding, retry, embedder, one thread: workerKitOptions), each decoding, analysing and searching
 * the photo in a loop.
 */
async function baseline(db: string, photo: Buffer, parallel: number, seconds: number): Promise<Baseline> {
  const gallery = await openGallery({ path: db });
  const kits = Array.from(
    { length: parallel },
    () => new FaceKit(workerKitOptions(SERVICE_DEFAULTS, DEFAULT_EMBEDDER)),
  );
  await Promise.all(kits.map((k) => k.warmUp()));
  sharp.concurrency(1);
  let done = 0;
  const cpuBefore = process.cpuUsage();
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    kits.map(async (kit) => {
      while (performance.now() < end) {
        const faces = await kit.analyze(await loadImage(photo));
        await gallery.identify(faces.map((f) => f.descriptor));
        done++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  const result = { photosPerS: done / seconds, cpuMsPerPhoto: (cpu.user + cpu.system) / 1000 / Math.max(1, done) };
  await Promise.all(kits.map((k) => k.dispose()));
  await gallery.close();
  return result;
}

interface Bodies {
  readonly photo: Buffer;
  readonly photoBody: { headers: Record<string, string>; body: Buffer };
  readonly descriptorBody: { headers: Record<string, string>; body: string };
}

const TITLE = `facekit serve, ${flags.faces}-face gallery, ${DURATION_S} s per measured run (shared 2-core machine: compare within this run only)`;

function report(name: string, tables: string, data: Record<string, unknown>): void {
  console.log(`## ${TITLE}: ${name}\n\n${tables}\n`);
  console.log(`results: ${writeResult(`server-${name}`, { flags, ...data })}\n`);
}

/** Throughput and latency per kind, workers and clients, and the in-process baseline. */
async function rowsPhase(db: string, b: Bodies): Promise<void> {
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  /** Baseline before and after each worker count's rows: on a shared machine one measurement can land on a quiet or a busy moment. */
  const baselines: Record<number, { before: Baseline; after: Baseline }> = {};
  for (const workers of WORKERS) {
    const before = await baseline(db, b.photo, workers, DURATION_S);
    process.stderr.write(`baseline, ${workers} parallel pipelines: ${JSON.stringify(before)}\n`);
    const measured: { kind: string; clients: number; r: Load }[] = [];
    const server = await startServer(db, workers, Number(flags.queue), NO_WAIT_BOUND);
    try {
      // Warm-up: every worker has analysed a photo, the gallery is loaded.
      await load(server, b.photoBody, workers, { amount: workers * 4 });
      await load(server, b.descriptorBody, 1, { amount: 200 });
      for (const [kind, body] of [
        ['photo', b.photoBody],
        ['descriptor', b.descriptorBody],
      ] as const) {
        for (const clients of CLIENTS) {
          const r = await load(server, body, clients, { duration: DURATION_S });
          measured.push({ kind, clients, r });
          process.stderr.write(
            `${kind} w=${workers} c=${clients}: ${r.rps.toFixed(1)} req/s, p50 ${r.p50} p99 ${r.p99} ms, ${r.cpuMsPerRequest.toFixed(1)} CPU ms/req\n`,
          );
        }
      }
    } finally {
      await stopServer(server);
    }
    const after = await baseline(db, b.photo, workers, DURATION_S);
    process.stderr.write(`baseline again, ${workers} parallel pipelines: ${JSON.stringify(after)}\n`);
    baselines[workers] = { before, after };
    // Against the faster of the two baselines: the service's share is then never flattered by a busy moment.
    const reference = Math.max(before.photosPerS, after.photosPerS);
    // CPU per photo barely depends on what else the machine runs: the mean of the two.
    const referenceCpu = (before.cpuMsPerPhoto + after.cpuMsPerPhoto) / 2;
    for (const { kind, clients, r } of measured) {
      const share = kind === 'photo' ? r.rps / reference : null;
      const cpuShare = kind === 'photo' ? referenceCpu / r.cpuMsPerRequest : null;
      const percent = (x: number | null) => (x === null ? '' : `${(x * 100).toFixed(0)} %`);
      rows.push([
        kind,
        workers,
        clients,
        r.rps,
        r.p50,
        r.p99,
        r.busy + r.other,
        r.cpuMsPerRequest,
        r.mainCpuMsPerRequest,
        percent(share),
        percent(cpuShare),
      ]);
      results.push({
        kind,
        workers,
        clients,
        ...r,
        baselinePhotosPerS: reference,
        baselineCpuMsPerPhoto: referenceCpu,
        shareOfBaseline: share,
        cpuShareOfBaseline: cpuShare,
      });
    }
  }
  const table = markdownTable(
    [
      'identify with',
      'workers',
      'clients',
      'req/s (wall)',
      'p50 ms',
      'p99 ms',
      'non-2xx',
      'server CPU ms/req',
      'of which main thread',
      'req/s of in-process photos/s (wall)',
      'in-process CPU/photo ÷ server CPU/req',
    ],
    rows,
  );
  const baseTable = markdownTable(
    [
      'parallel pipelines',
      'in-process photos/s before the rows (decode + analyze + search)',
      'after (the faster is the reference)',
      'CPU ms/photo before',
      'after',
    ],
    WORKERS.map((w) => [
      w,
      baselines[w].before.photosPerS,
      baselines[w].after.photosPerS,
      baselines[w].before.cpuMsPerPhoto,
      baselines[w].after.cpuMsPerPhoto,
    ]),
  );
  report('rows', `${table}\n\n${baseTable}`, { rows: results, baselines });
}

/** RSS of the server process over descriptor requests, sampled while they run. */
async function soakPhase(db: string, b: Bodies): Promise<void> {
  const server = await startServer(db, 1, QUEUE_PER_WORKER);
  const samples: { t: number; rssMb: number }[] = [];
  const pid = server.child.pid as number;
  const start = performance.now();
  const timer = setInterval(() => samples.push({ t: performance.now() - start, rssMb: rssMb(pid) }), RSS_SAMPLE_MS);
  let soak: Load;
  let afterWarmup: number;
  let endRss: number;
  try {
    await load(server, b.descriptorBody, 4, { amount: SOAK_WARMUP });
    afterWarmup = rssMb(pid);
    soak = await load(server, b.descriptorBody, 4, { amount: Number(flags.soak) });
    endRss = rssMb(pid);
  } finally {
    clearInterval(timer);
    await stopServer(server);
  }
  const peak = Math.max(...samples.map((x) => x.rssMb));
  const table = markdownTable(
    ['requests', 'req/s', 'p99 ms', 'RSS after warm-up MB', 'RSS at end MB', 'peak MB'],
    [[Number(flags.soak), soak.rps, soak.p99, afterWarmup, endRss, peak]],
  );
  report('soak', `### Soak (descriptor requests, 4 clients, 1 worker)\n\n${table}`, {
    soak: { ...soak, afterWarmupMb: afterWarmup, endMb: endRss, peakMb: peak, samples },
  });
}

/** Photo requests at `overload` × (workers + default queue) clients against unloaded (one client per worker). */
async function overloadPhase(db: string, b: Bodies): Promise<void> {
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const workers of WORKERS) {
    const queue = QUEUE_PER_WORKER * workers;
    const server = await startServer(db, workers, queue);
    try {
      await load(server, b.photoBody, workers, { amount: workers * 4 });
      const seconds = Number(flags.overloadDuration);
      const unloaded = await load(server, b.photoBody, workers, { duration: seconds });
      const clients = Number(flags.overload) * (workers + queue);
      const over = await load(server, b.photoBody, clients, { duration: seconds });
      const total = over.ok + over.busy + over.other;
      // What a refusal costs the server: its CPU beyond the accepted photos' (at the unloaded cost each).
      const cpuPer503 =
        over.busy === 0 ? Number.NaN : (over.ok * (over.cpuMsPerRequest - unloaded.cpuMsPerRequest)) / over.busy;
      rows.push([
        workers,
        queue,
        clients,
        unloaded.rps,
        unloaded.acceptedP99,
        over.rps,
        over.acceptedP99,
        `${((over.busy / total) * 100).toFixed(0)} %`,
        (over.acceptedP99 / unloaded.acceptedP99).toFixed(2),
        unloaded.cpuMsPerRequest,
        cpuPer503,
      ]);
      results.push({ workers, queue, clients, unloaded, overloaded: over, busyShare: over.busy / total, cpuPer503 });
      process.stderr.write(`overload w=${workers}: ${JSON.stringify(rows.at(-1))}\n`);
    } finally {
      await stopServer(server);
    }
  }
  const table = markdownTable(
    [
      'workers',
      'queue',
      'clients',
      'unloaded req/s',
      'unloaded p99 ms',
      'overloaded req/s',
      'accepted p99 ms',
      '503 share',
      'p99 ratio',
      'server CPU ms/photo unloaded',
      'server CPU ms per 503',
    ],
    rows,
  );
  report('overload', `### Overload (photo requests, default queue)\n\n${table}`, { overload: results });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'facekit-bench-server-'));
  try {
    const db = join(dir, 'gallery.db');
    const photo = await sharp(readFileSync(samplePhoto))
      .resize({ width: PHOTO_WIDTH })
      .jpeg({ quality: 90 })
      .toBuffer();
    const kit = new FaceKit({ threads: 1 });
    const photoFaces = await kit.analyze(await loadImage(photo));
    await kit.dispose();
    const mean = new Float32Array(128);
    for (const f of photoFaces) for (let i = 0; i < 128; i++) mean[i] += f.descriptor[i] / photoFaces.length;
    const t0 = performance.now();
    const probe = await buildGallery(db, Number(flags.faces), mean);
    process.stderr.write(
      `gallery of ${flags.faces} faces built in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    const store = openSqliteStore(db);
    const { key } = await store.keys.create('recognize', 'bench');
    await store.close();
    const auth = { authorization: `Bearer ${key}` };
    const bodies: Bodies = {
      photo,
      photoBody: { headers: { ...auth, 'content-type': 'image/jpeg' }, body: photo },
      descriptorBody: {
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ descriptors: [Array.from(probe)] }),
      },
    };
    if (PHASES.has('rows')) await rowsPhase(db, bodies);
    if (PHASES.has('soak')) await soakPhase(db, bodies);
    if (PHASES.has('overload')) await overloadPhase(db, bodies);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
