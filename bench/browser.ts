// biome-ignore-all lint/suspicious/noExplicitAny: page.evaluate's functions use the page's DOM globals, untyped here
/**
 * Browser benchmark (issue 14): headless Chromium on this machine, same run, same frames.
 *  - ms per 640×480 frame, detect (tiny 416) and whole pipeline (detect + 68 landmarks + 128-d
 *    per face): facekit/browser on onnxruntime-web wasm with 1 and 2 threads, fp32 and int8
 *    (`precision`), against face-api.js
 *    (@vladmandic/face-api, tfjs wasm and webgl backends; its wasm binaries from node_modules);
 *  - the Live page's fps with a fake 640×480 camera (`facekit serve`, in-browser recognition);
 *  - facekit/browser's bundle size (minified, gzip) and the web app's;
 *  - first load (models fetched and sessions opened) with a cold and a warm model cache.
 * Wall-clock medians on a shared 2-core machine: compare rows of one run, not runs.
 *
 *   npm run bench:browser -- [--rounds 3] [--no-webgl] [--live-seconds 8]
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

const flags = parseFlags({ rounds: 3, noWebgl: false, liveSeconds: 8 });
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
const browser = await launchChromium(CHROMIUM_PATH, ['--enable-unsafe-swiftshader', '--ignore-gpu-blocklist']);

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

/** Runs the page's `window.bench_(frame)` over every frame, `rounds` times: median wall ms and CPU ms per frame. */
async function timeFrames(page: Page, step: 'detect' | 'pipeline', rounds: number) {
  const cpu0 = browserCpuMs();
  const r = await page.evaluate(
    async ({ step, rounds }: { step: string; rounds: number }) => {
      const times: number[] = [];
      let faces = 0;
      for (let i = 0; i < rounds; i++)
        for (const f of window.frames_) {
          const t = performance.now();
          faces += await window.bench_[step](f);
          times.push(performance.now() - t);
        }
      return { times, faces };
    },
    { step, rounds },
  );
  return {
    ms: median(r.times),
    cpuMs: (browserCpuMs() - cpu0) / r.times.length,
    faces: r.faces / r.times.length,
  };
}

/** Opens a page, has `setup` define window.bench_ = { detect, pipeline } (each resolving to a face count), times both. */
async function timeRuntime(setup: string, rounds: number): Promise<Timing> {
  // newPage opens a fresh context: every configuration starts with its own runtime instance.
  const page = await newPage(browser);
  await page.goto(site.url);
  await page.evaluate(LOAD_FRAMES);
  const t0 = Date.now();
  await page.evaluate(setup);
  const load = Date.now() - t0;
  // One untimed pass: first runs allocate and compile.
  await page.evaluate('(async () => { for (const f of window.frames_) await window.bench_.pipeline(f); })()');
  const detect = await timeFrames(page, 'detect', rounds);
  const pipeline = await timeFrames(page, 'pipeline', rounds);
  const isolated = await page.evaluate(() => crossOriginIsolated);
  await page.evaluate('window.bench_.dispose?.()');
  await page.close();
  return {
    detect: detect.ms,
    pipeline: pipeline.ms,
    detectCpu: detect.cpuMs,
    pipelineCpu: pipeline.cpuMs,
    faces: pipeline.faces,
    load,
    isolated,
  };
}

/**
 * `padding`: the kit's default (0.1, as Node: a second detector pass on a bordered copy finds faces
 * cut by the frame's edge) or 0 (one pass, the work face-api.js does; the Live page's setting).
 */
function facekitTimes(threads: number, padding?: number, precision: 'fp32' | 'int8' = 'fp32'): Promise<Timing> {
  const options = JSON.stringify({ detector: 'tiny', inputSize: 416, threads, padding, precision, cache: false });
  return timeRuntime(
    `(async () => {
      const { createFaceKit } = await import(location.origin + '/facekit.js');
      const kit = createFaceKit(${options});
      await kit.warmUp();
      window.bench_ = {
        detect: async (f) => (await kit.detect(f)).length,
        pipeline: async (f) => (await kit.analyze(f)).length,
        dispose: () => kit.dispose(),
      };
    })()`,
    flags.rounds,
  );
}

async function faceApiTimes(backend: 'wasm' | 'webgl'): Promise<Timing> {
  return timeRuntime(
    `(async () => {
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
    })()`,
    // SwiftShader's WebGL takes seconds a frame: one round.
    backend === 'webgl' ? 1 : flags.rounds,
  );
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
for (const [threads, padding, precision] of [
  [1, undefined, 'fp32'],
  [1, 0, 'fp32'],
  [2, 0, 'fp32'],
  [1, 0, 'int8'],
  [2, 0, 'int8'],
] as const) {
  const name = `facekit wasm ${threads} thread${threads > 1 ? 's' : ''}${padding === 0 ? ', padding 0' : ', default padding'}${precision === 'int8' ? ', int8' : ''}`;
  results[name] = await facekitTimes(threads, padding, precision);
  console.error(`done ${name}`);
}
results['face-api.js wasm'] = await faceApiTimes('wasm');
console.error('done face-api wasm');
if (!flags.noWebgl) {
  try {
    results['face-api.js webgl'] = await faceApiTimes('webgl');
  } catch (e) {
    console.error(`face-api webgl failed: ${(e as Error).message}`);
  }
}
const load = await firstLoad();
const sizes = await bundleSizes();
await browser.close();
await site.close();
const fps = await liveFps();

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
  results,
  live: fps,
  sizes,
  load,
});
console.log(`\n${file}`);
