// biome-ignore-all lint/suspicious/noExplicitAny: page.evaluate's functions use the page's DOM globals, untyped here
/**
 * Issue 14 end to end: `facekit serve`'s web app in Chromium with a fake camera (a .y4m made from
 * a face-api demo photo). The Live page first labels the face unknown and keeps it; on the People
 * page that group is named (enrolled) and more faces are added from webcam captures; then the Live
 * page names the person over the video. Screenshots of each page are kept as artefacts
 * (FACEKIT_TEST_ARTIFACTS, else a temp folder; printed).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { createFaceKit } from '../../src/index.js';
import { loadImage } from '../../src/image/decode.js';
import { createService, type Service } from '../../src/server/app.js';
import { WEBAPP_DIR } from '../../src/server/routes/webapp.js';
import { openSqliteStore } from '../../src/gallery/sqlite.js';
import { faceApiSample } from '../helpers/faceapi-reference.js';
import { tempDir } from '../helpers/temp.js';
import { CAMERA_HEIGHT, CAMERA_WIDTH, cameraFrame, writeY4m } from './fake-camera.js';
import { chromiumOrSkip, launchChromium, newPage } from './harness.js';

// The functions given to page.evaluate run in the page; the Node test program has no DOM types.
declare const crossOriginIsolated: any,
  document: any,
  window: any,
  sessionStorage: any,
  performance: any,
  navigator: any;

const { chromium, skip } = chromiumOrSkip();

const SAMPLE = 2;
let service: Service;
let url: string;
let key: string;
let browser: Browser;
let page: Page;
let photoFile: string;
const artefacts = process.env.FACEKIT_TEST_ARTIFACTS ?? join(tmpdir(), 'facekit-browser-artefacts');

/** A 4:3 region around the largest face of a demo photo: the fake camera's picture. */
async function faceRegion(n: number) {
  const image = await loadImage(faceApiSample(n));
  const kit = createFaceKit({ detector: 'tiny', retryOnMiss: false });
  const faces = await kit.detect(image);
  await kit.dispose();
  const f = faces.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0];
  const height = Math.min(image.height, Math.round(f.box.height * 2.2));
  const width = Math.min(image.width, Math.round((height * CAMERA_WIDTH) / CAMERA_HEIGHT));
  const left = Math.max(0, Math.min(image.width - width, Math.round(f.box.x + f.box.width / 2 - width / 2)));
  const top = Math.max(0, Math.min(image.height - height, Math.round(f.box.y + f.box.height / 2 - height / 2)));
  return { left, top, width, height };
}

before(async () => {
  if (skip) return;
  if (!existsSync(join(WEBAPP_DIR, 'index.html'))) {
    const { build } = await import('vite');
    await build({ configFile: join(import.meta.dirname, '../../webapp/vite.config.ts'), logLevel: 'warn' });
  }
  mkdirSync(artefacts, { recursive: true });
  const video = join(tempDir('facekit-camera-'), 'camera.y4m');
  const frame = await cameraFrame(SAMPLE, await faceRegion(SAMPLE));
  writeY4m(video, [frame]);
  photoFile = join(tempDir('facekit-photo-'), 'ada.jpg');
  await sharp(frame, { raw: { width: CAMERA_WIDTH, height: CAMERA_HEIGHT, channels: 3 } })
    .jpeg()
    .toFile(photoFile);
  const db = join(tempDir('facekit-webapp-'), 'gallery.db');
  const store = openSqliteStore(db);
  key = (await store.keys.create('admin', 'browser test')).key;
  await store.close();
  service = await createService({ db, limits: { workers: 1 } });
  url = await service.listen('127.0.0.1', 0);
  browser = await launchChromium(chromium, [
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-video-capture=${video}`,
    // SwiftShader's WebGPU (the GPU emulated on the CPU): 'auto' must pass it over; 'webgpu' runs on it.
    '--enable-unsafe-webgpu',
  ]);
  page = await newPage(browser, { viewport: { width: 1000, height: 800 } });
});

after(async () => {
  await browser?.close();
  await service?.close();
});

async function useKey(): Promise<void> {
  await page.fill('#key', key);
  await page.click('#key-form button');
}

test('Live page: a face nobody is enrolled as is labelled unknown and kept for the People page', {
  skip,
  timeout: 90_000,
}, async () => {
  await page.goto(`${url}/#live`);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'the page is cross-origin isolated (threads)');
  await useKey();
  await page.click('#live-start');
  await page.waitForFunction(
    () => (window.facekitLive?.labels ?? []).some((l: string) => l.startsWith('unknown')),
    null,
    {
      timeout: 60_000,
    },
  );
  await page.waitForFunction(
    () => JSON.parse(sessionStorage.getItem('facekit-unknown-faces') ?? '[]').length >= 2,
    null,
    { timeout: 15_000 },
  );
  // 'auto' threads: the kit's default, one fewer than the cores (at least 1, at most 4); 'auto'
  // engine: wasm, as this Chromium's only GPU adapter is a software one.
  const auto = await page.evaluate(() => Math.max(1, Math.min(4, navigator.hardwareConcurrency - 1)));
  assert.deepEqual(
    await page.evaluate(() => window.facekitLive?.runtime),
    { executionProvider: 'wasm', threads: auto },
    'auto: the kit defaults, on wasm',
  );
  for (const choice of ['#live-threads', '#live-engine'])
    assert.equal(await page.isDisabled(choice), true, `${choice} is fixed while the camera runs`);
  await page.click('#live-start');
  for (const choice of ['#live-threads', '#live-engine'])
    assert.equal(await page.isDisabled(choice), false, `${choice} is free again once it stops`);
});

test('People page: name the unknown group, then enrol more from webcam captures', {
  skip,
  timeout: 90_000,
}, async () => {
  // Same document (the nav link), as a user goes from Live to People.
  await page.click('nav a[data-page=people]');
  await page.waitForSelector('#clusters .cluster');
  assert.equal(
    await page.evaluate(() => document.querySelectorAll('#clusters .cluster').length),
    1,
    'one face, one group',
  );
  await page.fill('#clusters .cluster-name', 'Ada');
  await page.click('#clusters .cluster-enrol');
  await page.waitForFunction(() =>
    /from a live group/.test(document.getElementById('clusters-status')?.textContent ?? ''),
  );
  assert.match((await page.textContent('#clusters-status')) ?? '', /^Ada: [2-4] face\(s\) added from a live group/);
  await page.waitForSelector('.card h3:text("Ada")');
  await page.waitForFunction(() => /None yet/.test(document.getElementById('clusters')?.textContent ?? ''));
  await page.screenshot({ path: join(artefacts, 'people-unknown-named.png'), fullPage: true });

  await page.fill('#person-name', 'Ada');
  await page.click('#capture');
  await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v !== null && v.readyState >= 2 && v.videoWidth > 0;
  });
  await page.click('#capture');
  await page.click('#capture');
  await page.waitForSelector('#captures img:nth-child(2)');
  await page.click('#enrol');
  await page.waitForFunction(
    () => /face\(s\) added/.test(document.getElementById('people-status')?.textContent ?? ''),
    null,
    {
      timeout: 60_000,
    },
  );
  assert.match((await page.textContent('#people-status')) ?? '', /Ada: [12] face\(s\) added/);
  await page.waitForSelector('.card h3:text("Ada")');
  await page.waitForSelector('.card .thumbs img');
  await page.screenshot({ path: join(artefacts, 'people.png'), fullPage: true });
});

test('Live page: the enrolled person is named over the fake camera, in-browser recognition', {
  skip,
  timeout: 90_000,
}, async () => {
  await page.goto(`${url}/#live`);
  // Two threads asked for (the choice for an idle 2-core machine): the worker runs with them.
  await page.selectOption('#live-threads', '2');
  await page.click('#live-start');
  await page.waitForFunction(() => (window.facekitLive?.labels ?? []).some((l: string) => l.startsWith('Ada ')), null, {
    timeout: 60_000,
  });
  const expected = await page.evaluate(() => Math.min(2, navigator.hardwareConcurrency));
  assert.equal(
    await page.evaluate(() => window.facekitLive?.runtime?.threads),
    expected,
    'the worker runs the threads chosen',
  );
  // The stats line says so (it is rewritten about once a second).
  await page.waitForFunction(
    (n) => (document.getElementById('live-stats')?.textContent ?? '').includes(`in browser, ${n} thread`),
    expected,
    { timeout: 10_000 },
  );
  // Two seconds of frames: every camera frame is drawn (boxes carried by the tracker), while
  // detection passes run only when the worker is free, and every few frames once all is steady.
  const read = () => page.evaluate(() => ({ ...window.facekitLive, t: performance.now() }));
  const before = await read();
  await page.waitForTimeout(2000);
  const live = await read();
  const drawn = live.frames - before.frames;
  const passes = live.passes - before.passes;
  const seconds = (live.t - before.t) / 1000;
  console.log(
    `# Live: labels ${JSON.stringify(live.labels)}, ${(drawn / seconds).toFixed(1)} fps drawn, ${(passes / seconds).toFixed(1)} passes/s (shared CPU)`,
  );
  assert.ok(passes > 0, 'detection passes go on');
  assert.ok(drawn > passes, `more frames drawn (${drawn}) than detected (${passes}): boxes are carried between passes`);
  await page.screenshot({ path: join(artefacts, 'live.png'), fullPage: true });
  const errorShown = await page.isVisible('#error');
  assert.equal(errorShown, false, `no error shown: ${await page.textContent('#error')}`);
  console.log(`# screenshots in ${artefacts}`);
});

test("Live page on the 'webgpu' engine: the models run fp32 on the GPU adapter and name the enrolled person", {
  skip,
  timeout: 120_000,
}, async () => {
  await page.goto(`${url}/#live`);
  // The camera the last test started runs on: stopped first, as the choice is taken at start.
  if ((await page.textContent('#live-start')) === 'Stop camera') await page.click('#live-start');
  await page.selectOption('#live-engine', 'webgpu');
  await page.click('#live-start');
  // SwiftShader takes seconds a pass (bench:browser): the label comes after a few of them.
  await page.waitForFunction(() => (window.facekitLive?.labels ?? []).some((l: string) => l.startsWith('Ada ')), null, {
    timeout: 100_000,
  });
  const runtime = await page.evaluate(() => window.facekitLive?.runtime);
  assert.equal(runtime?.executionProvider, 'webgpu', JSON.stringify(runtime));
  await page.waitForFunction(
    () => /in browser, WebGPU \(.*swiftshader.*\)/i.test(document.getElementById('live-stats')?.textContent ?? ''),
    null,
    { timeout: 10_000 },
  );
  assert.equal(await page.isVisible('#error'), false, `no error shown: ${await page.textContent('#error')}`);
  await page.click('#live-start');
});

test('Photo page: an uploaded photo has the person boxed and named; Streams page lists viewers', {
  skip,
  timeout: 60_000,
}, async () => {
  await page.goto(`${url}/#photo`);
  await useKey();
  await page.setInputFiles('#photo-file', photoFile);
  const said = async () =>
    `status "${await page.textContent('#photo-status')}", error "${await page.textContent('#error')}"`;
  await page
    .waitForFunction(
      () =>
        /Ada \(distance|no face|error/i.test(document.getElementById('photo-status')?.textContent ?? '') ||
        !document.getElementById('error')?.hidden,
      null,
      { timeout: 45_000 },
    )
    .catch(async (e) => assert.fail(`${e.message}; ${await said()}`));
  assert.match((await page.textContent('#photo-status')) ?? '', /Ada \(distance/, await said());
  await page.waitForFunction(
    () => /Ada \(distance/.test(document.getElementById('photo-status')?.textContent ?? ''),
    null,
    {
      timeout: 45_000,
    },
  );
  await page.screenshot({ path: join(artefacts, 'photo.png'), fullPage: true });
  await page.goto(`${url}/#streams`);
  await page.fill('#stream-url', 'not a url');
  await page.click('#streams-add');
  assert.equal(await page.evaluate(() => document.querySelectorAll('.streams section').length), 0);
  await page.fill('#stream-url', 'http://127.0.0.1:9/');
  await page.click('#streams-add');
  await page.waitForSelector('.streams section img');
  await page.screenshot({ path: join(artefacts, 'streams.png'), fullPage: true });
});

test('the page says what is wrong without a key', { skip, timeout: 30_000 }, async () => {
  const fresh = await newPage(browser);
  await fresh.goto(`${url}/#people`);
  await fresh.waitForSelector('#error:not([hidden])');
  assert.match((await fresh.textContent('#error')) ?? '', /API key/);
  await fresh.fill('#key', 'not-a-key');
  await fresh.click('#key-form button');
  await fresh.waitForFunction(() => /401|UNAUTHORIZED|key/i.test(document.getElementById('error')?.textContent ?? ''));
  await fresh.close();
});
