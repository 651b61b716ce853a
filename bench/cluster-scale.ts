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
 *   npm run bench:cluster-scale -- [--faces 10000] [--seconds 5] [--rounds 100]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openGallery } from '../src/gallery/gallery.js';
import { Faces } from '../test/helpers/descriptors.js';
import { startPostgres } from '../test/helpers/servers.js';
import { machine, markdownTable, parseFlags, percentile, writeResult } from './common.js';

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

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
  const flags = parseFlags({ faces: 10000, seconds: 5, rounds: 100 });
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
    console.log(`\n${writeResult('cluster-scale', result)}`);
  } finally {
    await server.stop();
  }
}

await main();
