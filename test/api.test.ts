import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { isolatedCacheDir, blankJpeg, scaledSample, samplePath } from './helpers/photos.js';
import {
  compareFaces,
  disposeSharedKits,
  faceDistance,
  faceEncodings,
  faceLandmarks,
  faceLocations,
  imageFromRaw,
  loadImage,
  FaceKitError,
  MAX_JITTERS,
  type LoadImageOptions,
} from '../src/index.js';

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
  const ssdBoxes = await faceLocations(img, { detector: 'ssd' });
  // face_recognition's spelling is kept for ported code.
  assert.deepEqual(await faceLocations(img, { model: 'ssd' }), ssdBoxes);
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
  const isInvalid = (field: string) => (e: unknown) =>
    e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && (e.field ?? '').startsWith(field);
  assert.throws(() => compareFaces([new Float32Array(128)], new Float32Array(128), -1), isInvalid('tolerance'));
  assert.throws(() => compareFaces([new Float32Array(128)], new Float32Array(64)), isInvalid('known[0]'));
  assert.throws(() => faceDistance([new Float32Array(0)], new Float32Array(0)), isInvalid('known[0]'));
  await assert.rejects(
    faceLocations(await loadImage(await blankJpeg()), { model: 'hog' as never }),
    isInvalid('model'),
  );
  await assert.rejects(
    faceLocations(await loadImage(await blankJpeg()), { detector: 'hog' as never }),
    isInvalid('detector'),
  );
  await assert.rejects(
    loadImage('/nonexistent/photo.jpg'),
    (e: unknown) =>
      e instanceof FaceKitError && e.code === 'FILE_NOT_FOUND' && e.message.includes('/nonexistent/photo.jpg'),
  );
});

test('the verbs refuse bad options, images and boxes before any network runs, naming the field', async () => {
  const isInvalid = (field: string) => (e: unknown) =>
    e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === field;
  const img = await loadImage(await blankJpeg());
  const malformed = { width: 10, height: 10, data: new Uint8Array(5) };
  for (const minConfidence of [1, 1.5, -0.1, Number.NaN])
    await assert.rejects(faceLocations(img, { minConfidence }), isInvalid('minConfidence'), `${minConfidence}`);
  await assert.rejects(faceLandmarks(malformed), isInvalid('image'));
  await assert.rejects(faceLandmarks(malformed, { model: 'small' }), isInvalid('image'));
  await assert.rejects(faceEncodings(malformed), isInvalid('image'));
  await assert.rejects(
    faceEncodings(malformed, { faceLocations: [{ x: 0, y: 0, width: 5, height: 5 }] }),
    isInvalid('image'),
  );
  for (const jitters of [-1, 0.5, MAX_JITTERS + 1])
    await assert.rejects(faceEncodings(img, { jitters }), isInvalid('jitters'), `${jitters}`);
  // The caller's boxes are named as the caller passed them.
  const good = { x: 10, y: 10, width: 50, height: 50 };
  const bad: [object, string][] = [
    [{ x: 10, y: 10, width: 0, height: 50 }, 'faceLocations[1]'],
    [{ x: Number.NaN, y: 10, width: 50, height: 50 }, 'faceLocations[1]'],
    [{ x: 500, y: 10, width: 50, height: 50 }, 'faceLocations[1]'],
  ];
  for (const [box, field] of bad) {
    await assert.rejects(
      faceLandmarks(img, { faceLocations: [good, box as never] }),
      isInvalid(field),
      JSON.stringify(box),
    );
    await assert.rejects(
      faceEncodings(img, { faceLocations: [good, box as never] }),
      isInvalid(field),
      JSON.stringify(box),
    );
  }
  await assert.rejects(faceLandmarks(img, { faceLocations: [null as never] }), isInvalid('faceLocations[0]'));
  await assert.rejects(faceEncodings(img, { faceLocations: 'all' as never }), isInvalid('faceLocations'));
});

test('imageFromRaw wraps pixels a caller holds (a video frame, canvas RGBA) as an Image; bad buffers are refused', async () => {
  const loaded = await loadImage(await scaledSample(2, 320));
  // RGBA as a canvas gives it, fully opaque: the same pixels, and the same faces.
  const rgba = new Uint8ClampedArray(loaded.width * loaded.height * 4);
  for (let i = 0; i < loaded.width * loaded.height; i++)
    rgba.set([...loaded.data.subarray(i * 3, i * 3 + 3), 255], i * 4);
  const frame = imageFromRaw(rgba, loaded.width, loaded.height, 4);
  assert.deepEqual(frame, loaded);
  assert.deepEqual(await faceLocations(frame), await faceLocations(loaded));
  const isInvalid = (field: string) => (e: unknown) =>
    e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === field;
  assert.throws(() => imageFromRaw(new Uint8Array(11), 2, 2, 3), isInvalid('data'));
  assert.throws(() => imageFromRaw([1, 2, 3] as never, 1, 1, 3), isInvalid('data'));
  assert.throws(() => imageFromRaw(new Uint8Array(12), 0, 2, 3), isInvalid('width'));
  assert.throws(() => imageFromRaw(new Uint8Array(12), 2, 1.5, 3), isInvalid('height'));
  assert.throws(() => imageFromRaw(new Uint8Array(8), 2, 2, 2 as never), isInvalid('channels'));
  // LoadImageOptions.maxPixels, as README documents it: a photo over the limit is refused before decoding.
  const options: LoadImageOptions = { maxPixels: 1000 };
  await assert.rejects(
    loadImage(await blankJpeg(), options),
    (e: unknown) => e instanceof FaceKitError && e.code === 'IMAGE_TOO_LARGE',
  );
});
