/**
 * Beyond one machine, measured on this machine (issue 15), against a PostgreSQL and a Redis
 * started here on loopback (Debian's binaries, as the tests start them):
 *
 * - identify throughput over HTTP with 1, 2 and 4 `facekit serve` processes on one PostgreSQL
 *   gallery of `--faces` synthetic descriptors: autocannon (in this process) spreads `--connections`
 *   per instance of descriptor identifies for `--seconds`; requests/s beside the instances' CPU
 *   time per request (from /proc);
 * - enrol through instance A (POST /v1/people) → identify through instance B answers it, p50/p99
 *   over `--rounds` enrolments;
 * - kill -9 of instance B under that traffic, then a new B: every face committed before is there;
 * - kill -9 of the PostgreSQL server between enrolments: nothing committed lost, B answers again;
 * - with --photos N: an enrolment job of N photos (one folder per person: LFW's from --data, or
 *   --folder's, e.g. the 105k-photo archive `npm run bench:photo-archive` makes) over 1, 2 and 4
 *   (--workers) `facekit worker` processes: photos/s from submission to the last job, worker CPU
 *   per photo, worker memory, faces stored, and that every photo is accounted for once; with
 *   --kill-at F one worker is killed (kill -9) once F of the jobs are done and another started;
 *   then (unless --skip-kill-run) 2 workers with one killed after the first job finished: the job
 *   finishes, no photo is enrolled twice, nothing committed is lost.
 *
 *   npm run bench:cluster-scale -- [--faces 10000] [--seconds 5] [--rounds 50] [--photos 0]
 *     [--connections 4] [--data ../shared/data] [--folder <person folders>] [--workers 1,2,4]
 *     [--kill-at 0] [--skip-http] [--skip-kill-run] [--name cluster-scale (the JSON's name)]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { type JobProgress, submitEnrollJobs, waitForJobs } from '../src/queue/enroll-jobs.js';
import { type Gallery, openGallery } from '../src/gallery/gallery.js';
import { openStore } from '../src/gallery/open-store.js';
import { Faces } from '../test/helpers/descriptors.js';
import { type PostgresServer, type RedisServer, startPostgres, startRedis } from '../test/helpers/servers.js';
import { DEFAULT_DATA, machine, markdownTable, PROJECT_ROOT, parseFlags, percentile, writeResult } from './common.js';

const M = { modelId: 'dlib_resnet128', dims: 128 };
const CLI = ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/main.ts')];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Instance {
  readonly proc: ChildProcess;
  readonly url: string;
}

/** `facekit serve` on the gallery, one inference worker (descriptor requests need none). */
function startServe(db: string): Promise<Instance> {
  const proc = spawn(process.execPath, [...CLI, 'serve', '--db', db, '--port', '0', '--workers', '1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let err = '';
    proc.stderr?.on('data', (d) => {
      err += d;
      // Measured once its inference worker has loaded the models: loading would be counted as load.
      const m = /serving .* on (http:\/\/[^ ]+)/.exec(err);
      if (m && /ready: /.test(err)) resolve({ proc, url: m[1] });
    });
    proc.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

function stopServe(i: Instance): void {
  i.proc.removeAllListeners('exit');
  i.proc.kill('SIGKILL');
}

async function post(
  url: string,
  key: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> & { faces?: { person?: string }[] } }> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: r.status,
    json: (await r.json().catch(() => ({}))) as Record<string, unknown> & { faces?: { person?: string }[] },
  };
}

async function answers(base: string, key: string, probe: Float32Array, name: string): Promise<boolean> {
  try {
    const r = await post(`${base}/v1/identify`, key, { descriptors: [Array.from(probe)] });
    return r.status === 200 && r.json.faces?.[0]?.person === name;
  } catch {
    return false;
  }
}

/** identify requests an instance has answered, from its Prometheus counter. */
async function answeredIdentifies(i: Instance, key: string): Promise<number> {
  const text = await (await fetch(`${i.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })).text();
  let n = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('facekit_http_requests_total{') && line.includes('/v1/identify'))
      n += Number(line.split(' ').at(-1));
  return n;
}

/** Waits until an instance has answered everything sent to it (its count stands still), then reads its CPU and count. */
async function settle(i: Instance, key: string): Promise<{ cpu: number; answered: number }> {
  let last = -1;
  for (;;) {
    const n = await answeredIdentifies(i, key);
    if (n === last) return { cpu: cpuSeconds(i.proc.pid as number), answered: n };
    last = n;
    await sleep(500);
  }
}

/** Descriptor identifies against one instance for `seconds` (one probe: the search does the same work for any). */
function load(url: string, key: string, probe: Float32Array, connections: number, seconds: number) {
  // A real promise (the instance is only PromiseLike): the caller may .catch() it.
  return Promise.resolve(
    autocannon({
      url: `${url}/v1/identify`,
      method: 'POST',
      connections,
      duration: seconds,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ descriptors: [Array.from(probe)] }),
    }),
  );
}

async function httpPhases(
  server: PostgresServer,
  flags: { faces: number; seconds: number; rounds: number; connections: number },
) {
  const db = await server.database();
  const store = await openStore(db);
  const f = new Faces(1);
  for (let i = 0; i < flags.faces; i += 500)
    await store.enroll(
      f.people(Math.min(250, (flags.faces - i) / 2), 2, `p${i}-`).map((p) => ({ name: p.name, faces: p.faces })),
      M,
    );
  const { key } = await store.keys.create('admin', 'bench');
  await store.close();
  const probe0 = f.person();

  const throughput: {
    instances: number;
    perSecond: number;
    p50: number;
    p99: number;
    non2xx: number;
    cpuMsPerRequest: number;
    answered: number;
  }[] = [];
  for (const k of [1, 2, 4]) {
    const instances = await Promise.all(Array.from({ length: k }, () => startServe(db)));
    try {
      await Promise.all(instances.map((i) => load(i.url, key, probe0, flags.connections, 1)));
      // CPU per request = the instances' CPU over the identifies they answered, both read once they
      // are idle: requests still queued when autocannon stops would otherwise be paid but not counted.
      const before = await Promise.all(instances.map((i) => settle(i, key)));
      const runs = await Promise.all(instances.map((i) => load(i.url, key, probe0, flags.connections, flags.seconds)));
      const after = await Promise.all(instances.map((i) => settle(i, key)));
      const cpu = after.reduce((s, a, j) => s + a.cpu - before[j].cpu, 0);
      const answered = after.reduce((s, a, j) => s + a.answered - before[j].answered, 0);
      const total = runs.reduce((s, r) => s + r.requests.total, 0);
      throughput.push({
        instances: k,
        perSecond: Math.round(total / flags.seconds),
        p50: Math.max(...runs.map((r) => r.latency.p50)),
        p99: Math.max(...runs.map((r) => r.latency.p99)),
        non2xx: runs.reduce((s, r) => s + r.non2xx + r.errors, 0),
        cpuMsPerRequest: Number(((cpu * 1000) / answered).toFixed(3)),
        answered,
      });
      process.stderr.write(`http ${k}: ${JSON.stringify(throughput.at(-1))}\n`);
    } finally {
      instances.forEach(stopServe);
    }
  }

  // Enrol on A → identify on B; then kill -9 of B under that traffic.
  let [a, b] = await Promise.all([startServe(db), startServe(db)]);
  const lag: number[] = [];
  const probe = new Faces(99);
  const enrolled: { name: string; centre: Float32Array }[] = [];
  let killB: { facesBefore: number; facesAfter: number; answeredAllAfterRestart: boolean; restartMs: number } | null =
    null;
  try {
    for (let r = 0; r < flags.rounds; r++) {
      const [p] = probe.people(1, 1, `lag${r}-`);
      const res = await post(`${a.url}/v1/people`, key, {
        name: p.name,
        descriptors: p.faces.map((x) => Array.from(x.descriptor)),
      });
      if (res.status !== 200 && res.status !== 201)
        throw new Error(`enrol through A: ${res.status} ${JSON.stringify(res.json)}`);
      const t = performance.now();
      while (!(await answers(b.url, key, p.centre, p.name))) await new Promise((s) => setImmediate(s));
      lag.push(performance.now() - t);
      enrolled.push({ name: p.name, centre: p.centre });
    }
    const counting = await openStore(db);
    const facesBefore = (await counting.stats()).faces;
    const traffic = load(b.url, key, probe0, flags.connections, 2);
    await sleep(500);
    stopServe(b);
    await traffic.catch(() => undefined);
    const t = performance.now();
    b = await startServe(db);
    let all = false;
    for (let i = 0; i < 200 && !all; i++) {
      all = (await Promise.all(enrolled.map((e) => answers(b.url, key, e.centre, e.name)))).every(Boolean);
      if (!all) await sleep(50);
    }
    killB = {
      facesBefore,
      facesAfter: (await counting.stats()).faces,
      answeredAllAfterRestart: all,
      restartMs: Math.round(performance.now() - t),
    };
    await counting.close();
  } finally {
    stopServe(a);
    stopServe(b);
  }
  lag.sort((x, y) => x - y);
  return {
    throughput,
    syncLagMs: {
      p50: Number(percentile(lag, 50).toFixed(1)),
      p99: Number(percentile(lag, 99).toFixed(1)),
      rounds: flags.rounds,
    },
    killInstance: killB,
  };
}

/** kill -9 of the database server between enrolments (in-process gallery instances A and B). */
async function killDatabase(server: PostgresServer) {
  const url = await server.database();
  const a = await openGallery({ path: url, follow: true });
  const b = await openGallery({ path: url, follow: true });
  const f = new Faces(5);
  await a.store.enroll(
    f.people(50, 2, 'k-').map((p) => ({ name: p.name, faces: p.faces })),
    M,
  );
  const before = (await a.store.stats()).faces;
  await server.restart();
  const [late] = f.people(1, 1, 'after-kill-');
  let retries = 0;
  for (;;) {
    try {
      await a.enroll(late.name, late.faces);
      break;
    } catch {
      retries++;
      await sleep(100);
    }
  }
  const t = performance.now();
  for (;;) {
    try {
      if ((await b.identify([late.centre]))[0].person === late.name) break;
    } catch {
      /* B's pool reconnecting */
    }
    await sleep(5);
  }
  const out = {
    facesBefore: before,
    facesAfter: (await b.store.stats()).faces,
    enrolRetries: retries,
    bAnsweredMs: Math.round(performance.now() - t),
  };
  await a.close();
  await b.close();
  return out;
}

/** N photos of a folder of person folders, whole folders in name order (people with several photos first). */
function peopleIn(root: string, n: number): { name: string; files: string[] }[] {
  const people = readdirSync(root)
    .sort()
    .map((name) => ({
      name,
      files: readdirSync(join(root, name))
        .sort()
        .map((f) => join(root, name, f)),
    }))
    .sort((x, y) => y.files.length - x.files.length || x.name.localeCompare(y.name));
  const out: { name: string; files: string[] }[] = [];
  let left = n;
  for (const p of people) {
    if (left <= 0) break;
    const files = p.files.slice(0, left);
    out.push({ name: p.name, files });
    left -= files.length;
  }
  return out;
}

function startWorkers(k: number, redis: string, db: string, extra: string[] = []): Promise<ChildProcess[]> {
  const procs = Array.from({ length: k }, () =>
    spawn(process.execPath, [...CLI, 'worker', '--queue', redis, '--db', db, ...extra], {
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  return Promise.all(
    procs.map(
      (p) =>
        new Promise<ChildProcess>((resolve) => {
          let err = '';
          p.stderr?.on('data', (d) => {
            err += d;
            if (/taking jobs/.test(err)) resolve(p);
          });
        }),
    ),
  );
}

/** Resident memory of a process in MB, from /proc (0 once it has exited). */
function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

interface JobOptions {
  readonly workers: readonly number[];
  /** Kill -9 one worker once this fraction of the jobs has finished, and start another (0: none). */
  readonly killAt: number;
  /** Also run the 2-worker job with one worker killed after its first job. */
  readonly killRun: boolean;
}

const SETTINGS = { detector: 'tiny' as const, stage: 'analyze' as const, retryOnMiss: false };

function submit(redis: RedisServer, g: Gallery, people: { name: string; files: string[] }[]) {
  return submitEnrollJobs(redis.url, { gallery: g.file, people, settings: SETTINGS, largest: true, jobPhotos: 10 });
}

/**
 * What the gallery holds after a job: faces, how many photos were stored twice, and whether every
 * photo is a face, a rejection (no face) or a duplicate (bytes stored already: LFW itself has two
 * photos filed under two names each, so an archive made from it has such copies).
 */
async function accounted(g: Gallery, p: JobProgress, photos: number) {
  const faces = await g.faces();
  const hashes = new Set(faces.map((x) => x.contentHash));
  return {
    faces: faces.length,
    rejected: p.rejected.length,
    duplicates: p.duplicates,
    enrolledTwice: faces.length - hashes.size,
    everyPhotoAccounted: faces.length + p.rejected.length + p.duplicates === photos,
  };
}

/** One enrolment job of `people` over k workers on a fresh gallery: rate, CPU, memory, and whether every photo is accounted once. */
async function jobRun(
  server: PostgresServer,
  redis: RedisServer,
  people: { name: string; files: string[] }[],
  k: number,
  killAt: number,
) {
  const photos = people.reduce((s, p) => s + p.files.length, 0);
  const db = await server.database();
  const g = await openGallery({ path: db });
  const procs = await startWorkers(k, redis.url, db);
  const cpu0 = procs.map((p) => cpuSeconds(p.pid as number));
  const rssStart = procs.map((p) => rssMb(p.pid as number));
  const t0 = performance.now();
  const sub = await submit(redis, g, people);
  const submitSeconds = (performance.now() - t0) / 1000;
  let killed = null as { atJobs: number; cpuSeconds: number } | null;
  let lastReport = 0;
  const p = await waitForJobs(redis.url, sub.jobIds, (q) => {
    const now = performance.now();
    if (now - lastReport > 60_000) {
      lastReport = now;
      const rss = procs.map((x) => rssMb(x.pid as number)).join('/');
      process.stderr.write(
        `  ${k} workers: ${q.done}/${q.total} jobs, ${((now - t0) / 1000).toFixed(0)} s, RSS ${rss} MB\n`,
      );
    }
    if (killAt > 0 && !killed && q.done >= q.total * killAt) {
      // Its CPU so far still counts; a new worker takes the killed one's place (and, after the lock, its job).
      killed = { atJobs: q.done, cpuSeconds: cpuSeconds(procs[0].pid as number) - cpu0[0] };
      procs[0].kill('SIGKILL');
      void startWorkers(1, redis.url, db).then(([fresh]) => {
        procs.push(fresh);
        cpu0.push(cpuSeconds(fresh.pid as number));
        rssStart.push(rssMb(fresh.pid as number));
      });
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  const alive = procs.map((q, j) => ({ q, j })).filter(({ q }) => q.exitCode === null && q.signalCode === null);
  const cpu = alive.reduce((s, { q, j }) => s + cpuSeconds(q.pid as number) - cpu0[j], 0) + (killed?.cpuSeconds ?? 0);
  const rssEnd = alive.map(({ q }) => rssMb(q.pid as number));
  const row = {
    workers: k,
    photos,
    jobs: p.total,
    failed: p.failed,
    submitSeconds: Number(submitSeconds.toFixed(1)),
    seconds: Number(seconds.toFixed(1)),
    perSecond: Number((photos / seconds).toFixed(2)),
    cpuSeconds: Number(cpu.toFixed(1)),
    cpuMsPerPhoto: Number(((cpu * 1000) / photos).toFixed(1)),
    ...(await accounted(g, p, photos)),
    workerRssMb: { start: rssStart.slice(0, k), end: rssEnd },
    killed,
  };
  process.stderr.write(`jobs ${k}: ${JSON.stringify(row)}\n`);
  for (const q of procs) q.kill('SIGTERM');
  await g.close();
  return row;
}

async function jobPhases(
  server: PostgresServer,
  redis: RedisServer,
  people: { name: string; files: string[] }[],
  options: JobOptions,
) {
  const scaling = [];
  for (const k of options.workers) scaling.push(await jobRun(server, redis, people, k, options.killAt));
  if (!options.killRun) return { scaling, killWorker: null };

  // 2 workers, one killed (kill -9) once the first job has finished: the other takes its job after the lock.
  const photos = people.reduce((s, p) => s + p.files.length, 0);
  const db = await server.database();
  const g = await openGallery({ path: db });
  const procs = await startWorkers(2, redis.url, db, ['--lock-ms', '5000']);
  const t0 = performance.now();
  const sub = await submit(redis, g, people);
  let killed = false;
  const p = await waitForJobs(redis.url, sub.jobIds, (q) => {
    if (!killed && q.done > 0) {
      procs[0].kill('SIGKILL');
      killed = true;
    }
  });
  const killWorker = {
    photos,
    jobs: p.total,
    done: p.done,
    failed: p.failed,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    ...(await accounted(g, p, photos)),
  };
  for (const q of procs) q.kill('SIGTERM');
  await g.close();
  return { scaling, killWorker };
}

async function main(): Promise<void> {
  const flags = parseFlags({
    faces: 10000,
    seconds: 5,
    rounds: 50,
    photos: 0,
    connections: 4,
    data: DEFAULT_DATA,
    folder: '',
    workers: '1,2,4',
    killAt: 0,
    skipHttp: false,
    skipKillRun: false,
    name: 'cluster-scale',
  });
  const workers = flags.workers.split(',').map(Number);
  if (workers.some((k) => !Number.isInteger(k) || k < 1))
    throw new Error(`--workers: counts like 1,2,4, got ${flags.workers}`);
  if (!(flags.killAt >= 0 && flags.killAt < 1)) throw new Error(`--kill-at: a fraction in [0, 1), got ${flags.killAt}`);
  const folder = flags.folder || join(flags.data, 'lfw', 'images');
  const server = await startPostgres();
  const redis = await startRedis();
  if (typeof server === 'string' || typeof redis === 'string') {
    console.log(typeof server === 'string' ? server : redis);
    process.exitCode = 1;
    return;
  }
  try {
    const http = flags.skipHttp ? null : await httpPhases(server, flags);
    const killDb = flags.skipHttp ? null : await killDatabase(server);
    const jobs =
      flags.photos > 0
        ? await jobPhases(server, redis, peopleIn(folder, flags.photos), {
            workers,
            killAt: flags.killAt,
            killRun: !flags.skipKillRun,
          })
        : null;
    const result = { machine: machine(), flags, ...http, killDatabase: killDb, jobs };
    if (http) {
      console.log(
        markdownTable(
          ['instances', 'identify req/s (all)', 'p50 ms', 'p99 ms', 'non-2xx', 'answered', 'serve CPU ms/request'],
          http.throughput.map((r) => [r.instances, r.perSecond, r.p50, r.p99, r.non2xx, r.answered, r.cpuMsPerRequest]),
        ),
      );
      console.log(
        `\nenrol on A → identify on B answers: p50 ${http.syncLagMs.p50} ms, p99 ${http.syncLagMs.p99} ms (${flags.rounds} rounds)`,
      );
      console.log(`kill -9 of instance B under load: ${JSON.stringify(http.killInstance)}`);
      console.log(`kill -9 of PostgreSQL: ${JSON.stringify(killDb)}`);
    }
    if (jobs) {
      const first = jobs.scaling[0];
      console.log(
        `\n${markdownTable(
          [
            'workers',
            'photos',
            'seconds',
            'photos/s',
            `vs ${first.workers} worker(s)`,
            'worker CPU ms/photo',
            'faces stored',
            'rejected',
            'duplicates',
            'enrolled twice',
            'all accounted',
            'worker RSS MB start → end',
          ],
          jobs.scaling.map((j) => [
            j.workers,
            j.photos,
            j.seconds,
            j.perSecond,
            (j.perSecond / first.perSecond).toFixed(2),
            j.cpuMsPerPhoto,
            j.faces,
            j.rejected,
            j.duplicates,
            j.enrolledTwice,
            j.everyPhotoAccounted ? 'yes' : 'NO',
            `${j.workerRssMb.start.join('/')} → ${j.workerRssMb.end.join('/')}`,
          ]),
        )}`,
      );
      for (const j of jobs.scaling)
        if (j.killed) console.log(`${j.workers} workers: one killed -9 at ${j.killed.atJobs}/${j.jobs} jobs, replaced`);
      if (jobs.killWorker) console.log(`kill -9 of a worker mid-job: ${JSON.stringify(jobs.killWorker)}`);
    }
    console.log(`\n${writeResult(flags.name, result)}`);
  } finally {
    await redis.stop();
    await server.stop();
  }
}

await main();
