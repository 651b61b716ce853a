/**
 * `facekit index` on N LFW photos (every k-th file of `--data`/lfw/images, sorted), measured as
 * users run it: locally (`--cpus 1`), the same photos again (all already indexed), and through
 * `--queue` with `--workers` `facekit worker` processes on a Redis started here. SQLite gallery in
 * a temporary folder. Wall time from the command's start to its exit (submission to the last job
 * for --queue); CPU time (user + system) read from /proc every 100 ms while each process runs
 * (so within ~0.1 s). The local rows include the command's start and model load; the --queue row
 * starts once the workers are taking jobs (their start and model load are left out), and its CPU
 * is the submitter's plus the workers' over that window.
 *
 *   npm run bench:index -- [--photos 200] [--workers 1] [--data ../shared/data]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../src/gallery/sqlite.js';
import { startRedis } from '../test/helpers/servers.js';
import { tempDir } from '../test/helpers/temp.js';
import { DEFAULT_DATA, machine, markdownTable, PROJECT_ROOT, parseFlags, writeResult } from './common.js';

const CLI = ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/main.ts')];

function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Follows a process's CPU time until it exits; the last reading before exit. */
function trackCpu(p: ChildProcess): () => number {
  let last = 0;
  const t = setInterval(() => {
    const s = cpuSeconds(p.pid as number);
    if (Number.isFinite(s)) last = s;
  }, 100);
  p.on('exit', () => clearInterval(t));
  return () => last;
}

async function runCli(args: string[]): Promise<{ wallS: number; cpuS: number; doc: Record<string, unknown> }> {
  const start = performance.now();
  const p = spawn(process.execPath, [...CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const cpu = trackCpu(p);
  let out = '';
  let err = '';
  p.stdout?.on('data', (d) => {
    out += d;
  });
  p.stderr?.on('data', (d) => {
    err += d;
  });
  const code = await new Promise<number>((r) => p.on('exit', (c) => r(c ?? -1)));
  if (code !== 0) throw new Error(`facekit ${args[0]} exited ${code}: ${err}`);
  return { wallS: (performance.now() - start) / 1000, cpuS: cpu(), doc: JSON.parse(out) };
}

function lfwPhotos(data: string, n: number): string[] {
  const root = join(data, 'lfw', 'images');
  const all = readdirSync(root)
    .sort()
    .flatMap((person) =>
      readdirSync(join(root, person))
        .sort()
        .map((f) => join(root, person, f)),
    );
  const step = Math.max(1, Math.floor(all.length / n));
  return all.filter((_, i) => i % step === 0).slice(0, n);
}

async function main(): Promise<void> {
  const flags = parseFlags({ photos: 200, workers: 1, data: DEFAULT_DATA });
  const files = lfwPhotos(flags.data, flags.photos);
  const dir = tempDir('facekit-bench-index-');
  const rows: (string | number)[][] = [];
  const row = (name: string, r: { wallS: number; cpuS: number }, faces: unknown, already: unknown) =>
    rows.push([
      name,
      r.wallS.toFixed(2),
      r.cpuS.toFixed(2),
      (files.length / r.wallS).toFixed(1),
      String(faces),
      String(already),
    ]);

  const localDb = join(dir, 'local.db');
  const local = await runCli(['index', ...files, '--db', localDb, '--cpus', '1', '--json', '--quiet']);
  row('index, local, --cpus 1', local, local.doc.facesStored, local.doc.alreadyIndexed);
  const again = await runCli(['index', ...files, '--db', localDb, '--cpus', '1', '--json', '--quiet']);
  row('index again (all indexed)', again, again.doc.facesStored, again.doc.alreadyIndexed);

  const redis = await startRedis();
  if (typeof redis === 'string') {
    console.log(`--queue not measured: ${redis}`);
  } else {
    const queueDb = join(dir, 'queue.db');
    // The gallery made first, so workers on a fresh file do not race to create it.
    await openSqliteStore(queueDb).close();
    const workers = Array.from({ length: flags.workers }, () =>
      spawn(process.execPath, [...CLI, 'worker', '--queue', redis.url, '--db', queueDb], {
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    const cpus = workers.map(trackCpu);
    try {
      // Measured once every worker has loaded its networks and is taking jobs.
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              let err = '';
              w.stderr?.on('data', (d) => {
                err += d;
                if (/taking jobs/.test(err)) resolve();
              });
            }),
        ),
      );
      const before = cpus.reduce((s, c) => s + c(), 0);
      const q = await runCli(['index', ...files, '--db', queueDb, '--queue', redis.url, '--json', '--quiet']);
      await new Promise((r) => setTimeout(r, 200));
      const workerCpu = cpus.reduce((s, c) => s + c(), 0) - before;
      row(
        `index --queue, ${flags.workers} worker(s)`,
        { wallS: q.wallS, cpuS: q.cpuS + workerCpu },
        q.doc.facesStored,
        q.doc.alreadyIndexed,
      );
    } finally {
      for (const w of workers) w.kill('SIGKILL');
      await redis.stop();
    }
  }
  const table = markdownTable(['run', 'wall s', 'CPU s', 'photos/s', 'faces stored', 'already indexed'], rows);
  console.log(table);
  console.log(`\n${writeResult('index', { machine: machine(), photos: files.length, workers: flags.workers, rows })}`);
}

await main();
