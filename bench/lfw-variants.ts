/**
 * Which default alignment and augmentation give users the best LFW figure (issue 17, item 3)?
 * Every photo of pairs.txt goes once through the default kit's public methods: `kit.detect()`
 * (the default detector, border and retry), the face nearest the centre, then each variant's
 * public calls on that one face — exactly what `createFaceKit(variant).analyze()` computes for it,
 * without running the detector once per variant:
 *
 *   l68         kit.landmarks() + kit.encode()                (the 68-point alignment)
 *   l68-refine  a { refineLandmarks: true } kit's landmarks() + encode()
 *   l5          a { alignment: 'landmarks5' } kit's landmarks5() + encode() (MTCNN's five points)
 *
 * (flip was measured by issue 17's first round: 98.77 with and without, so it is not repeated.)
 * One JSON line per photo in scratch/lfw-variants/<shard>.jsonl (descriptors as base64 float32),
 * so a stopped run resumes and shards run side by side (--shard i --shards n). `--score` reads
 * every shard, prints the 10-fold table (missing = wrong) and writes each variant's descriptors
 * in bench/lfw-api.ts's cache layout (bench/results/lfw-api-<options>.{json,f32}), for
 * bench:lfw-api and bench:openset to reuse.
 *
 *   npm run bench:lfw-variants -- --data ../shared/data --shard 0 --shards 2
 *   npm run bench:lfw-variants -- --data ../shared/data --score
 *   (--variants l68 computes and scores only the default's descriptors;
 *   --check 50 compares createFaceKit(options).analyze() with the stored descriptors on 50 photos)
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadImage } from '../src/image/decode.js';
import { euclideanDistance } from '../src/match/distance.js';
import { createFaceKit } from '../src/pipeline/kit.js';
import type { FaceKitOptions } from '../src/pipeline/options.js';
import { DEFAULT_DATA, PROJECT_ROOT, markdownTable, mean, parseFlags, std, writeResult } from './common.js';
import { centralFace } from './lfw-faces.js';
import { readPairs, tenFold } from './lfw-protocol.js';

/** Each variant and the kit options a user sets to get it (the cache name bench:lfw-api uses). */
export const VARIANTS: Record<string, FaceKitOptions> = {
  l68: {},
  'l68-refine': { refineLandmarks: true },
  l5: { alignment: 'landmarks5' },
};

const SCRATCH = join(PROJECT_ROOT, 'scratch', 'lfw-variants');

interface Line {
  img: string;
  detector?: string;
  /** The face's box (x, y, width, height), rounded. */
  box?: number[];
  /** variant → base64 float32 descriptor; absent when no face was found. */
  d?: Record<string, string>;
}

const b64 = (x: Float32Array): string => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64');
const fromB64 = (s: string): Float32Array => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

function readLines(): Map<string, Line> {
  const out = new Map<string, Line>();
  if (!existsSync(SCRATCH)) return out;
  for (const f of readdirSync(SCRATCH).filter((n) => n.endsWith('.jsonl')))
    for (const l of readFileSync(join(SCRATCH, f), 'utf8').split('\n'))
      if (l.trim() !== '') {
        const line = JSON.parse(l) as Line;
        out.set(line.img, line);
      }
  return out;
}

async function encodeShard(
  lfwDir: string,
  images: string[],
  shard: number,
  shards: number,
  variants: readonly string[],
): Promise<void> {
  mkdirSync(SCRATCH, { recursive: true });
  const done = readLines();
  const mine = images.filter((_, i) => i % shards === shard && !done.has(images[i]));
  const file = join(SCRATCH, `${shard}.jsonl`);
  const base = createFaceKit({ threads: 1 });
  const refine = createFaceKit({ threads: 1, refineLandmarks: true });
  const five = createFaceKit({ threads: 1, alignment: 'landmarks5' });
  const t0 = performance.now();
  try {
    for (const [k, img] of mine.entries()) {
      const photo = await loadImage(join(lfwDir, 'images', img));
      const face = centralFace(await base.detect(photo), photo, false);
      const line: Line = { img };
      if (face) {
        line.detector = face.detector;
        line.box = [face.box.x, face.box.y, face.box.width, face.box.height].map((v) => Math.round(v));
        line.d = {};
        if (variants.includes('l68')) {
          const [f68] = await base.landmarks(photo, [face]);
          line.d.l68 = b64((await base.encode(photo, [f68]))[0]);
        }
        if (variants.includes('l68-refine')) {
          const [r68] = await refine.landmarks(photo, [face]);
          line.d['l68-refine'] = b64((await refine.encode(photo, [r68]))[0]);
        }
        if (variants.includes('l5')) {
          const [f5] = await five.landmarks5(photo, [face]);
          line.d.l5 = b64((await five.encode(photo, [f5]))[0]);
        }
      }
      appendFileSync(file, `${JSON.stringify(line)}\n`);
      if ((k + 1) % 100 === 0)
        process.stderr.write(
          `  shard ${shard}: ${k + 1}/${mine.length}, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
        );
    }
  } finally {
    await Promise.all([base.dispose(), refine.dispose(), five.dispose()]);
  }
}

function cacheName(options: FaceKitOptions): string {
  const parts = Object.entries(options).map(([k, v]) => `${k}=${v}`);
  return `lfw-api-${parts.length > 0 ? parts.join(',') : 'default'}`;
}

function score(lfwDir: string, variants: readonly string[]): void {
  const pairs = readPairs(lfwDir);
  const lines = readLines();
  const images = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  const have = images.filter((i) => lines.has(i)).length;
  const missing = images.filter((i) => lines.has(i) && lines.get(i)?.d === undefined);
  const byDetector = new Map<string, number>();
  for (const l of lines.values()) if (l.detector) byDetector.set(l.detector, (byDetector.get(l.detector) ?? 0) + 1);
  const rows: string[][] = [];
  const results: Record<string, unknown> = {};
  for (const variant of variants) {
    const options = VARIANTS[variant];
    const desc = new Map<string, Float32Array>();
    for (const l of lines.values()) if (l.d) desc.set(l.img, fromB64(l.d[variant]));
    const distances = pairs.map((p) => {
      const a = desc.get(p.a),
        b = desc.get(p.b);
      return a && b ? euclideanDistance(a, b) : Number.NaN;
    });
    const { foldAccuracies, thresholds } = tenFold(pairs, distances);
    const correct = foldAccuracies.reduce((s, a) => s + a * 600, 0);
    rows.push([
      variant,
      JSON.stringify(options),
      (100 * mean(foldAccuracies)).toFixed(2),
      (100 * std(foldAccuracies)).toFixed(2),
      String(Math.round(correct)),
      String(distances.filter(Number.isNaN).length),
      mean(thresholds).toFixed(3),
    ]);
    results[variant] = { options, foldAccuracies, thresholds };
    {
      // bench/lfw-api.ts's cache layout, so bench:lfw-api and bench:openset reuse these descriptors
      // (while photos are still missing, only with their --cached-only).
      const found = [...desc.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1));
      const all = new Float32Array(found.length * 128);
      found.forEach(([, d], i) => all.set(d, i * 128));
      const base = join(PROJECT_ROOT, 'bench', 'results', cacheName(options));
      mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
      writeFileSync(`${base}.f32`, new Uint8Array(all.buffer));
      writeFileSync(
        `${base}.json`,
        JSON.stringify({ options, dims: 128, images: found.map(([i]) => i), missing: missing }),
      );
    }
  }
  console.log(
    `LFW View 2, ${pairs.length} pairs, ${have}/${images.length} photos encoded so far; photos without a face: ${missing.length}; face found by ${[...byDetector].map(([d, n]) => `${d} ${n}`).join(', ')}\n\n` +
      markdownTable(
        ['variant', 'kit options', 'accuracy %', '± (folds)', 'pairs right', 'pairs without a face', 'threshold'],
        rows,
      ),
  );
  console.log(`wrote ${writeResult('lfw-variants', { have, total: images.length, missing, results })}`);
}

/**
 * The claim above, checked: `createFaceKit(options).analyze()` (the face nearest the centre) on
 * the first `count` photos gives the stored descriptors of each variant.
 */
async function check(lfwDir: string, count: number, variants: readonly string[]): Promise<void> {
  const lines = readLines();
  const images = [...new Set(readPairs(lfwDir).flatMap((p) => [p.a, p.b]))]
    .filter((i) => lines.get(i)?.d)
    .slice(0, count);
  for (const variant of variants) {
    const kit = createFaceKit({ ...VARIANTS[variant], threads: 1 });
    let worst = 0;
    try {
      for (const img of images) {
        const photo = await loadImage(join(lfwDir, 'images', img));
        const face = centralFace(await kit.analyze(photo), photo, false);
        const stored = fromB64((lines.get(img) as Line).d?.[variant] as string);
        worst = Math.max(worst, face ? euclideanDistance(face.descriptor, stored) : Number.POSITIVE_INFINITY);
      }
    } finally {
      await kit.dispose();
    }
    console.log(
      `${variant}: analyze() on ${images.length} photos, largest distance to the stored descriptor ${worst.toExponential(2)}`,
    );
  }
}

async function main(): Promise<void> {
  const flags = parseFlags({
    data: DEFAULT_DATA,
    shard: 0,
    shards: 1,
    score: false,
    check: 0,
    variants: Object.keys(VARIANTS).join(','),
  });
  const variants = flags.variants.split(',');
  for (const v of variants)
    if (!(v in VARIANTS)) throw new Error(`unknown variant ${v}; known: ${Object.keys(VARIANTS).join(', ')}`);
  const lfwDir = join(flags.data, 'lfw');
  if (flags.score) return score(lfwDir, variants);
  if (flags.check > 0) return check(lfwDir, flags.check, variants);
  // Fold order: a run stopped early has whole folds.
  const images = [...new Set(readPairs(lfwDir).flatMap((p) => [p.a, p.b]))];
  await encodeShard(lfwDir, images, flags.shard, flags.shards, variants);
}

await main();
