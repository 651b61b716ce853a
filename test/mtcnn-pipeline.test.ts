/** The kit and the plain verbs with the MTCNN detector and five-point alignment, end to end. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { isolatedCacheDir, blankJpeg, scaledSample } from './helpers/photos.js';
import { createFaceKit } from '../src/pipeline/kit.js';
import { detectionAttempts } from '../src/pipeline/retry.js';
import { disposeSharedKits, faceEncodings, faceLandmarks } from '../src/api.js';
import { inspectModel } from '../src/models/cache.js';
import { loadImage } from '../src/image/decode.js';
import { landmarks5From68, LANDMARKS5_NAMES } from '../src/landmarks/five.js';
import { euclideanDistance } from '../src/match/distance.js';
import { iou } from '../src/detect/nms.js';
import { FaceKitError } from '../src/errors.js';
import type { AnalyzedFace5, Box, Point } from '../src/types.js';

const cacheDir = isolatedCacheDir();
const five = createFaceKit({ detector: 'mtcnn', alignment: 'landmarks5', threads: 1 });
const full = createFaceKit({ detector: 'mtcnn', threads: 1 });
after(() => Promise.all([five.dispose(), full.dispose(), disposeSharedKits()]));

const isInvalid = (field: string) => (e: unknown) =>
  e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === field;

/** Pairs each face of `a` with the face of `b` (coordinates × `s`) it overlaps most. */
function pairUp<A extends { box: Box }, B extends { box: Box }>(a: A[], b: B[], s: number): [A, B][] {
  const scaled = (box: Box): Box => ({ x: box.x * s, y: box.y * s, width: box.width * s, height: box.height * s });
  return a.map((fa) => [
    fa,
    b.reduce((best, fb) => (iou(scaled(fb.box), fa.box) > iou(scaled(best.box), fa.box) ? fb : best)),
  ]);
}

test('MTCNN with five-point alignment: every face gets box, five landmarks and a descriptor, and no 68-point pass runs', async () => {
  const img = await loadImage(await scaledSample(1, 640));
  const faces: AnalyzedFace5[] = await five.analyze(img);
  assert.ok(faces.length >= 3, `${faces.length} faces`);
  for (const f of faces) {
    assert.equal(f.landmarks5.length, 5);
    assert.equal(f.descriptor.length, 128);
    assert.ok(!('landmarks' in f), 'a five-point face claims no 68 points');
  }
  // The 68-point network was never needed, so never even built in this fresh cache.
  assert.equal((await inspectModel('face_landmark_68', cacheDir)).state, 'missing');
  // Different people in one photo stay apart.
  for (let i = 0; i < faces.length; i++)
    for (let j = i + 1; j < faces.length; j++)
      assert.ok(euclideanDistance(faces[i].descriptor, faces[j].descriptor) > 0.6);
});

test('five-point descriptors: stable across resolutions, and in the same space as 68-point ones', async () => {
  const small = await loadImage(await scaledSample(1, 640));
  const large = await loadImage(await scaledSample(1, 1280));
  const [a, b] = [await five.analyze(small), await five.analyze(large)];
  for (const [fa, fb] of pairUp(a, b, 0.5))
    assert.ok(
      euclideanDistance(fa.descriptor, fb.descriptor) < 0.35,
      `${euclideanDistance(fa.descriptor, fb.descriptor)}`,
    );
  // The same faces through the 68-point network and dlib's alignment: the same person (< 0.6) by a margin.
  const with68 = await full.analyze(small);
  assert.equal(with68.length, a.length);
  for (const [f5, f68] of pairUp(a, with68, 1)) {
    assert.equal(f68.landmarks.length, 68);
    assert.deepEqual(f68.landmarks5, f5.landmarks5);
    assert.ok(
      euclideanDistance(f5.descriptor, f68.descriptor) < 0.45,
      `${euclideanDistance(f5.descriptor, f68.descriptor)}`,
    );
  }
});

test('faces without detector landmarks get five points made from the 68, and align on them', async () => {
  const img = await loadImage(await scaledSample(2, 640));
  const tinyKit = createFaceKit({ detector: 'tiny', threads: 1 });
  try {
    const found = await tinyKit.detect(img);
    assert.ok(found.length >= 1 && found.every((d) => d.landmarks5 === undefined));
    const [withFive] = await five.landmarks5(img, found);
    const [with68] = await five.landmarks(img, found);
    assert.deepEqual(withFive.landmarks5, landmarks5From68(with68.landmarks));
    // A five-point kit also aligns a face known only by its 68 points, on the five made from them.
    const [fromFace68] = await five.encode(img, [with68]);
    const [fromFive] = await five.encode(img, [withFive]);
    assert.deepEqual(fromFace68, fromFive);
  } finally {
    await tinyKit.dispose();
  }
});

test('landmarks5From68: eye centres, nose tip, mouth corners', () => {
  const points: Point[] = Array.from({ length: 68 }, (_, i) => ({ x: i, y: 2 * i }));
  assert.deepEqual(landmarks5From68(points), [
    { x: 38.5, y: 77 },
    { x: 44.5, y: 89 },
    { x: 30, y: 60 },
    { x: 48, y: 96 },
    { x: 54, y: 108 },
  ]);
});

test('per-call MTCNN options reach the detector; the retry chain gives each pass only its own knobs', async () => {
  const img = await loadImage(await scaledSample(5, 640));
  const all = await five.detect(img);
  const large = await five.detect(img, { mtcnn: { minFaceSize: 100 } });
  assert.ok(large.length >= 1 && large.length < all.length, `${large.length} of ${all.length}`);
  const chain = detectionAttempts('mtcnn', { inputSize: 320, minConfidence: 0.8, mtcnn: { minFaceSize: 40 } });
  assert.deepEqual(
    chain.map(
      ([name, o]) => `${name}${o.inputSize ?? ''}@${o.minConfidence}${o.mtcnn ? `/min${o.mtcnn.minFaceSize}` : ''}`,
    ),
    ['mtcnn@0.8/min40', 'tiny416@0.8', 'tiny320@0.8', 'tiny608@0.8', 'tiny224@0.8', 'ssd@0.8'],
  );
  assert.deepEqual(await five.detect(await loadImage(await blankJpeg())), []);
});

test('bad kit options are refused with INVALID_ARGUMENT naming the field', async () => {
  assert.throws(() => createFaceKit({ detector: 'tiny', mtcnn: { minFaceSize: 40 } } as never), isInvalid('mtcnn'));
  assert.throws(() => createFaceKit({ mtcnn: {} } as never), isInvalid('mtcnn'));
  assert.throws(() => createFaceKit({ detector: 'mtcnn', mtcnn: { minFaceSize: 2 } }), isInvalid('mtcnn.minFaceSize'));
  assert.throws(
    () => createFaceKit({ detector: 'mtcnn', mtcnn: { scaleFactor: 1.2 } }),
    isInvalid('mtcnn.scaleFactor'),
  );
  assert.throws(() => createFaceKit({ alignment: 'landmarks3' as never }), isInvalid('alignment'));
  assert.throws(
    () => createFaceKit({ detector: 'hog' as never }),
    (e: unknown) => isInvalid('detector')(e) && /'mtcnn'/.test((e as Error).message),
  );
  const img = await loadImage(await scaledSample(2, 320));
  await assert.rejects(five.detect(img, { mtcnn: { rnetThreshold: 2 } }), isInvalid('mtcnn.rnetThreshold'));
  await assert.rejects(five.landmarks5({ width: 4, height: 4, data: new Uint8Array(5) }), isInvalid('image'));
  await assert.rejects(five.analyze(img, { mtcnn: { minFaceSize: 1 } }), isInvalid('mtcnn.minFaceSize'));
  // A 68-point kit cannot align a face it only has five points for.
  await assert.rejects(
    full.encode(img, [
      {
        landmarks5: [
          { x: 1, y: 1 },
          { x: 9, y: 1 },
          { x: 5, y: 5 },
          { x: 2, y: 8 },
          { x: 8, y: 8 },
        ],
      },
    ]),
    isInvalid('faces[0]'),
  );
});

test("faceLandmarks(img, { model: 'small' }): five named points, MTCNN's with detector 'mtcnn', else made from the 68", async () => {
  const img = await loadImage(await scaledSample(1, 640));
  const small = await faceLandmarks(img, { model: 'small', detector: 'mtcnn' });
  const detected = await full.detect(img);
  assert.equal(small.length, detected.length);
  small.forEach((f, i) => {
    assert.deepEqual(f.points, detected[i].landmarks5);
    assert.deepEqual(Object.keys(f.parts), [...LANDMARKS5_NAMES]);
    assert.deepEqual(f.parts.noseTip, [f.points[2]]);
  });
  const fromTiny = await faceLandmarks(img, { model: 'small' });
  const large = await faceLandmarks(img);
  assert.equal(fromTiny.length, large.length);
  fromTiny.forEach((f, i) => assert.deepEqual(f.points, landmarks5From68(large[i].points)));
  assert.equal(large[0].points.length, 68);
  // Known locations skip detection, as for the 68 points.
  assert.equal((await faceLandmarks(img, { model: 'small', faceLocations: [detected[0].box] })).length, 1);
  assert.deepEqual(await faceLandmarks(await loadImage(await blankJpeg()), { model: 'small' }), []);
});

test("faceEncodings(img, { model: 'small' }) aligns on five points; bad model or detector names are refused", async () => {
  const img = await loadImage(await scaledSample(2, 640));
  const [small] = await faceEncodings(img, { model: 'small', detector: 'mtcnn' });
  const [viaKit] = (await five.analyze(img)).map((f) => f.descriptor);
  assert.deepEqual(small, viaKit);
  const [large] = await faceEncodings(img, { detector: 'mtcnn' });
  assert.ok(euclideanDistance(small, large) > 0 && euclideanDistance(small, large) < 0.45);
  await assert.rejects(faceLandmarks(img, { model: 'medium' as never }), isInvalid('model'));
  await assert.rejects(faceEncodings(img, { model: 'tiny' as never }), isInvalid('model'));
  await assert.rejects(faceLandmarks(img, { detector: 'hog' as never }), isInvalid('detector'));
});
