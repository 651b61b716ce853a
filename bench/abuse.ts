/**
 * Big and hostile photos (issue 16): wall time and peak RSS of `facekit detect` on each, and the
 * in-process RSS before and after one `faceLocations()` (memory returned?). Every input is made
 * here, none is read from the data folder. `--dist` points at a build (default ./dist), so a
 * baseline build (e.g. of 17dc51f, copied elsewhere) runs the same cases in the same session:
 *   npm run bench:abuse -- --dist /tmp/base/dist --label before
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { markdownTable, PROJECT_ROOT, parseFlags, writeResult } from './common.js';

const flags = parseFlags({
  dist: join(PROJECT_ROOT, 'dist'),
  label: 'after',
  cases: 'grey100mp,trunc9000,noface24mp',
  timeout: 300,
});
const dist = resolve(flags.dist);

interface Case {
  readonly name: string;
  readonly what: string;
  make(path: string): Promise<void>;
  readonly ext: string;
}

const CASES: readonly Case[] = [
  {
    name: 'grey100mp',
    what: '10000×10000 grey PNG',
    ext: 'png',
    make: async (path) => {
      await sharp({ create: { width: 10_000, height: 10_000, channels: 3, background: { r: 128, g: 128, b: 128 } } })
        .png({ compressionLevel: 9 })
        .toFile(path);
    },
  },
  {
    name: 'trunc9000',
    what: 'JPEG header declaring 9000×9000, scan cut short by EOI',
    ext: 'jpg',
    make: async (path) => {
      const whole = await sharp({
        create: { width: 9000, height: 9000, channels: 3, background: { r: 128, g: 128, b: 128 } },
      })
        .greyscale()
        .jpeg({ quality: 50, optimiseCoding: true })
        .toBuffer();
      writeFileSync(path, Buffer.concat([whole.subarray(0, endOfScanHeader(whole)), Buffer.from([0xff, 0xd9])]));
    },
  },
  {
    name: 'noface24mp',
    what: '6000×4000 no-face JPEG (blurred noise)',
    ext: 'jpg',
    make: async (path) => {
      await sharp({
        create: {
          width: 6000,
          height: 4000,
          channels: 3,
          background: '#808080',
          noise: { type: 'gaussian', mean: 128, sigma: 60 },
        },
      })
        .blur(4)
        .jpeg({ quality: 90 })
        .toFile(path);
    },
  },
];

/** Offset just past a JPEG's SOS segment: the headers, without any entropy-coded data. */
function endOfScanHeader(jpeg: Buffer): number {
  for (let i = 2; i + 4 <= jpeg.length; ) {
    const length = jpeg.readUInt16BE(i + 2);
    if (jpeg[i + 1] === 0xda) return i + 2 + length;
    i += 2 + length;
  }
  throw new Error('no SOS marker');
}

/** Run in a child with --expose-gc: RSS after warm-up, peak, and after the big photo and a gc. */
const IN_PROCESS = `
const { loadImage, faceLocations, imageFromRaw } = await import(process.argv[2] + '/index.js');
const gcAll = async () => { for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 50)); } };
const small = imageFromRaw(new Uint8Array(640 * 480 * 3).fill(90), 640, 480, 3);
await faceLocations(small);
await gcAll();
const before = process.memoryUsage().rss;
// In a function: a top-level block would keep the decoded photo reachable from the module scope.
const once = async () => {
  const t0 = performance.now();
  let outcome;
  try { const img = await loadImage(process.argv[3]); outcome = (await faceLocations(img)).length + ' faces'; }
  catch (e) { outcome = e.code ?? String(e); }
  return { seconds: (performance.now() - t0) / 1000, outcome };
};
const { seconds, outcome } = await once();
await gcAll();
const after = process.memoryUsage().rss;
// A second photo: memory kept after the first is reused, not added to.
await once();
await gcAll();
const afterTwo = process.memoryUsage().rss;
console.log(JSON.stringify({ seconds, before, after, afterTwo, peak: process.resourceUsage().maxRSS * 1024, outcome }));
`;

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'facekit-abuse-'));
  const script = join(dir, 'in-process.mjs');
  writeFileSync(script, IN_PROCESS);
  const rows: (string | number)[][] = [];
  const results: unknown[] = [];
  try {
    for (const c of CASES.filter((x) => flags.cases.split(',').includes(x.name))) {
      const file = join(dir, `${c.name}.${c.ext}`);
      await c.make(file);
      const cli = spawnSync('/usr/bin/time', ['-f', '%e %M', 'node', join(dist, 'cli', 'main.js'), 'detect', file], {
        encoding: 'utf8',
        timeout: flags.timeout * 1000,
      });
      const timeLine = cli.stderr.trim().split('\n').at(-1) ?? '';
      const [wall, peakKiB] = timeLine.split(' ').map(Number);
      const firstErr = cli.stderr.trim().split('\n')[0].slice(0, 100);
      const inProc = spawnSync('node', ['--expose-gc', script, dist, file], {
        encoding: 'utf8',
        timeout: flags.timeout * 1000,
      });
      const p = JSON.parse(inProc.stdout.trim().split('\n').at(-1) || '{}') as Record<string, number | string>;
      const row = {
        case: c.what,
        bytes: statSync(file).size,
        cliSeconds: wall,
        cliPeakMiB: mib(peakKiB * 1024),
        cliExit: cli.status ?? `signal ${cli.signal}`,
        cliSays: cli.stdout.trim().slice(0, 60) || firstErr,
        apiSeconds: p.seconds,
        apiPeakMiB: mib(Number(p.peak)),
        rssBeforeMiB: mib(Number(p.before)),
        rssAfterMiB: mib(Number(p.after)),
        rssAfterTwoMiB: mib(Number(p.afterTwo)),
        apiOutcome: p.outcome,
      };
      results.push(row);
      rows.push(Object.values(row) as (string | number)[]);
      console.error(JSON.stringify(row));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    markdownTable(
      [
        'case',
        'bytes',
        'CLI s',
        'CLI peak MiB',
        'exit',
        'CLI says',
        'API s',
        'API peak MiB',
        'RSS before',
        'RSS after',
        'RSS after 2nd',
        'API outcome',
      ],
      rows,
    ),
  );
  console.log(`written ${writeResult(`abuse-${flags.label}`, { dist, results })}`);
}

await main();
