// biome-ignore-all lint/suspicious/noExplicitAny: page.evaluate's functions use the page's DOM globals, untyped here
/**
 * Issue 14: facekit/browser on onnxruntime-web in a real Chromium gives the descriptors Node gives
 * for the same photo (max abs diff ≤ 1e-4), from an <img>, ImageData and a canvas alike.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { embedderEntry } from '../../src/embed/registry.js';
import { type AnalyzedFace, createFaceKit } from '../../src/index.js';
import { exportTuned } from '../../src/train/export.js';
import { stockTail } from '../../src/train/network.js';
import { tempDir } from '../helpers/temp.js';
import { faceApiSample, maxAbsDiff } from '../helpers/faceapi-reference.js';
import { modelFiles } from '../../src/server/routes/webapp.js';
import { chromiumOrSkip, launchChromium, newPage, serveFaceKit, type StaticSite } from './harness.js';

// The functions given to page.evaluate run in the page; the Node test program has no DOM types.
declare const location: any, Image: any, ImageData: any, createImageBitmap: any, document: any, caches: any;

const { chromium, skip } = chromiumOrSkip();

let site: StaticSite;
let browser: Browser;
let page: Page;
let png: Buffer;
let raw: { data: Buffer; width: number; height: number };
let lazySha = '';

before(async () => {
  if (skip) return;
  // The photo is decoded once here: both sides then read the same pixels (a PNG is lossless),
  // so a difference can only come from the pipeline, not from two JPEG decoders.
  const { data, info } = await sharp(faceApiSample(1)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  raw = { data, width: info.width, height: info.height };
  png = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
    .png()
    .toBuffer();
  // An embedder as `facekit train` exports it: the stock last layer scaled and shifted, so its
  // descriptors differ from the stock encoder's (a kit that ignored it would fail the comparison).
  const stock = await stockTail();
  const tunedDir = tempDir('facekit-tuned-');
  const tuned = await exportTuned(
    'pets',
    { fc: stock.fc.map((v, i) => v * (1 + 0.2 * Math.sin(i))), bias: new Float32Array(128).fill(0.01) },
    { modelsDir: tunedDir, threshold: 0.5, training: { test: true } },
  );
  embedderEntry('pets', 'embedder', tunedDir);
  const onnx = readFileSync(tuned.onnx);
  // A server that had not built the int8 encoder when it wrote its index (`onRequest`).
  const onRequest: Record<string, Uint8Array | string> = {};
  const lazyIndex: Record<string, unknown> = { dlib_resnet128_int8: { onRequest: true } };
  for (const id of ['tiny_face_detector', 'face_landmark_68', 'dlib_resnet128_int8'] as const) {
    const file = await modelFiles()(id);
    onRequest[`/lazy/${id}.onnx`] = file.bytes;
    if (id === 'dlib_resnet128_int8') lazySha = file.sha256;
    else lazyIndex[id] = { sha256: file.sha256, bytes: file.bytes.length };
  }
  onRequest['/lazy/index.json'] = JSON.stringify(lazyIndex);
  site = await serveFaceKit({
    ...onRequest,
    '/photo.png': png,
    '/mine/pets.json': readFileSync(tuned.spec),
    '/mine/pets.onnx': onnx,
    // A spec whose model is not the one it names: refused, not run.
    '/swapped/pets.json': readFileSync(tuned.spec),
    '/swapped/pets.onnx': onnx.subarray(0, onnx.length - 1),
  });
  browser = await launchChromium(chromium);
  page = await newPage(browser);
  await page.goto(site.url);
});

after(async () => {
  await browser?.close();
  await site?.close();
});

interface PageFace {
  box: { x: number; y: number; width: number; height: number };
  descriptor: number[];
}

async function nodeFaces(detector: 'tiny' | 'mtcnn' | 'ssd', embedder?: string, precision?: 'fp32' | 'int8') {
  const kit = createFaceKit({ detector, retryOnMiss: false, embedder: embedder && 'pets', precision });
  const node = await kit.analyze({ width: raw.width, height: raw.height, data: new Uint8Array(raw.data) });
  await kit.dispose();
  assert.ok(node.length >= 1, 'Node finds the faces');
  return node;
}

async function compare(
  detector: 'tiny' | 'mtcnn' | 'ssd',
  kinds: readonly string[],
  embedder?: string,
  precision?: 'fp32' | 'int8',
): Promise<{ inBrowser: PageFace[][]; node: AnalyzedFace[]; diffs: number[] }> {
  const node = await nodeFaces(detector, embedder, precision);
  const inBrowser = (await page.evaluate(
    async ({
      detector,
      kinds,
      embedder,
      precision,
    }: {
      detector: string;
      kinds: readonly string[];
      embedder?: string;
      precision?: string;
    }) => {
      const { createFaceKit } = await import(`${location.origin}/facekit.js`);
      const kit = createFaceKit({ detector, embedder, precision });
      if (embedder && kit.embedderId !== 'dlib128+pets') throw new Error(`embedderId ${kit.embedderId}`);
      const img = new Image();
      img.src = '/photo.png';
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const inputs: Record<string, () => Promise<unknown>> = {
        img: async () => img,
        imageData: async () => ctx.getImageData(0, 0, canvas.width, canvas.height),
        canvas: async () => canvas,
        bitmap: () => createImageBitmap(img),
      };
      const out = [];
      for (const kind of kinds) out.push(await kit.analyze(await inputs[kind]()));
      await kit.dispose();
      return out.map((faces: { box: unknown; descriptor: Float32Array }[]) =>
        faces.map((f) => ({ box: f.box, descriptor: Array.from(f.descriptor) })),
      );
    },
    { detector, kinds, embedder, precision },
  )) as PageFace[][];

  const diffs: number[] = [];
  for (const [k, faces] of inBrowser.entries()) {
    assert.equal(faces.length, node.length, `${kinds[k]}: same number of faces`);
    faces.forEach((f, i) => {
      const diff = maxAbsDiff(f.descriptor, node[i].descriptor);
      diffs.push(diff);
      // int8: checked by its own test (one face differs, see there).
      if (precision !== 'int8') assert.ok(diff <= 1e-4, `${kinds[k]}, face ${i}: max abs diff ${diff}`);
    });
  }
  console.log(
    `# ${detector}${embedder ? ` + ${embedder}` : ''}${precision ? ` ${precision}` : ''}: ${node.length} faces from ${kinds.join(', ')}: max abs diff browser vs Node ${diffs.map((d) => d.toExponential(2)).join(', ')}`,
  );
  return { inBrowser, node, diffs };
}

test('browser descriptors equal Node descriptors for the same photo (tiny; img, ImageData, canvas, ImageBitmap)', {
  skip,
  timeout: 60_000,
}, async () => {
  await compare('tiny', ['img', 'imageData', 'canvas', 'bitmap']);
});

test("browser descriptors equal Node descriptors for the same photo (MTCNN, Node's default detector)", {
  skip,
  timeout: 60_000,
}, async () => {
  await compare('mtcnn', ['imageData']);
});

test('an embedder tuned by facekit train runs in the browser (embedder option: its spec URL) and gives Node its descriptors', {
  skip,
  timeout: 60_000,
}, async () => {
  await compare('tiny', ['imageData'], '/mine/pets.json');
});

test("precision 'int8' runs the int8 encoder in the browser: Node's int8 descriptors, a small shift from fp32", {
  skip,
  timeout: 90_000,
}, async () => {
  const { inBrowser, node, diffs } = await compare('tiny', ['imageData'], undefined, 'int8');
  const distance = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.hypot(...Array.from(a, (v, k) => v - b[k]));
  // Same model, same integer kernels: faces come out bit-for-bit as in Node (measured: 2 of the
  // photo's 3 within 1.2e-7). One face differs by 0.03 (measured, each run the same): onnxruntime-web's
  // wasm int8 kernels and onnxruntime-node's x86 ones round one requantization differently.
  assert.ok(diffs.filter((d) => d <= 1e-4).length >= 2, `int8 browser vs Node max abs diffs ${diffs}`);
  inBrowser[0].forEach((f, i) =>
    assert.ok(distance(f.descriptor, node[i].descriptor) < 0.05, `face ${i}: within 0.05 of Node's int8`),
  );
  // Not the fp32 numbers (a kit that ignored the option would be caught here), but within the shift
  // Node's int8 has (README: at most 0.062 on the demo photos).
  const fp32 = await nodeFaces('tiny');
  const shifts = inBrowser[0].map((f, i) => distance(f.descriptor, fp32[i].descriptor));
  assert.ok(
    shifts.every((d) => d > 1e-3 && d < 0.062),
    `int8 vs fp32 euclidean shifts ${shifts}`,
  );
  console.log(`# browser int8 vs Node fp32: euclidean shift per face ${shifts.map((d) => d.toFixed(4)).join(', ')}`);
});

test("precision 'int8' with SSD: the int8 detector and encoder find and describe Node's faces", {
  skip,
  timeout: 90_000,
}, async () => {
  // Both networks quantized: the same faces (compare checks the count), 1 of 3 bit-for-bit as in Node
  // (measured), the others within the int8 kernels' rounding difference seen with the encoder alone.
  const { inBrowser, node, diffs } = await compare('ssd', ['imageData'], undefined, 'int8');
  assert.ok(
    diffs.some((d) => d <= 1e-4),
    `SSD int8 browser vs Node max abs diffs ${diffs}`,
  );
  inBrowser[0].forEach((f, i) => {
    const distance = Math.hypot(...f.descriptor.map((v, k) => v - node[i].descriptor[k]));
    assert.ok(distance < 0.05, `face ${i}: ${distance} from Node's int8 descriptor`);
  });
});

test('an int8 model the index lists { onRequest: true } is fetched plainly and cached under its own SHA-256', {
  skip,
  timeout: 60_000,
}, async () => {
  const keys = (await page.evaluate(async () => {
    const { createFaceKit, MODEL_CACHE } = await import(`${location.origin}/facekit.js`);
    await caches.delete(MODEL_CACHE);
    const kit = createFaceKit({ modelUrl: '/lazy/', precision: 'int8' });
    await kit.warmUp();
    await kit.dispose();
    const cache = await caches.open(MODEL_CACHE);
    return (await cache.keys()).map((r: { url: string }) => new URL(r.url).pathname + new URL(r.url).search);
  })) as string[];
  assert.ok(keys.includes(`/lazy/dlib_resnet128_int8.onnx?sha256=${lazySha}`), keys.join(', '));
});

test('the browser kit refuses bad input and options with FaceKitError codes', { skip, timeout: 30_000 }, async () => {
  const errors = (await page.evaluate(async () => {
    const { createFaceKit, FaceKitError } = await import(`${location.origin}/facekit.js`);
    const out: string[] = [];
    const attempt = async (f: () => unknown) => {
      try {
        await f();
        out.push('no error');
      } catch (e) {
        out.push(e instanceof FaceKitError ? `${(e as { code: string }).code}:${(e as Error).message}` : `other:${e}`);
      }
    };
    await attempt(() => createFaceKit({ detector: 'mmod' }));
    await attempt(() => createFaceKit({ detector: 'tiny', inputSize: 33 }));
    await attempt(() => createFaceKit().detect(new Image()));
    await attempt(() => createFaceKit().detect('photo.png'));
    await attempt(() => createFaceKit({ modelUrl: '/nowhere/' }).detect(new ImageData(4, 4)));
    await attempt(() => createFaceKit({ embedder: '/swapped/pets.json' }).warmUp());
    await attempt(() => createFaceKit({ embedder: 'nobody' }).warmUp());
    await attempt(() => createFaceKit({ embedder: '/mine/pets.txt' }));
    await attempt(() => createFaceKit({ embedder: 42 }));
    await attempt(() => createFaceKit({ precision: 'int4' }));
    await attempt(() => createFaceKit({ executionProvider: 'cuda' }));
    await attempt(() => createFaceKit({ executionProvider: 'webgpu', precision: 'int8' }));
    // This Chromium runs without --enable-unsafe-webgpu: no adapter.
    await attempt(() => createFaceKit({ executionProvider: 'webgpu' }).warmUp());
    return out;
  })) as string[];
  assert.match(errors[0], /^INVALID_ARGUMENT:.*detector.*mmod/);
  assert.match(errors[1], /^INVALID_ARGUMENT:.*inputSize|^INVALID_ARGUMENT:.*32/);
  assert.match(errors[2], /^INVALID_ARGUMENT:.*not loaded/);
  assert.match(errors[3], /^INVALID_ARGUMENT:.*expected an image/);
  assert.match(errors[4], /^MODEL_MISSING:.*\/nowhere\/index\.json.*404/);
  assert.match(errors[5], /^MODEL_CORRUPT:.*\/swapped\/pets\.onnx does not match the checksum/);
  assert.match(errors[6], /^MODEL_MISSING:.*\/models\/embedders\/nobody\.json.*404/);
  assert.match(errors[7], /^INVALID_ARGUMENT:.*pets\.txt is not a tuned embedder's spec/);
  assert.match(errors[8], /^INVALID_ARGUMENT:.*embedder.*42/);
  assert.match(errors[9], /^INVALID_ARGUMENT:.*precision.*int4/);
  assert.match(errors[10], /^INVALID_ARGUMENT:.*executionProvider.*'auto', 'wasm', 'webgpu'.*cuda/);
  assert.match(errors[11], /^INVALID_ARGUMENT:.*executionProvider.*int8.*'wasm' only/);
  assert.match(errors[12], /^INVALID_ARGUMENT:.*executionProvider 'webgpu': .*no (GPU adapter|WebGPU)/);
});
