/**
 * LFW View 2 through the PUBLIC API, as a user scores it (issue 17): for each photo of the chosen
 * folds, `createFaceKit(options).analyze(photo)`, then the face nearest the photo's centre among
 * those returned (LFW labels the central face; which one to take is the caller's choice, and this
 * is the plain one); a photo where the kit returns no face makes its pairs errors. 10-fold
 * cross-validation as in bench/lfw-protocol.ts. No detector chain of the benchmark's own: what
 * the kit's options give is what is measured.
 *
 *   npm run bench:lfw-api -- --data ../shared/data                       (the default kit, all 6,000 pairs)
 *   npm run bench:lfw-api -- --data ../shared/data --detector ssd --retry --folds 2
 *
 * The descriptors of every photo are kept in bench/results/lfw-api-<options>.{json,f32}, in the
 * layout of bench/lfw-faces.ts, for bench/openset.ts to calibrate unknowns on.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DetectorName } from '../src/detect/registry.js';
import { euclideanDistance } from '../src/match/distance.js';
import { loadImage } from '../src/image/decode.js';
import { createFaceKit } from '../src/pipeline/kit.js';
import type { Alignment, FaceKitOptions } from '../src/pipeline/options.js';
import { DEFAULT_DATA, PROJECT_ROOT, markdownTable, mean, parseFlags, std, writeResult } from './common.js';
import { centralFace, type LfwFaces } from './lfw-faces.js';
import { readPairs, tenFold } from './lfw-protocol.js';

const PROGRESS_EVERY = 500;

/** Kit options from the flags: empty strings mean "the kit's default", so the default row sets nothing. */
export function kitOptions(f: {
  detector: string;
  retry: string;
  padding: string;
  alignment?: string;
  flip?: boolean;
}): FaceKitOptions {
  return {
    ...(f.flip === true ? { flip: true } : {}),
    ...(f.alignment !== undefined && f.alignment !== '' ? { alignment: f.alignment as Alignment } : {}),
    ...(f.detector !== '' ? { detector: f.detector as DetectorName } : {}),
    ...(f.retry !== '' ? { retryOnMiss: f.retry === 'on' } : {}),
    ...(f.padding !== '' ? { padding: Number(f.padding) } : {}),
  } as FaceKitOptions;
}

function cacheName(options: FaceKitOptions): string {
  const parts = Object.entries(options).map(([k, v]) => `${k}=${v}`);
  return `lfw-api-${parts.length > 0 ? parts.join(',') : 'default'}`;
}

/** Descriptors of the central face of each image (analyze() through the public API), cached per options. */
export async function apiDescriptors(
  lfwDir: string,
  images: readonly string[],
  options: FaceKitOptions,
  threads: number,
  cachedOnly = false,
): Promise<LfwFaces> {
  const base = join(PROJECT_ROOT, 'bench', 'results', cacheName(options));
  const known = new Map<string, Float32Array | null>();
  if (existsSync(`${base}.json`) && existsSync(`${base}.f32`)) {
    const meta = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as {
      images: string[];
      missing: string[];
      dims: number;
    };
    const bytes = readFileSync(`${base}.f32`);
    const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    for (const [i, img] of meta.images.entries()) known.set(img, all.slice(i * meta.dims, (i + 1) * meta.dims));
    for (const m of meta.missing) known.set(m, null);
  }
  if (cachedOnly) for (const i of images) if (!known.has(i)) known.set(i, null);
  const todo = cachedOnly ? [] : images.filter((i) => !known.has(i));
  const save = (): LfwFaces => {
    const faces = asFacesOf(known);
    const missing = [...known.entries()].filter(([, d]) => d === null).map(([i]) => i);
    writeFileSync(`${base}.f32`, new Uint8Array(faces.descriptors.buffer));
    writeFileSync(`${base}.json`, JSON.stringify({ options, dims: faces.dims, images: faces.images, missing }));
    return { ...faces, missing };
  };
  if (todo.length > 0) {
    const kit = createFaceKit({ ...options, threads });
    const t0 = performance.now();
    try {
      for (let i = 0; i < todo.length; i++) {
        const photo = await loadImage(join(lfwDir, 'images', todo[i]));
        const face = centralFace(await kit.analyze(photo), photo, false);
        known.set(todo[i], face ? face.descriptor : null);
        // Saved as it goes: a run stopped half-way keeps what it measured (photos are in fold order).
        if ((i + 1) % PROGRESS_EVERY === 0) {
          save();
          process.stderr.write(`  ${i + 1}/${todo.length} photos, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
        }
      }
    } finally {
      await kit.dispose();
    }
  }
  return cachedOnly ? asFacesOf(known) : save();
}

function asFacesOf(known: Map<string, Float32Array | null>): LfwFaces {
  const found = [...known.entries()]
    .filter((e): e is [string, Float32Array] => e[1] !== null)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const dims = found[0]?.[1].length ?? 0;
  const descriptors = new Float32Array(found.length * dims);
  for (const [i, [, d]] of found.entries()) descriptors.set(d, i * dims);
  return asFaces(found, descriptors, dims, []);
}

function asFaces(
  found: [string, Float32Array][],
  descriptors: Float32Array,
  dims: number,
  missing: string[],
): LfwFaces {
  const people = [...new Set(found.map(([i]) => i.split('/')[0]))].sort();
  const index = new Map(people.map((p, i) => [p, i]));
  return {
    people,
    images: found.map(([i]) => i),
    person: Int32Array.from(found, ([i]) => index.get(i.split('/')[0]) as number),
    descriptors,
    dims,
    missing,
  };
}

async function main(): Promise<void> {
  const flags = parseFlags({
    data: DEFAULT_DATA,
    detector: '',
    retry: '',
    padding: '',
    alignment: '',
    flip: false,
    threads: 1,
    folds: 10,
  });
  const lfwDir = join(flags.data, 'lfw');
  const pairs = readPairs(lfwDir).filter((p) => p.fold < flags.folds);
  const options = kitOptions(flags);
  // Fold order, so that a run stopped early has whole folds to score with --folds.
  const images = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  const t0 = performance.now();
  const faces = await apiDescriptors(lfwDir, images, options, flags.threads);
  const seconds = (performance.now() - t0) / 1000;
  const row = new Map(
    faces.images.map((img, i) => [img, faces.descriptors.subarray(i * faces.dims, (i + 1) * faces.dims)]),
  );
  const distances = pairs.map((p) => {
    const a = row.get(p.a),
      b = row.get(p.b);
    return a && b ? euclideanDistance(a, b) : Number.NaN;
  });
  const { foldAccuracies, thresholds } = tenFold(pairs, distances);
  const noFace = distances.filter(Number.isNaN).length;
  const label = cacheName(options).replace(/^lfw-api-/, '');
  console.log(
    `LFW View 2 through createFaceKit(options).analyze(), face nearest the centre; ${flags.folds} folds, ${pairs.length} pairs; ${images.length} photos (${seconds.toFixed(0)} s, cached photos free)\n\n` +
      markdownTable(
        ['options', 'accuracy %', '± (folds)', 'pairs without a face', 'photos without a face', 'threshold'],
        [
          [
            label,
            (100 * mean(foldAccuracies)).toFixed(2),
            (100 * std(foldAccuracies)).toFixed(2),
            noFace,
            faces.missing.filter((m) => images.includes(m)).length,
            mean(thresholds).toFixed(3),
          ],
        ],
      ),
  );
  console.log(
    `wrote ${writeResult(`lfw-api-result-${label}`, { flags, options, foldAccuracies, thresholds, noFace, missing: faces.missing })}`,
  );
}

if (process.argv[1]?.endsWith('lfw-api.ts')) await main();
