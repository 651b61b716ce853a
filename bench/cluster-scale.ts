/**
 * Beyond one machine, measured on this machine (issue 15), against a PostgreSQL started here on
 * loopback (Debian's binaries, as the tests start it):
 *
 * - identify throughput with 1, 2 and 4 gallery instances (separate processes, each following the
 *   one PostgreSQL gallery as `facekit serve` does), descriptor queries, for `--seconds`;
 * - enrol through instance A → identify on instance B answers it: p50/p99 over `--rounds`
 *   enrolments (A and B are separate galleries with their own pools and LISTEN connections, in one
 *   process);
 * - kill -9 of the PostgreSQL server between enrolments: nothing committed lost, B answers again.
 *
 * - with --photos N: an enrolment job of N distinct photos (face-api's samples re-encoded at
 *   different sizes, so no two share bytes) over 1, 2 and 4 `facekit worker` processes on a Redis
 *   started here: photos per second from submission to the last job done, and faces stored.
 *
 *   npm run bench:cluster-scale -- [--faces 10000] [--seconds 5] [--rounds 100] [--photos 0]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { submitEnrollJobs, waitForJobs } from '../src/queue/enroll-jobs.js';
import { samplePath } from '../test/helpers/photos.js';
import { openGallery } from '../src/gallery/gallery.js';
import { Faces } from '../test/helpers/descriptors.js';
import { type PostgresServer, startPostgres, startRedis } from '../test/helpers/servers.js';
import { machine, markdownTable, PROJECT_ROOT, parseFlags, percentile, writeResult } from './common.js';

const M = { modelId: 'dlib_resnet128', dims: 128 };

async function child(url: string, seconds: number, seed: number): Promise<void> {
  const g = await openGallery({ path: url, follow: true });
  const f = new Faces(seed);
  const probes = Array.from({ length: 256 }, () => f.person());
  await g.identify([probes[0]]);
  const until = Date.now() + seconds * 1000;
  const t0 = process.cpuUsage();
  let n = 0;
  while (Date.now() < until) {
    await g.identify([probes[n % probes.length]]);
    n++;
  }
  const cpu = process.cpuUsage(t0);
  process.stdout.write(`${JSON.stringify({ n, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
  await g.close();
}

function runChild(url: string, seconds: number, seed: number): Promise<{ n: number; cpuMs: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', url, String(seconds), String(seed)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}`))));
  });
}

/** N distinct photos: the samples at widths 300, 304, 308 … (distinct bytes, same faces). */
async function photoSet(n: number): Promise<{ name: string; files: string[] }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'facekit-bench-photos-'));
  const byPerson = new Map<string, string[]>();
  for (let i = 0; i < n; i++) {
    const sampleNo = (i % 6) + 1;
    const file = join(dir, `s${sampleNo}-${i}.jpg`);
    await sharp(samplePath(sampleNo))
      .resize({ width: 300 + 4 * i })
      .jpeg({ quality: 90 })
      .toFile(file);
    const person = `sample${sampleNo}`;
    byPerson.set(person, [...(byPerson.get(person) ?? []), file]);
  }
  return [...byPerson.entries()].map(([name, files]) => ({ name, files }));
}

async function jobScaling(server: PostgresServer, photos: number) {
  const redis = await startRedis();
  if (typeof redis === 'string') {
    console.log(redis);
    return [];
  }
  const people = await photoSet(photos);
  const out: { workers: number; photos: number; seconds: number; perSecond: number; faces: number }[] = [];
  try {
    for (const k of [1, 2, 4]) {
      const url = await server.database();
      const g = await openGallery({ path: url });
      const procs = Array.from({ length: k }, () =>
        spawn(
          process.execPath,
          ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/main.ts'), 'worker', '--queue', redis.url, '--db', url],
          {
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        ),
      );
      // Workers are ready (models loaded) once they say so.
      await Promise.all(
        procs.map(
          (p) =>
            new Promise<void>((resolve) => {
              let err = '';
              p.stderr?.on('data', (d) => {
                err += d;
                if (/taking jobs/.test(err)) resolve();
              });
            }),
        ),
      );
      const t0 = performance.now();
      const sub = await submitEnrollJobs(redis.url, {
        gallery: g.file,
        people,
        settings: { detector: 'tiny', stage: 'analyze', retryOnMiss: false },
        largest: true,
        jobPhotos: 4,
      });
      await waitForJobs(redis.url, sub.jobIds);
      const seconds = (performance.now() - t0) / 1000;
      out.push({
        workers: k,
        photos,
        seconds: Number(seconds.toFixed(1)),
        perSecond: Number((photos / seconds).toFixed(2)),
        faces: (await g.store.stats()).faces,
      });
      for (const p of procs) p.kill('SIGTERM');
      await g.close();
    }
  } finally {
    await redis.stop();
  }
  return out;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
  const flags = parseFlags({ faces: 10000, seconds: 5, rounds: 100, photos: 0 });
  const server = await startPostgres();
  if (typeof server === 'string') {
    console.log(server);
    process.exitCode = 1;
    return;
  }
  try {
    const url = await server.database();
    const a = await openGallery({ path: url, follow: true });
    const b = await openGallery({ path: url, follow: true });
    const f = new Faces(1);
    const t0 = Date.now();
    for (let i = 0; i < flags.faces; i += 500)
      await a.store.enroll(
        f.people(Math.min(250, (flags.faces - i) / 2), 2, `p${i}-`).map((p) => ({ name: p.name, faces: p.faces })),
        M,
      );
    const loadMs = Date.now() - t0;
    await b.identify([f.person()]);

    const throughput: { instances: number; perSecond: number; cpuMsPerQuery: number }[] = [];
    for (const k of [1, 2, 4]) {
      const runs = await Promise.all(Array.from({ length: k }, (_, i) => runChild(url, flags.seconds, 10 + i)));
      const n = runs.reduce((s, r) => s + r.n, 0);
      throughput.push({
        instances: k,
        perSecond: Math.round(n / flags.seconds),
        cpuMsPerQuery: Number((runs.reduce((s, r) => s + r.cpuMs, 0) / n).toFixed(3)),
      });
    }

    const lag: number[] = [];
    const probe = new Faces(99);
    for (let r = 0; r < flags.rounds; r++) {
      const [p] = probe.people(1, 1, `lag${r}-`);
      await a.enroll(p.name, p.faces);
      const t = performance.now();
      while ((await b.identify([p.centre]))[0].person !== p.name) await new Promise((res) => setImmediate(res));
      lag.push(performance.now() - t);
    }
    lag.sort((x, y) => x - y);

    // kill -9 of the database server between enrolments: the committed state survives.
    const before = (await a.store.stats()).faces;
    await server.restart();
    const [late] = probe.people(1, 1, 'after-kill-');
    let retries = 0;
    for (;;) {
      try {
        await a.enroll(late.name, late.faces);
        break;
      } catch {
        retries++;
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    const t = performance.now();
    for (;;) {
      try {
        if ((await b.identify([late.centre]))[0].person === late.name) break;
      } catch {
        /* B's pool reconnecting */
      }
      await new Promise((res) => setTimeout(res, 5));
    }
    const afterKill = {
      facesBefore: before,
      facesAfter: (await b.store.stats()).faces,
      enrolRetries: retries,
      bAnsweredMs: Math.round(performance.now() - t),
    };
    await a.close();
    await b.close();
    const jobs = flags.photos > 0 ? await jobScaling(server, flags.photos) : [];

    const result = {
      machine: machine(),
      faces: flags.faces,
      loadMs,
      throughput,
      syncLagMs: {
        p50: Number(percentile(lag, 50).toFixed(2)),
        p99: Number(percentile(lag, 99).toFixed(2)),
        max: Number(lag[lag.length - 1].toFixed(2)),
        rounds: flags.rounds,
      },
      afterKill,
      jobs,
    };
    console.log(
      markdownTable(
        ['instances', 'identify/s (all)', 'CPU ms/query'],
        throughput.map((r) => [r.instances, r.perSecond, r.cpuMsPerQuery]),
      ),
    );
    console.log(
      `\nenrol on A → identify on B: p50 ${result.syncLagMs.p50} ms, p99 ${result.syncLagMs.p99} ms (${flags.rounds} rounds)`,
    );
    console.log(`kill -9 of PostgreSQL: ${JSON.stringify(afterKill)}`);
    if (jobs.length > 0)
      console.log(
        `\n${markdownTable(
          ['workers', 'photos', 'seconds', 'photos/s', 'vs 1 worker', 'faces stored'],
          jobs.map((j) => [
            j.workers,
            j.photos,
            j.seconds,
            j.perSecond,
            (j.perSecond / jobs[0].perSecond).toFixed(2),
            j.faces,
          ]),
        )}`,
      );
    console.log(`\n${writeResult('cluster-scale', result)}`);
  } finally {
    await server.stop();
  }
}

await main();
