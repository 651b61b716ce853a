// biome-ignore-all lint/suspicious/noExplicitAny: page.evaluate's functions use the page's DOM globals, untyped here
/**
 * Issue 14: facekit/browser on onnxruntime-web's WebGPU. Chromium here has no GPU, but with
 * --enable-unsafe-webgpu it offers SwiftShader's (the GPU emulated on the CPU): enough to check
 * that the pipeline runs there and gives Node's descriptors, and that 'auto' passes it over.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { createFaceKit } from '../../src/index.js';
import { faceApiSample, maxAbsDiff } from '../helpers/faceapi-reference.js';
import { chromiumOrSkip, launchChromium, newPage, serveFaceKit, type StaticSite } from './harness.js';

declare const location: any, Image: any;

const { chromium, skip } = chromiumOrSkip();

let site: StaticSite;
let browser: Browser;
let page: Page;
let raw: { data: Buffer; width: number; height: number };

/**
 * One face of a demo photo, cropped: SwiftShader takes seconds per network run, so the test feeds
 * the smallest frame that still holds a face (a small detector input, one face to encode).
 */
const KIT = { detector: 'tiny', inputSize: 160, retryOnMiss: false } as const;

before(async () => {
  if (skip) return;
  const { data, info } = await sharp(faceApiSample(1))
    .extract({ left: 650, top: 300, width: 560, height: 560 })
    .resize(224, 224)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  raw = { data, width: info.width, height: info.height };
  const png = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
    .png()
    .toBuffer();
  site = await serveFaceKit({ '/face.png': png });
  browser = await launchChromium(chromium, ['--enable-unsafe-webgpu']);
  page = await newPage(browser);
  await page.goto(site.url);
});

after(async () => {
  await browser?.close();
  await site?.close();
});

async function inBrowser(executionProvider: string) {
  return (await page.evaluate(
    async ({ executionProvider, kit: options }) => {
      const { createFaceKit } = await import(`${location.origin}/facekit.js`);
      const kit = createFaceKit({ ...options, executionProvider, cache: false });
      const info = await kit.warmUp();
      const img = new Image();
      img.src = '/face.png';
      await img.decode();
      const faces = await kit.analyze(img);
      await kit.dispose();
      return { info, descriptors: faces.map((f: { descriptor: Float32Array }) => Array.from(f.descriptor)) };
    },
    { executionProvider, kit: KIT },
  )) as { info: { executionProvider: string; threads: number; adapter?: string }; descriptors: number[][] };
}

test("executionProvider 'webgpu' runs the pipeline on the GPU adapter and gives Node's fp32 descriptors", {
  skip,
  timeout: 180_000,
}, async () => {
  const kit = createFaceKit(KIT);
  const node = await kit.analyze({ width: raw.width, height: raw.height, data: new Uint8Array(raw.data) });
  await kit.dispose();
  assert.equal(node.length, 1, 'the crop holds one face');
  const gpu = await inBrowser('webgpu');
  assert.equal(gpu.info.executionProvider, 'webgpu');
  assert.match(gpu.info.adapter ?? '', /swiftshader/i, 'the adapter this Chromium offers');
  assert.equal(gpu.descriptors.length, 1);
  const diff = maxAbsDiff(gpu.descriptors[0], node[0].descriptor);
  // Measured: 7e-7 from wasm on three faces; Node's 1e-4 bound, as for wasm.
  assert.ok(diff <= 1e-4, `WebGPU vs Node: max abs diff ${diff}`);
  console.log(`# WebGPU (${gpu.info.adapter}) vs Node fp32: max abs diff ${diff.toExponential(2)}`);
});

test("'auto' passes a software adapter over (SwiftShader) and runs on wasm", { skip, timeout: 60_000 }, async () => {
  const auto = await inBrowser('auto');
  assert.deepEqual(auto.info, { executionProvider: 'wasm', threads: auto.info.threads });
  assert.equal(auto.descriptors.length, 1);
});
