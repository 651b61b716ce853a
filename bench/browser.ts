// biome-ignore-all lint/suspicious/noExplicitAny: page.evaluate's functions use the page's DOM globals, untyped here
/**
 * Browser benchmark (issue 14): headless Chromium on this machine, same run, same frames.
 *  - ms per 640×480 frame, detect (tiny 416) and whole pipeline (detect + 68 landmarks + 128-d
 *    per face): facekit/browser on onnxruntime-web wasm with 1 and 2 threads, fp32 and int8
 *    (`precision`), and on WebGPU where the browser offers an adapter (here SwiftShader's, the GPU
 *    emulated on the CPU: one round, on its own, labelled with the adapter), against face-api.js
 *    (@vladmandic/face-api, tfjs wasm and webgl backends; its wasm binaries from node_modules);
 *  - the Live page's fps with a fake 640×480 camera (`facekit serve`, in-browser recognition);
 *  - facekit/browser's bundle size (minified, gzip) and the web app's;
 *  - first load (models fetched and sessions opened) with a cold and a warm model cache.
 * Wall-clock medians on a shared 2-core machine: compare rows of one run, not runs. The runtimes are
 * timed round by round, interleaved (see timeInterleaved), and each row gives its per-round ratios.
 *
 *   npm run bench:browser -- [--rounds 3] [--no-webgl] [--no-webgpu] [--live-seconds 8]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import sharp from 'sharp';
import { openSqliteStore } from '../src/gallery/sqlite.js';
import { createService } from '../src/server/app.js';
import { WEBAPP_DIR } from '../src/server/routes/webapp.js';
import { CAMERA_HEIGHT, CAMERA_WIDTH, cameraFrame, writeY4m } from '../test/browser/fake-camera.js';
import type { Page } from 'playwright-core';
import { findChromium, launchChromium, newPage, serveFaceKit } from '../test/browser/harness.js';
import { tempDir } from '../test/helpers/temp.js';
import { machine, markdownTable, parseFlags, PROJECT_ROOT, writeResult } from './common.js';

declare const document: any, performance: any, crossOriginIsolated: any, window: any, location: any;

const flags = parseFlags({ rounds: 3, noWebgl: false, noWebgpu: false, liveSeconds: 8 });
const require = createRequire(import.meta.url);
const chromium = findChromium();
if ('skip' in chromium) {
  console.error(`bench:browser needs Chromium: ${chromium.skip}`);
  process.exit(1);
}
const CHROMIUM_PATH = chromium.path;
const FACE_API = join(require.resolve('@vladmandic/face-api/package.json'), '..');
const TFJS_WASM = join(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'), '..', 'dist');
const SAMPLES = [1, 2, 3, 4, 5, 6];

/** face-api's six demo photos as 640×480 RGBA frames (scaled to fit, grey borders). */
async function frames(): Promise<Buffer> {
  const all = await Promise.all(
    SAMPLES.map((n) =>
      sharp(join(FACE_API, 'demo', `sample${n}.jpg`))
        .resize(CAMERA_WIDTH, CAMERA_HEIGHT, { fit: 'contain', background: { r: 40, g: 40, b: 40 } })
        .ensureAlpha()
        .raw()
        .toBuffer(),
    ),
  );
  return Buffer.concat(all);
}

const extra: Record<string, Uint8Array | string> = {
  '/frames.bin': await frames(),
  '/face-api.js': readFileSync(join(FACE_API, 'dist', 'face-api.esm.js')),
};
for (const f of readdirSync(join(FACE_API, 'model')))
  extra[`/faceapi-models/${f}`] = readFileSync(join(FACE_API, 'model', f));
for (const f of readdirSync(TFJS_WASM).filter((f) => f.endsWith('.wasm')))
  extra[`/tfjs-wasm/${f}`] = readFileSync(join(TFJS_WASM, f));
const site = await serveFaceKit(extra);
const browser = await launchChromium(CHROMIUM_PATH, [
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
  '--enable-unsafe-webgpu',
]);

interface Timing {
  /** Median wall-clock ms per frame. */
  detect: number;
  pipeline: number;
  /** CPU ms per frame, all of Chromium's processes and threads together. */
  detectCpu: number;
  pipelineCpu: number;
  faces: number;
  load: number;
  isolated: boolean;
  /** Mean pipeline wall ms per frame of each round, in round order. */
  roundMeans: number[];
}

/** Loads the frames into canvases in the page (outside every timing). */
const LOAD_FRAMES = `(async () => {
  const bytes = new Uint8ClampedArray(await (await fetch('/frames.bin')).arrayBuffer());
  const size = ${CAMERA_WIDTH} * ${CAMERA_HEIGHT} * 4;
  window.frames_ = [];
  for (let i = 0; i < bytes.length / size; i++) {
    const c = document.createElement('canvas'); c.width = ${CAMERA_WIDTH}; c.height = ${CAMERA_HEIGHT};
    c.getContext('2d').putImageData(new ImageData(bytes.slice(i * size, (i + 1) * size), ${CAMERA_WIDTH}, ${CAMERA_HEIGHT}), 0, 0);
    window.frames_.push(c);
  }
})()`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * CPU time (ms) used so far by this process's descendants (Chromium's browser, renderer, GPU and
 * utility processes): robust where wall-clock is not, on a machine other runs share. Counted from
 * /proc, so only where there is one (Linux); NaN elsewhere.
 */
function browserCpuMs(): number {
  const TICK_MS = 10; // USER_HZ is 100 on Linux
  const children = new Map<number, { pid: number; cpu: number }[]>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return Number.NaN;
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    // Fields after the command (which may hold spaces): state ppid … utime(12th) stime(13th).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(f[1]);
    const list = children.get(ppid) ?? [];
    list.push({ pid: Number(pid), cpu: (Number(f[11]) + Number(f[12])) * TICK_MS });
    children.set(ppid, list);
  }
  let total = 0;
  const queue = [process.pid];
  while (queue.length > 0)
    for (const c of children.get(queue.pop() as number) ?? []) {
      total += c.cpu;
      queue.push(c.pid);
    }
  return total;
}

/** One pass of the page's `window.bench_[step]` over every frame: wall ms per frame, CPU ms of the pass, faces. */
async function timePass(page: Page, step: 'detect' | 'pipeline') {
  const cpu0 = browserCpuMs();
  const r = await page.evaluate(async (step: string) => {
    const times: number[] = [];
    let faces = 0;
    for (const f of window.frames_) {
      const t = performance.now();
      faces += await window.bench_[step](f);
      times.push(performance.now() - t);
    }
    return { times, faces };
  }, step);
  return { times: r.times, cpuMs: browserCpuMs() - cpu0, faces: r.faces };
}

/** A configuration's open page and what its passes measured so far. */
interface Runtime {
  readonly name: string;
  readonly page: Page;
  readonly load: number;
  readonly times: { detect: number[]; pipeline: number[] };
  readonly cpuMs: { detect: number; pipeline: number };
  /** Mean pipeline ms per frame of each round (for the per-round ratios). */
  readonly roundMeans: number[];
  faces: number;
}

/** Opens a page, has `setup` define window.bench_ = { detect, pipeline } (each resolving to a face count). */
async function openRuntime(name: string, setup: string): Promise<Runtime> {
  // newPage opens a fresh context: every configuration starts with its own runtime instance.
  const page = await newPage(browser);
  await page.goto(site.url);
  await page.evaluate(LOAD_FRAMES);
  const t0 = Date.now();
  await page.evaluate(setup);
  const load = Date.now() - t0;
  // One untimed pass: first runs allocate and compile.
  await page.evaluate('(async () => { for (const f of window.frames_) await window.bench_.pipeline(f); })()');
  return {
    name,
    page,
    load,
    times: { detect: [], pipeline: [] },
    cpuMs: { detect: 0, pipeline: 0 },
    roundMeans: [],
    faces: 0,
  };
}

/**
 * Times every runtime `rounds` times, round by round: each round passes every frame through each
 * runtime in turn (the order rotating per round), so a slow minute of a shared machine falls on
 * all of them instead of on whichever configuration happened to be running then. Pages not being
 * timed sit idle (onnxruntime's threads sleep, allow_spinning 0).
 */
async function timeInterleaved(runtimes: Runtime[], rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round++)
    for (let k = 0; k < runtimes.length; k++) {
      const rt = runtimes[(k + round) % runtimes.length];
      for (const step of ['detect', 'pipeline'] as const) {
        const pass = await timePass(rt.page, step);
        rt.times[step].push(...pass.times);
        rt.cpuMs[step] += pass.cpuMs;
        if (step === 'pipeline') {
          rt.faces += pass.faces;
          rt.roundMeans.push(pass.times.reduce((a, b) => a + b, 0) / pass.times.length);
        }
      }
    }
}

async function closeRuntime(rt: Runtime): Promise<Timing> {
  const isolated = await rt.page.evaluate(() => crossOriginIsolated);
  await rt.page.evaluate('window.bench_.dispose?.()');
  await rt.page.close();
  const frames = rt.times.pipeline.length;
  return {
    detect: median(rt.times.detect),
    pipeline: median(rt.times.pipeline),
    detectCpu: rt.cpuMs.detect / rt.times.detect.length,
    pipelineCpu: rt.cpuMs.pipeline / frames,
    faces: rt.faces / frames,
    load: rt.load,
    isolated,
    roundMeans: rt.roundMeans,
  };
}

/**
 * `padding`: the kit's default (0.1, as Node: a second detector pass on a bordered copy finds faces
 * cut by the frame's edge) or 0 (one pass, the work face-api.js does; the Live page's setting).
 */
function facekitSetup(
  threads: number,
  padding?: number,
  precision: 'fp32' | 'int8' = 'fp32',
  executionProvider: 'wasm' | 'webgpu' = 'wasm',
): string {
  const options = JSON.stringify({
    detector: 'tiny',
    inputSize: 416,
    threads,
    padding,
    precision,
    executionProvider,
    cache: false,
  });
  return `(async () => {
      const { createFaceKit } = await import(location.origin + '/facekit.js');
      const kit = createFaceKit(${options});
      window.runtime_ = await kit.warmUp();
      window.bench_ = {
        detect: async (f) => (await kit.detect(f)).length,
        pipeline: async (f) => (await kit.analyze(f)).length,
        dispose: () => kit.dispose(),
      };
    })()`;
}

function faceApiSetup(backend: 'wasm' | 'webgl'): string {
  return `(async () => {
      const faceapi = await import(location.origin + '/face-api.js');
      if (${JSON.stringify(backend)} === 'wasm') faceapi.tf.setWasmPaths(location.origin + '/tfjs-wasm/');
      await faceapi.tf.setBackend(${JSON.stringify(backend)});
      await faceapi.tf.ready();
      if (faceapi.tf.getBackend() !== ${JSON.stringify(backend)}) throw new Error('face-api ran on ' + faceapi.tf.getBackend());
      for (const net of [faceapi.nets.tinyFaceDetector, faceapi.nets.faceLandmark68Net, faceapi.nets.faceRecognitionNet])
        await net.loadFromUri('/faceapi-models');
      const options = new faceapi.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: 0.5 });
      window.bench_ = {
        detect: async (f) => (await faceapi.detectAllFaces(f, options)).length,
        pipeline: async (f) => (await faceapi.detectAllFaces(f, options).withFaceLandmarks().withFaceDescriptors()).length,
      };
    })()`;
}

/** Cold: a fresh browser context (empty Cache Storage) fetches every model; warm: the same context again. */
async function firstLoad(): Promise<{ cold: number; warm: number }> {
  const context = await browser.newContext();
  const times: number[] = [];
  for (let i = 0; i < 2; i++) {
    const page = await context.newPage();
    await page.addInitScript('globalThis.__name = (f) => f;');
    const t0 = Date.now();
    await page.goto(site.url);
    await page.evaluate(async () => {
      const { createFaceKit } = await import(`${location.origin}/facekit.js`);
      await createFaceKit({ detector: 'tiny' }).warmUp();
    });
    times.push(Date.now() - t0);
    await page.close();
  }
  await context.close();
  return { cold: times[0], warm: times[1] };
}

/** The Live page's fps: facekit serve, a fake 640×480 camera, in-browser detection and recognition. */
async function liveFps(): Promise<{ drawnFps: number; inferenceFps: number; labels: string[] } | null> {
  try {
    readFileSync(join(WEBAPP_DIR, 'index.html'));
  } catch {
    console.error('Live fps skipped: the web app is not built (npm run build)');
    return null;
  }
  const video = join(tempDir('facekit-bench-camera-'), 'camera.y4m');
  writeY4m(video, [await cameraFrame(2, { left: 500, top: 100, width: 900, height: 675 })]);
  const db = join(tempDir('facekit-bench-live-'), 'gallery.db');
  const store = openSqliteStore(db);
  const key = (await store.keys.create('admin', 'bench')).key;
  await store.close();
  const service = await createService({ db, limits: { workers: 1 } });
  const url = await service.listen('127.0.0.1', 0);
  const camera = await launchChromium(CHROMIUM_PATH, [
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-video-capture=${video}`,
  ]);
  try {
    const page = await newPage(camera);
    await page.goto(`${url}/#live`);
    await page.fill('#key', key);
    await page.click('#key-form button');
    await page.click('#live-start');
    await page.waitForFunction(() => (window.facekitLive?.frames ?? 0) > 10, null, { timeout: 120_000 });
    const read = () =>
      page.evaluate(() => ({
        frames: window.facekitLive.frames,
        passes: window.facekitLive.passes,
        labels: window.facekitLive.labels,
        t: performance.now(),
      }));
    const start = await read();
    await page.waitForTimeout(flags.liveSeconds * 1000);
    const end = await read();
    const seconds = (end.t - start.t) / 1000;
    // Drawn: frames whose boxes were carried to that frame; passes: detections the worker finished.
    return {
      drawnFps: (end.frames - start.frames) / seconds,
      inferenceFps: (end.passes - start.passes) / seconds,
      labels: end.labels as string[],
    };
  } finally {
    await camera.close();
    await service.close();
  }
}

async function bundleSizes() {
  const lib = await build({
    entryPoints: [join(PROJECT_ROOT, 'src/browser/index.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    external: ['onnxruntime-web', 'onnxruntime-web/*'],
    write: false,
  });
  const gz = (b: Uint8Array) => gzipSync(b, { level: 9 }).length;
  const app = join(WEBAPP_DIR, 'app');
  let appJs = 0;
  let wasm = 0;
  try {
    for (const f of readdirSync(app)) {
      const bytes = readFileSync(join(app, f));
      if (f.endsWith('.wasm')) wasm += gz(bytes);
      else appJs += gz(bytes);
    }
  } catch {
    // not built
  }
  return { libraryMinGzip: gz(lib.outputFiles[0].contents), appJsCssGzip: appJs, ortWasmGzip: wasm };
}

const results: Record<string, Timing> = {};
const runtimes: Runtime[] = [];
for (const [threads, padding, precision] of [
  [1, undefined, 'fp32'],
  [1, 0, 'fp32'],
  [2, 0, 'fp32'],
  [1, 0, 'int8'],
  [2, 0, 'int8'],
] as const) {
  const name = `facekit wasm ${threads} thread${threads > 1 ? 's' : ''}${padding === 0 ? ', padding 0' : ', default padding'}${precision === 'int8' ? ', int8' : ''}`;
  runtimes.push(await openRuntime(name, facekitSetup(threads, padding, precision)));
}
const FACE_API_WASM = 'face-api.js wasm';
runtimes.push(await openRuntime(FACE_API_WASM, faceApiSetup('wasm')));
// The open pages must cost nothing while another is timed: their CPU over 2 idle seconds.
const idleCpu0 = browserCpuMs();
await new Promise((r) => setTimeout(r, 2000));
const idleCpuMsPerSecond = (browserCpuMs() - idleCpu0) / 2;
console.error(
  `opened ${runtimes.length} runtimes (idle: ${idleCpuMsPerSecond.toFixed(0)} CPU ms/s); timing ${flags.rounds} interleaved rounds`,
);
await timeInterleaved(runtimes, flags.rounds);
for (const rt of runtimes) results[rt.name] = await closeRuntime(rt);
console.error('done wasm runtimes');
if (!flags.noWebgl) {
  try {
    // SwiftShader's WebGL takes seconds a frame: one round, on its own after the others.
    const webgl = await openRuntime('face-api.js webgl', faceApiSetup('webgl'));
    await timeInterleaved([webgl], 1);
    results[webgl.name] = await closeRuntime(webgl);
  } catch (e) {
    console.error(`face-api webgl failed: ${(e as Error).message}`);
  }
}
/** The adapter facekit's WebGPU row ran on (SwiftShader here: the GPU emulated on the CPU). */
let webgpuAdapter: string | null = null;
if (!flags.noWebgpu) {
  try {
    // Like WebGL: seconds a frame on SwiftShader, so one round on its own.
    const webgpu = await openRuntime('facekit webgpu, padding 0', facekitSetup(1, 0, 'fp32', 'webgpu'));
    webgpuAdapter = await webgpu.page.evaluate(() => window.runtime_.adapter);
    await timeInterleaved([webgpu], 1);
    const name = `facekit webgpu (${webgpuAdapter}), padding 0`;
    results[name] = await closeRuntime({ ...webgpu, name });
  } catch (e) {
    console.error(`facekit webgpu skipped: ${(e as Error).message}`);
  }
}
const load = await firstLoad();
const sizes = await bundleSizes();
await browser.close();
await site.close();
const fps = await liveFps();

/**
 * The face-api.js wasm page's mean ms per frame ÷ this runtime's, round by round (both timed within
 * the same round): min, median and max over the rounds. Less exposed to the machine's slow spells
 * than the ratio of two medians taken over the whole run.
 */
function roundRatios(t: Timing): number[] {
  const base = results[FACE_API_WASM].roundMeans;
  if (t.roundMeans.length !== base.length) return [];
  const ratios = t.roundMeans.map((ms, i) => base[i] / ms).sort((a, b) => a - b);
  return [ratios[0], median(ratios), ratios[ratios.length - 1]];
}

const faceApi = Object.entries(results).filter(([k]) => k.startsWith('face-api'));
const faceApiBest = Math.min(...faceApi.map(([, t]) => t.pipeline));
const faceApiBestCpu = Math.min(...faceApi.map(([, t]) => t.pipelineCpu));
console.log(
  markdownTable(
    [
      'runtime',
      'detect ms/frame',
      'pipeline ms/frame',
      'detect CPU ms/frame',
      'pipeline CPU ms/frame',
      'faces/frame',
      'load ms',
      'isolated',
      'pipeline vs face-api best (wall)',
      'pipeline vs face-api best (CPU)',
      'per round vs face-api wasm (wall): min / median / max',
    ],
    Object.entries(results).map(([name, t]) => [
      name,
      t.detect.toFixed(1),
      t.pipeline.toFixed(1),
      t.detectCpu.toFixed(1),
      t.pipelineCpu.toFixed(1),
      t.faces.toFixed(2),
      t.load.toFixed(0),
      String(t.isolated),
      `${(faceApiBest / t.pipeline).toFixed(2)}×`,
      `${(faceApiBestCpu / t.pipelineCpu).toFixed(2)}×`,
      roundRatios(t)
        .map((r) => `${r.toFixed(2)}×`)
        .join(' / '),
    ]),
  ),
);
console.log(
  `\nLive page (640×480 fake camera at 30 fps, in-browser): ${
    fps === null
      ? 'n/a'
      : `${fps.drawnFps.toFixed(1)} fps drawn, ${fps.inferenceFps.toFixed(1)} detection passes/s, labels ${JSON.stringify(fps.labels)}`
  }\n` +
    `facekit/browser bundle: ${(sizes.libraryMinGzip / 1024).toFixed(1)} KiB min+gzip (onnxruntime-web not included); ` +
    `web app JS+CSS ${(sizes.appJsCssGzip / 1024).toFixed(1)} KiB gzip, onnxruntime wasm ${(sizes.ortWasmGzip / 1024 / 1024).toFixed(2)} MiB gzip\n` +
    `first load (models + sessions): cold ${load.cold} ms, warm ${load.warm} ms`,
);
const file = writeResult('browser', {
  machine: machine(),
  frames: SAMPLES.length,
  rounds: flags.rounds,
  idleCpuMsPerSecond,
  webgpuAdapter,
  results,
  live: fps,
  sizes,
  load,
});
console.log(`\n${file}`);
