import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { isolatedCacheDir, blankJpeg, scaledSample, samplePath } from './helpers/photos.js';
import { compareFaces, disposeSharedKits, faceDistance, faceEncodings, faceLandmarks, faceLocations, loadImage, FaceKitError } from '../src/index.js';

isolatedCacheDir();
after(() => disposeSharedKits());

test('the three-line use: load, encode, compare', async () => {
  const known = await faceEncodings(await loadImage(await scaledSample(2, 640)));
  const probe = await faceEncodings(await loadImage(await scaledSample(2, 800)));
  assert.ok(known.length >= 1 && probe.length === known.length);
  const matches = compareFaces(known, probe[0]);
  assert.equal(matches.filter(Boolean).length >= 1, true);
  const d = faceDistance(known, probe[0]);
  assert.equal(d.length, known.length);
  assert.ok(Math.min(...d) < 0.4);
});

test('loadImage takes a path or a Buffer and gives the same pixels', async () => {
  const a = await loadImage(samplePath(3));
  const b = await loadImage(await readFile(samplePath(3)));
  assert.equal(a.width, b.width);
  assert.equal(a.height, b.height);
  assert.deepEqual(a.data.subarray(0, 300), b.data.subarray(0, 300));
});

test('faceLocations gives boxes; faceLandmarks gives 68 points and named parts; known locations skip detection', async () => {
  const img = await loadImage(await scaledSample(1, 640));
  const boxes = await faceLocations(img);
  assert.ok(boxes.length >= 3);
  const ssdBoxes = await faceLocations(img, { model: 'ssd' });
  assert.ok(ssdBoxes.length >= 3);
  const marks = await faceLandmarks(img, { faceLocations: boxes.slice(0, 2) });
  assert.equal(marks.length, 2);
  assert.equal(marks[0].points.length, 68);
  assert.equal(marks[0].parts.chin.length, 17);
  assert.equal(marks[0].parts.leftEye.length, 6);
  assert.equal(marks[0].parts.topLip.length, 12);
  const enc = await faceEncodings(img, { faceLocations: boxes.slice(0, 1) });
  assert.equal(enc.length, 1);
});

test('no face: empty lists, not errors', async () => {
  const img = await loadImage(await blankJpeg());
  assert.deepEqual(await faceLocations(img), []);
  assert.deepEqual(await faceLandmarks(img), []);
  assert.deepEqual(await faceEncodings(img), []);
});

test('bad arguments to the verbs fail with FaceKitError naming the field', async () => {
  const isInvalid = (field: string) => (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && (e.field ?? '').startsWith(field);
  assert.throws(() => compareFaces([new Float32Array(128)], new Float32Array(128), -1), isInvalid('tolerance'));
  assert.throws(() => compareFaces([new Float32Array(128)], new Float32Array(64)), isInvalid('known[0]'));
  assert.throws(() => faceDistance([new Float32Array(0)], new Float32Array(0)), isInvalid('known[0]'));
  await assert.rejects(faceLocations(await loadImage(await blankJpeg()), { model: 'hog' as never }), isInvalid('model'));
  await assert.rejects(loadImage('/nonexistent/photo.jpg'), (e: unknown) => e instanceof FaceKitError && e.code === 'FILE_NOT_FOUND' && e.message.includes('/nonexistent/photo.jpg'));
});
