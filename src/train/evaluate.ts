import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { FaceKitError, invalidArgument } from '../errors.js';
import { loadImage } from '../image/decode.js';
import { embedderEntry } from '../embed/registry.js';
import { createFaceKit } from '../pipeline/kit.js';
import type { FaceKitOptions } from '../pipeline/options.js';
import { readDataset } from './dataset.js';
import { largestFace } from './features.js';
import { seeded } from './model.js';
import { balancedAccuracyAt, bestBalancedAccuracy, type RocPoint, rocCurve, tarAtFar } from './verify.js';
import { sharpLib } from '../image/sharp.js';

/**
 * `facekit eval` as a library call: every photo of a folder of people through the whole pipeline
 * (the kit's detector, alignment and the named embedder, as users run it), then verification over
 * every pair of photos and open-set identification on people held out of the gallery, per embedder.
 * The people should be ones the embedders were not trained on.
 */

export interface EvalOptions {
  readonly kit?: Omit<FaceKitOptions, 'embedder'>;
  /** Seed of the known/unknown split of the open-set identification. */
  readonly seed?: number;
  readonly onPhoto?: (embedder: string, done: number, total: number, found: boolean) => void;
}

export interface EmbedderEval {
  readonly embedder: string;
  readonly modelId: string;
  /** The embedder's own match threshold (its spec). */
  readonly threshold: number;
  readonly photos: number;
  readonly facesFound: number;
  readonly samePairs: number;
  readonly otherPairs: number;
  /** Balanced verification accuracy at the embedder's threshold, and at the best threshold for this set. */
  readonly accuracy: number;
  readonly bestAccuracy: number;
  readonly bestThreshold: number;
  /** NaN when the set has fewer than 1000 different-person pairs. */
  readonly tarAtFar1e3: number;
  /** Open set, at the embedder's threshold: known people's probes named right, strangers' probes given a name. */
  readonly identification: {
    readonly knownProbes: number;
    readonly identified: number;
    readonly strangerProbes: number;
    readonly falseAccepts: number;
  };
  readonly roc: readonly RocPoint[];
}

function dist(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2;
  return Math.sqrt(s);
}

async function describe(
  files: readonly string[],
  embedder: string,
  options: EvalOptions,
): Promise<(Float32Array | null)[]> {
  const kit = createFaceKit({ ...options.kit, embedder } as FaceKitOptions);
  const out: (Float32Array | null)[] = [];
  try {
    for (const file of files) {
      const image = await loadImage(file).catch(() => null);
      const faces = image ? await kit.analyze(image) : [];
      const face = image ? largestFace(faces, image) : undefined;
      out.push(face ? (faces.find((f) => f === face)?.descriptor ?? null) : null);
      options.onPhoto?.(embedder, out.length, files.length, out[out.length - 1] !== null);
    }
  } finally {
    await kit.dispose();
  }
  return out;
}

export async function evaluateFolder(
  dir: string,
  embedders: readonly string[],
  options: EvalOptions = {},
): Promise<EmbedderEval[]> {
  const people = await readDataset(dir);
  const entries = embedders.map((name) => embedderEntry(name, 'embedder', options.kit?.cacheDir));
  const files = people.flatMap((p) => p.files);
  const labels = people.flatMap((p, i) => p.files.map(() => i));
  // Half the people (rounded up; which ones is seeded) are known: their first photo with a face is
  // enrolled, their other photos probe; the other half are strangers.
  const rnd = seeded(options.seed ?? 1);
  const order = people.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const known = new Set(order.slice(0, Math.ceil(order.length / 2)));
  const results: EmbedderEval[] = [];
  for (const entry of entries) {
    const d = await describe(files, entry.name, options);
    const idx = d.flatMap((x, i) => (x ? [i] : []));
    const same: number[] = [];
    const other: number[] = [];
    for (let a = 0; a < idx.length; a++)
      for (let b = a + 1; b < idx.length; b++)
        (labels[idx[a]] === labels[idx[b]] ? same : other).push(
          dist(d[idx[a]] as Float32Array, d[idx[b]] as Float32Array),
        );
    const s = Float64Array.from(same),
      o = Float64Array.from(other);
    const roc = rocCurve(s, o);
    const best = bestBalancedAccuracy(s, o);
    const gallery = new Map<number, Float32Array>();
    for (const i of idx)
      if (known.has(labels[i]) && !gallery.has(labels[i])) gallery.set(labels[i], d[i] as Float32Array);
    let knownProbes = 0,
      identified = 0,
      strangerProbes = 0,
      falseAccepts = 0;
    for (const i of idx) {
      if (gallery.get(labels[i]) === d[i]) continue;
      let bestPerson = -1,
        bestD = Infinity;
      for (const [p, g] of gallery) {
        const x = dist(d[i] as Float32Array, g);
        if (x < bestD) [bestPerson, bestD] = [p, x];
      }
      const named = bestD <= entry.thresholds.match;
      if (known.has(labels[i])) {
        knownProbes++;
        if (named && bestPerson === labels[i]) identified++;
      } else {
        strangerProbes++;
        if (named) falseAccepts++;
      }
    }
    results.push({
      embedder: entry.name,
      modelId: entry.modelId,
      threshold: entry.thresholds.match,
      photos: files.length,
      facesFound: idx.length,
      samePairs: s.length,
      otherPairs: o.length,
      accuracy: balancedAccuracyAt(s, o, entry.thresholds.match),
      bestAccuracy: best.accuracy,
      bestThreshold: best.threshold,
      tarAtFar1e3: tarAtFar(roc, 1e-3, o.length),
      identification: { knownProbes, identified, strangerProbes, falseAccepts },
      roc,
    });
  }
  return results;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/** The ROC curves as an SVG plot: TAR against FAR on a log axis from 1e-4 to 1. */
export function rocSvg(results: readonly EmbedderEval[]): string {
  const W = 640,
    H = 480,
    L = 60,
    B = 50,
    T = 20,
    R = 20;
  const x = (far: number) => L + ((Math.log10(Math.max(far, 1e-4)) + 4) / 4) * (W - L - R);
  const y = (tar: number) => T + (1 - tar) * (H - T - B);
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#444"/>`,
  ];
  for (let e = -4; e <= 0; e++)
    parts.push(
      `<line x1="${x(10 ** e)}" y1="${T}" x2="${x(10 ** e)}" y2="${H - B}" stroke="#ddd"/>`,
      `<text x="${x(10 ** e)}" y="${H - B + 16}" text-anchor="middle">1e${e}</text>`,
    );
  for (let t = 0; t <= 10; t += 2)
    parts.push(`<text x="${L - 6}" y="${y(t / 10) + 4}" text-anchor="end">${(t / 10).toFixed(1)}</text>`);
  parts.push(
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">false accept rate</text>`,
    `<text x="16" y="${(T + H - B) / 2}" transform="rotate(-90 16 ${(T + H - B) / 2})" text-anchor="middle">true accept rate</text>`,
  );
  results.forEach((r, i) => {
    const pts = r.roc
      .filter((p) => Number.isFinite(p.threshold))
      .map((p) => `${x(p.far).toFixed(1)},${y(p.tar).toFixed(1)}`);
    const colour = COLOURS[i % COLOURS.length];
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.join(' ')}"/>`);
    parts.push(
      `<text x="${L + 10}" y="${H - B - 10 - 16 * i}" fill="${colour}">${esc(r.embedder)} (${(100 * r.bestAccuracy).toFixed(2)}%)</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** The formats `--roc` writes, by file extension. */
export type RocFormat = 'svg' | 'png';

/** The plot format a file name asks for; INVALID_ARGUMENT (field `field`) for any other extension. */
export function rocFormat(file: string, field = 'roc'): RocFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.svg' || ext === '.png') return ext.slice(1) as RocFormat;
  throw invalidArgument(
    field,
    `the ROC plot is written as SVG or PNG; give a file name ending in .svg or .png, got "${file}"`,
  );
}

/** The ROC plot as PNG: the SVG rendered by sharp (the image library facekit encodes with). */
export async function rocPng(results: readonly EmbedderEval[]): Promise<Buffer> {
  return sharpLib()(Buffer.from(rocSvg(results)))
    .png()
    .toBuffer();
}

/** Writes the ROC plot as the file's extension says (.svg or .png); FILE_UNWRITABLE when it cannot. */
export async function writeRocPlot(file: string, results: readonly EmbedderEval[]): Promise<void> {
  const bytes = rocFormat(file) === 'png' ? await rocPng(results) : rocSvg(results);
  try {
    await writeFile(file, bytes);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? String(cause);
    throw new FaceKitError('FILE_UNWRITABLE', `the ROC plot cannot be written (${code})`, { file, cause });
  }
}
