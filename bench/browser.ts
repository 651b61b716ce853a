// biome-ignore-all lint/suspicious/noExplicitAny: page.evaluate's functions use the page's DOM globals, untyped here
/**
 * Browser benchmark (issue 14): headless Chromium on this machine, same run, same frames.
 *  - ms per 640×480 frame, detect (tiny 416) and whole pipeline (detect + 68 landmarks + 128-d
 *    per face): facekit/browser on onnxruntime-web wasm with 1 and 2 threads against face-api.js
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
  detect: number;
  pipeline: number;
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

async function facekitTimes(threads: number): Promise<Timing> {
  // newPage opens a fresh context: every configuration starts with its own onnxruntime instance.
  const page = await newPage(browser);
  await page.goto(site.url);
  await page.evaluate(LOAD_FRAMES);
  const r = await page.evaluate(
    async ({ threads, rounds }: { threads: number; rounds: number }) => {
      const { createFaceKit } = await import(`${location.origin}/facekit.js`);
      const t0 = performance.now();
      const kit = createFaceKit({ detector: 'tiny', inputSize: 416, threads, cache: false });
      await kit.warmUp();
      const load = performance.now() - t0;
      const detect: number[] = [];
      const pipeline: number[] = [];
      let faces = 0;
      for (const f of window.frames_) await kit.analyze(f);
      for (let r = 0; r < rounds; r++)
        for (const f of window.frames_) {
          let t = performance.now();
          await kit.detect(f);
          detect.push(performance.now() - t);
          t = performance.now();
          faces += (await kit.analyze(f)).length;
          pipeline.push(performance.now() - t);
        }
      await kit.dispose();
      return { detect, pipeline, faces: faces / pipeline.length, load, isolated: crossOriginIsolated };
    },
    { threads, rounds: flags.rounds },
  );
  await page.close();
  return { ...r, detect: median(r.detect), pipeline: median(r.pipeline) };
}

async function faceApiTimes(backend: 'wasm' | 'webgl'): Promise<Timing> {
  const page = await newPage(browser);
  await page.goto(site.url);
  await page.evaluate(LOAD_FRAMES);
  const r = await page.evaluate(
    async ({ backend, rounds }: { backend: string; rounds: number }) => {
      const t0 = performance.now();
      const faceapi = await import(`${location.origin}/face-api.js`);
      if (backend === 'wasm') faceapi.tf.setWasmPaths(`${location.origin}/tfjs-wasm/`);
      await faceapi.tf.setBackend(backend);
      await faceapi.tf.ready();
      for (const net of [
        faceapi.nets.tinyFaceDetector,
        faceapi.nets.faceLandmark68Net,
        faceapi.nets.faceRecognitionNet,
      ])
        await net.loadFromUri('/faceapi-models');
      const options = new faceapi.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: 0.5 });
      const load = performance.now() - t0;
      const detect: number[] = [];
      const pipeline: number[] = [];
      let faces = 0;
      for (const f of window.frames_)
        await faceapi.detectAllFaces(f, options).withFaceLandmarks().withFaceDescriptors();
      for (let r = 0; r < rounds; r++)
        for (const f of window.frames_) {
          let t = performance.now();
          await faceapi.detectAllFaces(f, options);
          detect.push(performance.now() - t);
          t = performance.now();
          faces += (await faceapi.detectAllFaces(f, options).withFaceLandmarks().withFaceDescriptors()).length;
          pipeline.push(performance.now() - t);
        }
      return {
        detect,
        pipeline,
        faces: faces / pipeline.length,
        load,
        isolated: crossOriginIsolated,
        used: faceapi.tf.getBackend(),
      };
    },
    { backend, rounds: backend === 'webgl' ? 1 : flags.rounds },
  );
  await page.close();
  if (r.used !== backend) throw new Error(`face-api ran on ${r.used}, not ${backend}`);
  return { ...r, detect: median(r.detect), pipeline: median(r.pipeline) };
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
for (const threads of [1, 2]) {
  results[`facekit wasm ${threads} thread${threads > 1 ? 's' : ''}`] = await facekitTimes(threads);
  console.error(`done facekit ${threads}`);
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

const faceApiBest = Math.min(
  ...Object.entries(results)
    .filter(([k]) => k.startsWith('face-api'))
    .map(([, t]) => t.pipeline),
);
console.log(
  markdownTable(
    [
      'runtime',
      'detect ms/frame',
      'pipeline ms/frame',
      'faces/frame',
      'load ms',
      'isolated',
      'pipeline vs face-api best',
    ],
    Object.entries(results).map(([name, t]) => [
      name,
      t.detect.toFixed(1),
      t.pipeline.toFixed(1),
      t.faces.toFixed(2),
      t.load.toFixed(0),
      String(t.isolated),
      `${(faceApiBest / t.pipeline).toFixed(2)}×`,
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
