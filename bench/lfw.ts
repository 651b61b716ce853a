/**
 * LFW verification benchmark (View 2, 10 folds). For every image in pairs.txt: detect, take the
 * face LFW labels: the one covering the image centre (nearest the centre if several), else, when no
 * detection covers the centre, the detection nearest the centre. 68 landmarks, then several chip
 * variants through the 128-d encoder. Pairs whose image had no face at all count as errors (no
 * fallback crop); "+rescue" rows use a documented low-score fallback.
 *
 *   npm run bench:lfw -- [--data ../shared/data] [--detectors tiny,ssd,mtcnn] [--threads 2] [--limit N]
 *                        [--jitters 8]   (adds a flip+jitter variant: dlib's num_jitters)
 *                        [--variants dlib-align,dlib-align+flip,five-point,five-point+flip]   (only these chips)
 *                        [--precision int8]   (kit option precision: the int8 encoder, and int8 SSD wherever SSD runs)
 *
 * "five-point" chips are aligned on five points (kit option alignment: 'landmarks5'): MTCNN's own
 * when MTCNN found the face, else made from the 68 points; for tiny and SSD they measure the
 * five-point template alone.
 */
import { join } from 'node:path';
import type { DetectorName } from '../src/detect/registry.js';
import { DlibEncoder } from '../src/embed/dlib128.js';
import { loadImage } from '../src/image/decode.js';
import { resizeRegion } from '../src/image/ops.js';
import { createFaceKit } from '../src/pipeline/kit.js';
import { type Attempt, detectionAttempts } from '../src/pipeline/retry.js';
import { landmarks5From68 } from '../src/landmarks/five.js';
import { euclideanDistance } from '../src/match/distance.js';
import { checkPrecision } from '../src/models/registry.js';
import type { Box, Detection, Image, Point } from '../src/types.js';
import { DEFAULT_DATA, markdownTable, mean, parseFlags, std, writeResult } from './common.js';
import { accuracyAt, readPairs, tenFold } from './lfw-protocol.js';

const flags = parseFlags({
  data: DEFAULT_DATA,
  detectors: 'tiny,ssd',
  threads: 2,
  limit: 0,
  out: '',
  jitters: 0,
  variants: '',
  precision: 'fp32',
});
const precision = checkPrecision(flags.precision, '--precision');
const lfwDir = join(flags.data, 'lfw');

/**
 * The variants measured; the library ships the best one as its default. The jitter variant (off
 * unless --jitters N) measured no gain over flip alone at N = 8 and costs N more encodings a face.
 */
const ALL_VARIANTS = [
  'dlib-align',
  'dlib-align+flip',
  'dlib-align+flip+jitter',
  'faceapi-crop',
  'faceapi-crop+flip',
  'five-point',
  'five-point+flip',
] as const;
type Variant = (typeof ALL_VARIANTS)[number];
/** Without --variants: the chips measured before five-point alignment existed, so old and new runs compare. */
const DEFAULT_VARIANTS: readonly Variant[] = [
  'dlib-align',
  'dlib-align+flip',
  'dlib-align+flip+jitter',
  'faceapi-crop',
  'faceapi-crop+flip',
];
const requested = flags.variants === '' ? DEFAULT_VARIANTS : (flags.variants.split(',') as Variant[]);
for (const v of requested)
  if (!ALL_VARIANTS.includes(v)) throw new Error(`unknown variant ${v}; known: ${ALL_VARIANTS.join(', ')}`);
const VARIANTS = requested.filter((v) => flags.jitters > 0 || v !== 'dlib-align+flip+jitter');

/**
 * "+rescue" rows: images still faceless after every retry take the best candidate scoring at least
 * this (kit option rescueMinConfidence); the plain rows count those pairs as errors.
 */
const RESCUE_MIN_CONFIDENCE = 0.1;

/** face-api's own recognition crop: landmarks' bounding box grown by 20%, padded square, resized. */
const FACEAPI_BOX_PADDING = 0.2;

/** LFW labels the central face: a detection covering the centre is preferred to any other. */
function coversCentre(d: Detection, img: Image): boolean {
  const cx = img.width / 2,
    cy = img.height / 2;
  return d.box.x <= cx && cx <= d.box.x + d.box.width && d.box.y <= cy && cy <= d.box.y + d.box.height;
}

function nearestCentre(dets: readonly Detection[], img: Image): Detection | undefined {
  const cx = img.width / 2,
    cy = img.height / 2;
  let best: Detection | undefined;
  let bestD = Infinity;
  for (const d of dets) {
    const dist = Math.hypot(d.box.x + d.box.width / 2 - cx, d.box.y + d.box.height / 2 - cy);
    if (dist < bestD) {
      bestD = dist;
      best = d;
    }
  }
  return best;
}

function faceApiCrop(img: Image, pts: readonly Point[], mirror: boolean): Float32Array {
  const xs = pts.map((p) => p.x),
    ys = pts.map((p) => p.y);
  const x0 = Math.min(...xs),
    y0 = Math.min(...ys),
    w = Math.max(...xs) - x0,
    h = Math.max(...ys) - y0;
  const bw = w * (1 + FACEAPI_BOX_PADDING),
    bh = h * (1 + FACEAPI_BOX_PADDING);
  const side = Math.max(bw, bh);
  const cx = x0 + w / 2,
    cy = y0 + h / 2;
  const chip = resizeRegion(img, { x: cx - side / 2, y: cy - side / 2, width: side, height: side }, 150, 150);
  if (!mirror) return chip;
  const out = new Float32Array(chip.length);
  for (let y = 0; y < 150; y++)
    for (let x = 0; x < 150; x++)
      for (let c = 0; c < 3; c++) out[(y * 150 + x) * 3 + c] = chip[(y * 150 + 149 - x) * 3 + c];
  return out;
}

interface DetectorRun {
  detector: DetectorName;
  images: number;
  firstPassMisses: number;
  missesAfterRetry: number;
  missesAfterRescue: number;
  seconds: number;
  distances: Record<string, (number | null)[]>;
  boxes: Record<string, Box>;
  /** noFacePairs: pairs with an image where no face was found (distance NaN), each counted as an error. */
  variants: Record<
    string,
    {
      mean: number;
      std: number;
      folds: number[];
      thresholds: number[];
      meanThreshold: number;
      accAt06: number;
      noFacePairs: number;
    }
  >;
}

async function runDetector(
  detector: DetectorName,
  images: string[],
  pairs: ReturnType<typeof readPairs>,
): Promise<DetectorRun> {
  const kit = createFaceKit({ detector, threads: flags.threads, precision });
  // Same sessions' models, aligning on five points; it only encodes (detection and landmarks come from `kit`).
  const kit5 = createFaceKit({ detector, threads: flags.threads, alignment: 'landmarks5', precision });
  // The library's retryOnMiss chain, walked here pass by pass so that a pass whose faces all miss
  // the centre counts as a miss too; the rescue passes repeat it at a low score floor.
  const chain = detectionAttempts(detector, {});
  const rescueChain = chain.map(([name, o]): Attempt => [name, { ...o, minConfidence: RESCUE_MIN_CONFIDENCE }]);
  const encoder = await DlibEncoder.create({ threads: flags.threads, precision });
  const desc = new Map<string, Record<Variant, Float32Array>>();
  const rescued = new Map<string, Record<Variant, Float32Array>>();
  const chosen = new Map<string, Box>();
  let firstPassMisses = 0,
    missesAfterRetry = 0,
    missesAfterRescue = 0;
  const t0 = performance.now();
  for (let i = 0; i < images.length; i++) {
    const rel = images[i];
    const img = await loadImage(join(lfwDir, 'images', rel));
    // Each stage runs only when the earlier ones found no face covering the centre. A detection
    // that misses the centre is kept as a fallback: taking it beats counting the pair as lost.
    const passes = [...chain, ...rescueChain];
    const seen: Detection[][] = [];
    let det: Detection | undefined;
    for (const pass of passes) {
      const dets = await kit.attempt(img, pass);
      seen.push(dets);
      det = nearestCentre(
        dets.filter((d) => coversCentre(d, img)),
        img,
      );
      if (det) break;
    }
    // 0: first pass, 1: a retry, 2: a rescue pass.
    const stageOf = (pass: number) => (pass === 0 ? 0 : pass < chain.length ? 1 : 2);
    let stage = stageOf(seen.length - 1);
    if (!det) {
      det = nearestCentre(seen.slice(0, chain.length).flat(), img);
      stage = det ? 1 : 2;
      det ??= nearestCentre(seen.slice(chain.length).flat(), img);
    }
    if (stage >= 1) firstPassMisses++;
    if (stage >= 2) missesAfterRetry++;
    if (!det) {
      missesAfterRescue++;
      continue;
    }
    const store = stage === 2 ? rescued : desc;
    const [face] = await kit.landmarks(img, [det]);
    const five = { landmarks5: det.landmarks5 ?? landmarks5From68(face.landmarks) };
    const want = (...vs: Variant[]) => vs.some((v) => VARIANTS.includes(v));
    const none = new Float32Array(0);
    const [[a], [af]] = [
      want('dlib-align') ? await kit.encode(img, [face]) : [none],
      want('dlib-align+flip') ? await kit.encode(img, [face], { flip: true }) : [none],
    ];
    const aj = want('dlib-align+flip+jitter')
      ? (await kit.encode(img, [face], { flip: true, jitters: flags.jitters }))[0]
      : none;
    const [b, bm] = want('faceapi-crop', 'faceapi-crop+flip')
      ? await encoder.encode([faceApiCrop(img, face.landmarks, false), faceApiCrop(img, face.landmarks, true)])
      : [none, none];
    const [[c], [cf]] = [
      want('five-point') ? await kit5.encode(img, [five]) : [none],
      want('five-point+flip') ? await kit5.encode(img, [five], { flip: true }) : [none],
    ];
    const avg = (x: Float32Array, y: Float32Array) => x.map((v, k) => (v + y[k]) / 2);
    store.set(rel, {
      'dlib-align': a,
      'dlib-align+flip': af,
      'dlib-align+flip+jitter': aj,
      'faceapi-crop': b,
      'faceapi-crop+flip': avg(b, bm),
      'five-point': c,
      'five-point+flip': cf,
    });
    chosen.set(rel, det.box);
    if ((i + 1) % 1000 === 0)
      process.stderr.write(
        `  ${detector}: ${i + 1}/${images.length} images, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
      );
  }
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all([kit.dispose(), kit5.dispose(), encoder.dispose()]);
  const variants = {} as DetectorRun['variants'];
  const distances: Record<string, (number | null)[]> = {};
  for (const name of [...VARIANTS, ...VARIANTS.map((v) => `${v} +rescue` as const)]) {
    const v = name.replace(' +rescue', '') as Variant;
    const find = (rel: string) => desc.get(rel)?.[v] ?? (name.endsWith('+rescue') ? rescued.get(rel)?.[v] : undefined);
    const d = pairs.map((p) => {
      const a = find(p.a),
        b = find(p.b);
      return a && b ? euclideanDistance(a, b) : Number.NaN;
    });
    const r = tenFold(pairs, d);
    distances[name] = d.map((x) => (Number.isNaN(x) ? null : Number(x.toFixed(5))));
    variants[name] = {
      mean: mean(r.foldAccuracies),
      std: std(r.foldAccuracies),
      folds: r.foldAccuracies,
      thresholds: r.thresholds,
      meanThreshold: mean(r.thresholds),
      accAt06: accuracyAt(
        d,
        pairs.map((p) => p.same),
        0.6,
      ),
      noFacePairs: d.filter(Number.isNaN).length,
    };
  }
  return {
    detector,
    images: images.length,
    firstPassMisses,
    missesAfterRetry,
    missesAfterRescue,
    seconds,
    variants,
    distances,
    boxes: Object.fromEntries(chosen),
  };
}

async function main(): Promise<void> {
  let pairs = readPairs(lfwDir);
  if (flags.limit > 0) pairs = pairs.filter((_, i) => i % Math.ceil(pairs.length / flags.limit) === 0);
  const images = [...new Set(pairs.flatMap((p) => [p.a, p.b]))].sort();
  console.error(`LFW: ${pairs.length} pairs, ${images.length} images, threads ${flags.threads}`);
  const runs: DetectorRun[] = [];
  for (const det of flags.detectors.split(',') as DetectorName[]) {
    runs.push(await runDetector(det, images, pairs));
    writeResult(flags.out || 'lfw', { flags, pairs: pairs.length, images: images.length, runs });
  }
  const rows = runs.flatMap((r) =>
    Object.entries(r.variants).map(([v, x]) => {
      const misses = v.endsWith('+rescue') ? r.missesAfterRescue : r.missesAfterRetry;
      return [
        r.detector,
        v,
        `${(x.mean * 100).toFixed(2)} ± ${(x.std * 100).toFixed(2)}`,
        x.meanThreshold.toFixed(3),
        (x.accAt06 * 100).toFixed(2),
        `${r.firstPassMisses} / ${misses}`,
        String(x.noFacePairs),
      ];
    }),
  );
  console.log(
    `\n## LFW 10-fold (${pairs.length} pairs, ${images.length} images, ${precision}; no-face pairs count as errors)\n`,
  );
  console.log(
    markdownTable(
      [
        'detector',
        'chip',
        'accuracy % (mean ± std)',
        'mean threshold',
        'acc % at 0.6',
        'images without face: 1st pass / final',
        'pairs without face (errors)',
      ],
      rows,
    ),
  );
  console.log(
    '\n' +
      markdownTable(
        ['detector', 'seconds', 'ms / image'],
        runs.map((r) => [r.detector, r.seconds.toFixed(1), ((r.seconds * 1000) / r.images).toFixed(1)]),
      ),
  );
  const file = writeResult(flags.out || 'lfw', { flags, pairs: pairs.length, images: images.length, runs });
  console.log(`\nwritten ${file}`);
}

await main();
