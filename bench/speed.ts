/**
 * Speed benchmark: decode, each detector and size, landmarks and encoding per face, the whole
 * pipeline per photo, on 1 and 2 threads; model time alone and with pre/post-processing; peak RSS.
 * int8 rows (kit option precision: 'int8') time the int8 encoder and SSD beside their fp32 rows.
 * Baseline in the same run: face-api.js on tfjs-wasm, the same photo and pipeline; for the HOG
 * detector, dlib's own C++ on the same photo (when tools/dlib-export/hog_reference is built).
 * Each thread setting and the baseline run in a process of their own (sharp's libvips pool set to
 * the same thread count), so each part's peak RSS is its own and no part inherits another's heap.
 *
 *   npm run bench:speed -- [--data ../shared/data] [--repeat 20] [--threads 1,2] [--no-baseline]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative } from 'node:path';
import sharp from 'sharp';
import { loadImage } from '../src/image/decode.js';
import { createFaceKit, type FaceKit } from '../src/pipeline/kit.js';
import type { Alignment } from '../src/pipeline/options.js';
import * as ort from 'onnxruntime-node';
import { ModelSession } from '../src/runtime/session.js';
import type { ModelId } from '../src/models/registry.js';
import type { Image } from '../src/types.js';
import { dlibHogTimes } from './dlib-hog.js';
import { DEFAULT_DATA, markdownTable, parseFlags, percentile, PROJECT_ROOT, writeResult } from './common.js';
import { cpuTime, dlibMmodTimes } from './dlib-mmod.js';

const flags = parseFlags({ data: DEFAULT_DATA, repeat: 20, threads: '1,2', noBaseline: false, out: '', part: '' });
const require = createRequire(import.meta.url);
const faceApiDir = dirname(require.resolve('@vladmandic/face-api/package.json'));
/** The brief's reference photo: face-api's sample1 (3 faces) scaled to 640×427. */
const REFERENCE_WIDTH = 640;
/** Calls before and during the memory soak: enough for onnxruntime's arenas to reach steady state. */
const SOAK_WARMUP = 50;
const SOAK_CALLS = 300;

async function time(fn: () => Promise<unknown>, repeat = flags.repeat): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return percentile(ts, 50);
}

function listPhotos(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...listPhotos(p));
    else if (['.jpg', '.jpeg', '.png'].includes(extname(p).toLowerCase())) out.push(p);
  }
  return out.sort();
}

/** Model time alone: one onnxruntime run on a zero tensor of the network's input shape. */
async function modelOnly(id: ModelId, dims: number[], threads: number): Promise<number> {
  const s = await ModelSession.open(id, { threads });
  const input = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  const ms = await time(() => s.run({ [s.inputNames[0]]: input }));
  await s.dispose();
  return ms;
}

interface Row {
  threads: number;
  stage: string;
  ms: number;
  note: string;
}

async function ourRows(
  ref: Buffer,
  refImg: Image,
  photoSets: Record<string, string[]>,
  threads: number,
): Promise<Row[]> {
  const rows: Row[] = [];
  const add = (stage: string, ms: number, note = '') => rows.push({ threads, stage, ms, note });
  add('decode (sharp, EXIF, 640×427 JPEG)', await time(() => loadImage(ref)));
  add('model only: tiny 416', await modelOnly('tiny_face_detector', [1, 416, 416, 3], threads));
  add('model only: ssd 512', await modelOnly('ssd_mobilenetv1', [1, 512, 512, 3], threads));
  add('model only: ssd 512, int8', await modelOnly('ssd_mobilenetv1_int8', [1, 512, 512, 3], threads));
  add(
    'model only: landmarks 68, per face (batch 3)',
    (await modelOnly('face_landmark_68', [3, 112, 112, 3], threads)) / 3,
  );
  add(
    'model only: landmarks 68 tiny, per face (batch 3)',
    (await modelOnly('face_landmark_68_tiny', [3, 112, 112, 3], threads)) / 3,
  );
  add(
    'model only: encoder 128-d, per face (batch 3)',
    (await modelOnly('dlib_resnet128', [3, 150, 150, 3], threads)) / 3,
  );
  add('model only: encoder 128-d, batch 1', await modelOnly('dlib_resnet128', [1, 150, 150, 3], threads));
  add(
    'model only: encoder 128-d int8, per face (batch 3)',
    (await modelOnly('dlib_resnet128_int8', [3, 150, 150, 3], threads)) / 3,
  );
  add('model only: encoder 128-d int8, batch 1', await modelOnly('dlib_resnet128_int8', [1, 150, 150, 3], threads));

  const kits: Record<string, FaceKit<Alignment>> = {
    tiny: createFaceKit({ detector: 'tiny', threads }),
    ssd: createFaceKit({ detector: 'ssd', threads }),
    mtcnn: createFaceKit({ detector: 'mtcnn', threads }),
    'mtcnn (five-point alignment)': createFaceKit({ detector: 'mtcnn', alignment: 'landmarks5', threads }),
    'mtcnn min face 40 (five-point alignment)': createFaceKit({
      detector: 'mtcnn',
      mtcnn: { minFaceSize: 40 },
      alignment: 'landmarks5',
      threads,
    }),
    // precision 'int8': the int8 encoder, and with SSD the int8 SSD too.
    'tiny, int8': createFaceKit({ detector: 'tiny', threads, precision: 'int8' }),
    'ssd, int8': createFaceKit({ detector: 'ssd', threads, precision: 'int8' }),
    // HOG runs on the JavaScript thread whatever `threads` says (no onnxruntime session).
    hog: createFaceKit({ detector: 'hog', threads }),
    mmod: createFaceKit({ detector: 'mmod', threads }),
  };
  await Promise.all(Object.values(kits).map((k) => k.warmUp()));
  for (const size of [224, 320, 416, 608]) {
    const n = (await kits.tiny.detect(refImg, { inputSize: size })).length;
    add(`detect: tiny ${size}`, await time(() => kits.tiny.detect(refImg, { inputSize: size })), `${n} faces`);
  }
  const ssdFaces = (await kits.ssd.detect(refImg)).length;
  add('detect: ssd', await time(() => kits.ssd.detect(refImg)), `${ssdFaces} faces`);
  const ssdInt8Faces = (await kits['ssd, int8'].detect(refImg)).length;
  add('detect: ssd, int8', await time(() => kits['ssd, int8'].detect(refImg)), `${ssdInt8Faces} faces`);
  for (const minFaceSize of [20, 40]) {
    const n = (await kits.mtcnn.detect(refImg, { mtcnn: { minFaceSize } })).length;
    add(
      `detect: mtcnn min face ${minFaceSize}`,
      await time(() => kits.mtcnn.detect(refImg, { mtcnn: { minFaceSize } })),
      `${n} faces`,
    );
  }
  for (const upsample of [0, 1]) {
    const n = (await kits.hog.detect(refImg, { upsample })).length;
    add(`detect: hog upsample ${upsample}`, await time(() => kits.hog.detect(refImg, { upsample })), `${n} faces`);
  }
  // dlib's C++ once, in the 1-thread part: it is single-threaded.
  const dlib = threads === 1 ? await dlibHogTimes(refImg, flags.repeat) : undefined;
  for (const [upsample, run] of (dlib ?? []).entries()) {
    add(`dlib C++ (hog_reference): detect hog upsample ${upsample}`, run.ms, `${run.faces} faces`);
  }
  // dlib's CNN (face_recognition's --model cnn) beside the others, with dlib's own C++ time on the
  // same 640-px photo for the ratio (wall and CPU; CPU is the fair one on a shared machine).
  const dlibTimes = dlibMmodTimes().filter((t) => t.file === 'sample1.png');
  for (const upsample of [0, 1]) {
    const n = (await kits.mmod.detect(refImg, { upsample })).length;
    const ms = await time(() => kits.mmod.detect(refImg, { upsample }));
    const cpu = threads === 1 ? await cpuTime(() => kits.mmod.detect(refImg, { upsample }), flags.repeat) : undefined;
    const dlib = dlibTimes.find((t) => t.upsample === upsample);
    const vsDlib = dlib
      ? `; dlib C++ 1 thread: ${dlib.ms.toFixed(0)} ms wall${dlib.cpuMs === undefined ? '' : `, ${dlib.cpuMs.toFixed(0)} ms CPU`} (${dlib.faces} faces)` +
        (cpu !== undefined && dlib.cpuMs !== undefined ? `, CPU ratio ×${(dlib.cpuMs / cpu).toFixed(1)}` : '')
      : '';
    add(
      `detect: mmod (cnn) upsample ${upsample}`,
      ms,
      `${n} faces${cpu === undefined ? '' : `; CPU ${cpu.toFixed(0)} ms`}${vsDlib}`,
    );
  }
  const dets = await kits.tiny.detect(refImg);
  const faces = await kits.tiny.landmarks(refImg, dets);
  add(
    'landmarks 68 per face',
    (await time(() => kits.tiny.landmarks(refImg, dets))) / dets.length,
    `${dets.length} faces, one batch`,
  );
  add(
    'encoding per face (align + 128-d)',
    (await time(() => kits.tiny.encode(refImg, faces))) / faces.length,
    `${faces.length} faces, one batch`,
  );
  add(
    'encoding per face, flip averaged',
    (await time(() => kits.tiny.encode(refImg, faces, { flip: true }))) / faces.length,
  );
  add(
    'encoding per face (align + 128-d), int8',
    (await time(() => kits['tiny, int8'].encode(refImg, faces))) / faces.length,
    `${faces.length} faces, one batch`,
  );
  for (const [name, kit] of Object.entries(kits)) {
    add(
      `pipeline: decode + ${name} + landmarks + encode (reference photo)`,
      await time(async () => kit.analyze(await loadImage(ref))),
      `${(await kit.analyze(refImg)).length} faces`,
    );
  }
  for (const [setName, photos] of Object.entries(photoSets)) {
    if (photos.length === 0) continue;
    for (const [name, kit] of Object.entries(kits)) {
      let total = 0,
        faces = 0;
      for (const p of photos) {
        const t0 = performance.now();
        faces += (await kit.analyze(await loadImage(p))).length;
        total += performance.now() - t0;
      }
      add(
        `pipeline: ${name}, mean per photo over ${photos.length} ${setName}`,
        total / photos.length,
        `${faces} faces`,
      );
    }
  }
  // Long-running processes must not grow: RSS after a warm-up vs after many more calls.
  const soak = async (n: number) => {
    for (let i = 0; i < n; i++) await kits.tiny.analyze(await loadImage(ref));
  };
  await soak(SOAK_WARMUP);
  const before = process.memoryUsage().rss;
  await soak(SOAK_CALLS);
  const grownMiB = (process.memoryUsage().rss - before) / 2 ** 20;
  add(
    `RSS growth over ${SOAK_CALLS} decode + analyze calls (after ${SOAK_WARMUP} warm-up), MiB`,
    grownMiB,
    `RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
  );
  await Promise.all(Object.values(kits).map((k) => k.dispose()));
  return rows;
}

async function baselineRows(ref: Buffer, refImg: Image): Promise<Row[]> {
  require('@tensorflow/tfjs');
  require('@tensorflow/tfjs-backend-wasm');
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
  await faceapi.tf.setBackend('wasm');
  await faceapi.tf.ready();
  const dir = join(faceApiDir, 'model');
  await Promise.all([
    faceapi.nets.tinyFaceDetector.loadFromDisk(dir),
    faceapi.nets.ssdMobilenetv1.loadFromDisk(dir),
    faceapi.nets.faceLandmark68Net.loadFromDisk(dir),
    faceapi.nets.faceRecognitionNet.loadFromDisk(dir),
  ]);
  const tensor = () => faceapi.tf.tensor3d(refImg.data, [refImg.height, refImg.width, 3], 'int32');
  const run = async (opts: unknown, full: boolean) => {
    const t = tensor();
    const r = full
      ? await faceapi.detectAllFaces(t, opts).withFaceLandmarks().withFaceDescriptors()
      : await faceapi.detectAllFaces(t, opts);
    t.dispose();
    return r;
  };
  const tiny = new faceapi.TinyFaceDetectorOptions({ inputSize: 416 });
  const ssd = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 });
  const repeat = Math.max(3, Math.round(flags.repeat / 4));
  const rows: Row[] = [];
  const threads = 0;
  const note = `tfjs-wasm, ${faceapi.tf.getBackend()}`;
  rows.push({ threads, stage: 'face-api: detect tiny 416', ms: await time(() => run(tiny, false), repeat), note });
  rows.push({ threads, stage: 'face-api: detect ssd', ms: await time(() => run(ssd, false), repeat), note });
  rows.push({
    threads,
    stage: 'face-api: pipeline tiny 416 + landmarks + descriptors (no decode)',
    ms: await time(() => run(tiny, true), repeat),
    note,
  });
  rows.push({
    threads,
    stage: 'face-api: pipeline ssd + landmarks + descriptors (no decode)',
    ms: await time(() => run(ssd, true), repeat),
    note,
  });
  void ref;
  return rows;
}

/** Peak resident memory of this process so far (Linux: VmHWM; elsewhere maxRSS). */
function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

interface PartResult {
  rows: Row[];
  peakRssMiB: number;
}

const partFile = (part: string) => join(PROJECT_ROOT, 'scratch', `bench-speed-${part}.json`);

/** One thread setting (or 'baseline') in a child process; its rows and peak RSS. */
function runPart(part: string): PartResult {
  mkdirSync(join(PROJECT_ROOT, 'scratch'), { recursive: true });
  const args = [
    '--import',
    'tsx',
    join(PROJECT_ROOT, 'bench', 'speed.ts'),
    '--part',
    part,
    '--data',
    flags.data,
    '--repeat',
    String(flags.repeat),
  ];
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`bench:speed part ${part} failed (exit ${r.status})`);
  return JSON.parse(readFileSync(partFile(part), 'utf8')) as PartResult;
}

async function runPartHere(part: string): Promise<void> {
  const { ref, refImg, photoSets } = await inputs();
  let rows: Row[];
  if (part === 'baseline') {
    rows = await baselineRows(ref, refImg);
  } else {
    const threads = Number(part);
    // libvips decodes on every core unless told: the 1-thread rows would not be one thread.
    sharp.concurrency(Math.max(1, threads));
    rows = await ourRows(ref, refImg, photoSets, threads);
  }
  writeFileSync(partFile(part), JSON.stringify({ rows, peakRssMiB: peakRssMiB() } satisfies PartResult));
}

async function inputs() {
  const ref = await sharp(join(faceApiDir, 'demo', 'sample1.jpg'))
    .resize({ width: REFERENCE_WIDTH })
    .jpeg({ quality: 90 })
    .toBuffer();
  const refImg = await loadImage(ref);
  const photos = [
    ...listPhotos(join(flags.data, 'faces', 'dlib_detection')),
    ...listPhotos(join(flags.data, 'faces', 'misc')),
    ...listPhotos(join(flags.data, 'faces', 'knn_examples', 'test')),
    ...listPhotos(join(flags.data, 'faces', 'five_celebrities', 'val')),
  ];
  const samples = [1, 2, 3, 4, 5, 6].map((n) => join(faceApiDir, 'demo', `sample${n}.jpg`));
  const photoSets = { 'data-set photos (shared/data/faces)': photos, 'npm sample photos (1920 px)': samples };
  return { ref, refImg, photos, photoSets };
}

async function main(): Promise<void> {
  if (flags.part) return runPartHere(flags.part);
  const { refImg, photos } = await inputs();
  console.error(`reference photo ${refImg.width}×${refImg.height}; ${photos.length} data-set photos`);
  const parts = [...flags.threads.split(','), ...(flags.noBaseline ? [] : ['baseline'])];
  const results = Object.fromEntries(parts.map((p) => [p, runPart(p)]));
  const rows = Object.values(results).flatMap((r) => r.rows);
  console.log(`\n## facekit speed (median of ${flags.repeat} runs; ms)\n`);
  console.log(
    markdownTable(
      ['threads', 'stage', 'ms', 'note'],
      rows.map((r) => [r.threads || 'wasm', r.stage, r.ms.toFixed(2), r.note]),
    ),
  );
  console.log(
    '\n' +
      markdownTable(
        ['part', 'peak RSS MiB'],
        parts.map((p) => [
          p === 'baseline' ? 'face-api on tfjs-wasm' : `facekit, ${p} thread(s), 7 kits open`,
          results[p].peakRssMiB.toFixed(0),
        ]),
      ),
  );
  console.log(`\nphotos: ${photos.map((p) => relative(flags.data, p)).join(', ')}`);
  const file = writeResult(flags.out || 'speed', {
    flags,
    reference: { width: refImg.width, height: refImg.height },
    rows,
    peak: Object.fromEntries(parts.map((p) => [p, results[p].peakRssMiB])),
    photos: photos.length,
  });
  console.log(`written ${file}`);
}

await main();
