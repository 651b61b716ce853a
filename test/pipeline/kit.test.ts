import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { isolatedCacheDir, blankJpeg, scaledSample, samplePath } from '../helpers/photos.js';
import { alignFace, createFaceKit, FaceKit } from '../../src/pipeline/kit.js';
import { MAX_JITTERS } from '../../src/pipeline/options.js';
import { detectionAttempts } from '../../src/pipeline/retry.js';
import { DLIB_MAX_BATCH, DlibEncoder } from '../../src/embed/dlib128.js';
import { landmarks5From68 } from '../../src/landmarks/five.js';
import { ModelSession } from '../../src/runtime/session.js';
import { loadImage } from '../../src/image/decode.js';
import { euclideanDistance } from '../../src/match/distance.js';
import { FaceKitError } from '../../src/errors.js';
import type { AnalyzedFace, Face, Image } from '../../src/types.js';
import { Landmarker68 } from '../../src/landmarks/landmarks68.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

isolatedCacheDir();
const kit = createFaceKit({ detector: 'tiny', threads: 1 });
after(() => kit.dispose());

function centre(f: AnalyzedFace) {
  return { x: f.box.x + f.box.width / 2, y: f.box.y + f.box.height / 2 };
}

/** Pairs each face of `a` with the face of `b` whose centre (scaled by `s`) is nearest. */
function pairUp(a: AnalyzedFace[], b: AnalyzedFace[], s: number): [AnalyzedFace, AnalyzedFace][] {
  return a.map((fa) => {
    const ca = centre(fa);
    const fb = b.reduce((best, f) =>
      Math.hypot(centre(f).x * s - ca.x, centre(f).y * s - ca.y) <
      Math.hypot(centre(best).x * s - ca.x, centre(best).y * s - ca.y)
        ? f
        : best,
    );
    return [fa, fb];
  });
}

test('analyze finds every face of a group photo with a box, 68 landmarks and a 128-d descriptor', async () => {
  const img = await loadImage(await scaledSample(1, 640));
  const faces = await kit.analyze(img);
  assert.ok(faces.length >= 3, `found ${faces.length} faces`);
  for (const f of faces) {
    assert.equal(f.landmarks.length, 68);
    assert.equal(f.descriptor.length, 128);
    assert.ok(
      f.box.x >= 0 && f.box.y >= 0 && f.box.x + f.box.width <= img.width && f.box.y + f.box.height <= img.height,
    );
    // Landmarks sit in or near the box they were found in.
    for (const p of f.landmarks) assert.ok(p.x > f.box.x - f.box.width * 0.3 && p.x < f.box.x + f.box.width * 1.3);
  }
  // Different people in one photo are far apart.
  for (let i = 0; i < faces.length; i++)
    for (let j = i + 1; j < faces.length; j++)
      assert.ok(euclideanDistance(faces[i].descriptor, faces[j].descriptor) > 0.6);
});

test('the same faces at two resolutions give descriptors well within the 0.6 tolerance', async () => {
  const small = await kit.analyze(await loadImage(await scaledSample(1, 640)));
  const large = await kit.analyze(await loadImage(await scaledSample(1, 1280)));
  for (const [a, b] of pairUp(small, large, 0.5))
    assert.ok(
      euclideanDistance(a.descriptor, b.descriptor) < 0.35,
      `distance ${euclideanDistance(a.descriptor, b.descriptor)}`,
    );
});

test('an EXIF-rotated photo gives the same faces as the upright one', async () => {
  const upright = await scaledSample(2, 640);
  // Store the pixels turned 90° clockwise and say in EXIF "rotate back" (orientation 8): viewers, and facekit, show it upright.
  const rotated = await sharp(upright).rotate(90).withMetadata({ orientation: 8 }).jpeg({ quality: 92 }).toBuffer();
  const a = await kit.analyze(await loadImage(upright));
  const rotatedImg = await loadImage(rotated);
  const b = await kit.analyze(rotatedImg);
  assert.ok(a.length >= 1);
  assert.equal(b.length, a.length);
  for (const [fa, fb] of pairUp(a, b, 1)) assert.ok(euclideanDistance(fa.descriptor, fb.descriptor) < 0.25);
});

test('a photo with no face gives no faces, and no descriptors', async () => {
  const faces = await kit.analyze(await loadImage(await blankJpeg()));
  assert.deepEqual(faces, []);
  assert.deepEqual(await kit.encode(await loadImage(await blankJpeg()), []), []);
});

test('many faces: a collage of four group photos finds them all in one call', async () => {
  const tiles = await Promise.all(
    [1, 2, 3, 4].map((n) => sharp(samplePath(n)).resize(480, 360, { fit: 'cover' }).toBuffer()),
  );
  const collage = await sharp({ create: { width: 960, height: 720, channels: 3, background: '#000' } })
    .composite(tiles.map((t, i) => ({ input: t, left: (i % 2) * 480, top: Math.floor(i / 2) * 360 })))
    .jpeg()
    .toBuffer();
  const perTile = await Promise.all(tiles.map(async (t) => (await kit.detect(await loadImage(t))).length));
  const faces = await kit.analyze(await loadImage(collage), { inputSize: 608 });
  assert.ok(
    faces.length >= Math.min(8, perTile.reduce((a, b) => a + b, 0) - 2),
    `collage ${faces.length}, tiles ${perTile}`,
  );
  assert.ok(faces.every((f) => f.descriptor.length === 128));
});

test('maxFaces and minConfidence limit what detect returns', async () => {
  const img = await loadImage(await scaledSample(1, 640));
  assert.equal((await kit.detect(img, { maxFaces: 1 })).length, 1);
  assert.deepEqual(await kit.detect(img, { minConfidence: 0.9999 }), []);
});

test('flip averaging and jitters give a nearby but different descriptor, reproducibly', async () => {
  const img = await loadImage(await scaledSample(2, 640));
  const faces = await kit.landmarks(img);
  const [plain] = await kit.encode(img, faces.slice(0, 1));
  const [flipped] = await kit.encode(img, faces.slice(0, 1), { flip: true });
  const [j1] = await kit.encode(img, faces.slice(0, 1), { jitters: 3 });
  const [j2] = await kit.encode(img, faces.slice(0, 1), { jitters: 3 });
  assert.ok(euclideanDistance(plain, flipped) > 1e-4 && euclideanDistance(plain, flipped) < 0.3);
  assert.deepEqual(Array.from(j1), Array.from(j2));
});

test('wrong options and disposed kits fail with FaceKitError', async () => {
  const isCode = (code: string) => (e: unknown) => e instanceof FaceKitError && e.code === code;
  assert.throws(() => createFaceKit({ detector: 'yolo' as never }), isCode('INVALID_ARGUMENT'));
  assert.throws(() => createFaceKit({ landmarks: 'huge' as never }), isCode('INVALID_ARGUMENT'));
  assert.throws(() => createFaceKit({ jitters: -1 }), isCode('INVALID_ARGUMENT'));
  assert.throws(() => createFaceKit({ threads: 1.5 }), isCode('INVALID_ARGUMENT'));
  const bad: Image = { width: 10, height: 10, data: new Uint8Array(5) };
  await assert.rejects(kit.detect(bad), isCode('INVALID_ARGUMENT'));
  await assert.rejects(kit.detect(await loadImage(await blankJpeg()), { inputSize: 100 }), isCode('INVALID_ARGUMENT'));
  const short = new FaceKit({ threads: 1 });
  await short.dispose();
  await short.dispose();
  await assert.rejects(short.analyze(await loadImage(await blankJpeg())), isCode('DISPOSED'));
});

test('the ssd detector and the tiny landmark model run through the same pipeline', async () => {
  const other = createFaceKit({ detector: 'ssd', landmarks: 'tiny', threads: 1 });
  try {
    const img = await loadImage(await scaledSample(1, 640));
    const faces = await other.analyze(img);
    assert.ok(faces.length >= 3);
    const reference = await kit.analyze(img);
    // Same people whichever detector found them.
    for (const [a, b] of pairUp(faces, reference, 1)) assert.ok(euclideanDistance(a.descriptor, b.descriptor) < 0.4);
  } finally {
    await other.dispose();
  }
});

test('retryOnMiss finds a small face the first pass misses; rescueMinConfidence finds one every retry misses', async () => {
  /** sample2's one face, scaled to `width`, pasted at (700, 500) on a 1600×1200 grey canvas. */
  const smallFace = async (width: number) => {
    const face = await sharp(samplePath(2)).resize({ width }).toBuffer();
    const { height = 0 } = await sharp(face).metadata();
    const buf = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: '#808080' } })
      .composite([{ input: face, left: 700, top: 500 }])
      .jpeg()
      .toBuffer();
    return { img: await loadImage(buf), region: { x: 700, y: 500, width, height } };
  };
  const inside = (b: { x: number; y: number; width: number; height: number }, r: typeof b) =>
    b.x >= r.x && b.y >= r.y && b.x + b.width <= r.x + r.width && b.y + b.height <= r.y + r.height;
  const retry = createFaceKit({ threads: 1, retryOnMiss: true });
  const rescue = createFaceKit({ threads: 1, retryOnMiss: true, rescueMinConfidence: 0.1 });
  try {
    const medium = await smallFace(400);
    assert.deepEqual(await kit.detect(medium.img), [], 'the plain first pass misses it');
    const found = await retry.detect(medium.img);
    assert.ok(found.length >= 1 && found.some((d) => inside(d.box, medium.region)));
    const tiny = await smallFace(100);
    assert.deepEqual(await retry.detect(tiny.img), [], 'every retry misses it');
    const rescued = await rescue.detect(tiny.img);
    assert.equal(rescued.length, 1);
    assert.ok(inside(rescued[0].box, tiny.region) && rescued[0].score >= 0.1 && rescued[0].score < 0.5);
    // A photo with no face stays empty under retry (no rescue asked for).
    assert.deepEqual(await retry.detect(await loadImage(await blankJpeg())), []);
    assert.throws(
      () => createFaceKit({ rescueMinConfidence: 1.5 }),
      (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT',
    );
    await assert.rejects(
      kit.encode(tiny.img, [], { jitters: -2 }),
      (e: unknown) => e instanceof FaceKitError && e.field === 'jitters',
    );
  } finally {
    await Promise.all([retry.dispose(), rescue.dispose()]);
  }
});

test('detectionAttempts lists the retry chain without repeats; attempt runs one pass of any detector', async () => {
  assert.deepEqual(
    detectionAttempts('tiny', {}).map(([name, o]) => `${name}${o.inputSize ?? ''}`),
    ['tiny416', 'tiny320', 'tiny608', 'tiny224', 'ssd', 'mtcnn'],
  );
  assert.deepEqual(
    detectionAttempts('ssd', { minConfidence: 0.3 }).map(
      ([name, o]) => `${name}${o.inputSize ?? ''}@${o.minConfidence}`,
    ),
    ['ssd@0.3', 'tiny416@0.3', 'tiny320@0.3', 'tiny608@0.3', 'tiny224@0.3', 'mtcnn@0.3'],
  );
  // A configured tiny size leads the chain and is not tried twice.
  assert.deepEqual(
    detectionAttempts('tiny', { inputSize: 320 }).map(([, o]) => o.inputSize),
    [320, 416, 608, 224, undefined, undefined],
  );
  const img = await loadImage(await scaledSample(1, 640));
  // A tiny kit runs an SSD pass on request, and finds the same group.
  const viaSsd = await kit.attempt(img, ['ssd', {}]);
  assert.ok(viaSsd.length >= 3);
  await assert.rejects(
    kit.attempt(img, ['tiny', { inputSize: 100 }]),
    (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT',
  );
  await assert.rejects(
    kit.attempt({ width: 4, height: 4, data: new Uint8Array(3) }, ['ssd', {}]),
    (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT',
  );
  const gone = new FaceKit({ threads: 1 });
  await gone.dispose();
  await assert.rejects(
    gone.attempt(img, ['tiny', {}]),
    (e: unknown) => e instanceof FaceKitError && e.code === 'DISPOSED',
  );
});

test("refined landmarks agree across detectors better than one pass; by default a kit gives the network's first answer", async () => {
  const img = await loadImage(await scaledSample(1, 640));
  const kits = {
    tinyTwo: createFaceKit({ detector: 'tiny', threads: 1, refineLandmarks: true }),
    ssdOne: createFaceKit({ detector: 'ssd', threads: 1 }),
    ssdTwo: createFaceKit({ detector: 'ssd', threads: 1, refineLandmarks: true }),
  };
  try {
    const tinyDets = await kit.detect(img);
    const ssdDets = await kits.ssdOne.detect(img);
    const [tinyOne, tinyTwo, ssdOne, ssdTwo] = await Promise.all([
      kit.landmarks(img, tinyDets),
      kits.tinyTwo.landmarks(img, tinyDets),
      kits.ssdOne.landmarks(img, ssdDets),
      kits.ssdTwo.landmarks(img, ssdDets),
    ]);
    const lm = await Landmarker68.create({ variant: 'full', threads: 1 });
    try {
      assert.deepEqual(
        tinyOne.map((f) => f.landmarks),
        await lm.detect(
          img,
          tinyDets.map((d) => d.box),
        ),
      );
    } finally {
      await lm.dispose();
    }
    const spread = (a: Face[], b: Face[]) => {
      const pairs = a.map((fa) =>
        b.reduce((best, fb) =>
          Math.hypot(fb.box.x - fa.box.x, fb.box.y - fa.box.y) <
          Math.hypot(best.box.x - fa.box.x, best.box.y - fa.box.y)
            ? fb
            : best,
        ),
      );
      return mean(
        a.map(
          (fa, i) =>
            mean(fa.landmarks.map((p, k) => Math.hypot(p.x - pairs[i].landmarks[k].x, p.y - pairs[i].landmarks[k].y))) /
            fa.box.width,
        ),
      );
    };
    const onePass = spread(tinyOne, ssdOne),
      twoPass = spread(tinyTwo, ssdTwo);
    assert.ok(
      twoPass < onePass,
      `tiny vs ssd landmark spread: one pass ${onePass.toFixed(4)}, refined ${twoPass.toFixed(4)} of the box width`,
    );
    // Refinement moves points by a fraction of the face, not across it.
    assert.ok(spread(tinyOne, tinyTwo) < 0.05);
  } finally {
    await Promise.all(Object.values(kits).map((k) => k.dispose()));
  }
});

const isInvalid = (field: string) => (e: unknown) =>
  e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === field;

/**
 * Records every model session opened while `body` runs (with its id), by wrapping
 * ModelSession.open; `released(s)` says whether one was disposed.
 */
async function trackSessions<T>(body: (opened: ModelSession[]) => Promise<T>): Promise<T> {
  const realOpen = ModelSession.open;
  const opened: ModelSession[] = [];
  ModelSession.open = async (...args: Parameters<typeof ModelSession.open>) => {
    const s = await realOpen.apply(ModelSession, args);
    opened.push(s);
    return s;
  };
  try {
    return await body(opened);
  } finally {
    ModelSession.open = realOpen;
  }
}
const released = (s: ModelSession): boolean => (s as unknown as { disposed: boolean }).disposed;

test('options are checked when the kit is made, not on its first photo', () => {
  const bad: [object, string][] = [
    [{ inputSize: 100 }, 'inputSize'],
    [{ inputSize: 0 }, 'inputSize'],
    [{ inputSize: 8192 }, 'inputSize'],
    [{ minConfidence: 2 }, 'minConfidence'],
    [{ minConfidence: 1 }, 'minConfidence'],
    [{ minConfidence: -0.1 }, 'minConfidence'],
    [{ minConfidence: Number.NaN }, 'minConfidence'],
    [{ maxFaces: -1 }, 'maxFaces'],
    [{ maxFaces: 1.5 }, 'maxFaces'],
    [{ jitters: MAX_JITTERS + 1 }, 'jitters'],
    [{ jitters: 0.5 }, 'jitters'],
    [{ detector: 'mtcnn', minConfidence: 1.5 }, 'minConfidence'],
    [{ precision: 'fp16' }, 'precision'],
    [{ precision: 8 }, 'precision'],
    [{ precision: null }, 'precision'],
  ];
  for (const [options, field] of bad)
    assert.throws(() => createFaceKit(options as never), isInvalid(field), JSON.stringify(options));
  // The edges of each range are accepted.
  for (const options of [
    { inputSize: 32 },
    { minConfidence: 0 },
    { maxFaces: 0 },
    { maxFaces: Infinity },
    { jitters: MAX_JITTERS },
    { precision: 'fp32' as const },
    { precision: 'int8' as const },
  ]) {
    assert.ok(createFaceKit(options));
  }
});

test('jitters above MAX_JITTERS are refused per call too; chips go to the encoder in batches of at most DLIB_MAX_BATCH', async () => {
  const img = await loadImage(await scaledSample(1, 640));
  const faces = (await kit.landmarks(img)).slice(0, 2);
  assert.equal(faces.length, 2);
  await assert.rejects(kit.encode(img, faces, { jitters: MAX_JITTERS + 1 }), isInvalid('jitters'));
  const realRun = ModelSession.prototype.run;
  const batches: number[] = [];
  ModelSession.prototype.run = function (this: ModelSession, feeds) {
    if (this.id === 'dlib_resnet128') batches.push(feeds.input.dims[0]);
    return realRun.call(this, feeds);
  };
  let both: Float32Array[], alone: Float32Array[];
  try {
    // 2 faces × (1 + flip + 10 jitters) = 24 chips.
    both = await kit.encode(img, faces, { flip: true, jitters: 10 });
    alone = await kit.encode(img, faces.slice(0, 1), { flip: true, jitters: 10 });
  } finally {
    ModelSession.prototype.run = realRun;
  }
  assert.deepEqual(batches, [DLIB_MAX_BATCH, 24 - DLIB_MAX_BATCH, 12]);
  // The first face's chips (and jitter draws) are the same whether or not a second face follows.
  assert.ok(euclideanDistance(both[0], alone[0]) < 1e-5, `${euclideanDistance(both[0], alone[0])}`);
  assert.ok(euclideanDistance(both[0], both[1]) > 0.6, 'each face keeps its own mean');
});

test('warmUp opens every session the kit uses, so the first photo opens none; a disposed kit refuses it', async () => {
  await trackSessions(async (opened) => {
    const warm = createFaceKit({ threads: 1 });
    try {
      await warm.warmUp();
      assert.deepEqual(opened.map((s) => s.id).sort(), ['dlib_resnet128', 'face_landmark_68', 'tiny_face_detector']);
      await warm.analyze(await loadImage(await scaledSample(2, 640)));
      assert.equal(opened.length, 3, 'analyze opened no further session');
    } finally {
      await warm.dispose();
    }
    assert.ok(opened.every(released));
    await assert.rejects(warm.warmUp(), (e: unknown) => e instanceof FaceKitError && e.code === 'DISPOSED');
  });
});

test('dispose() while calls are in flight: each call succeeds or fails DISPOSED, and every session opened is released', async () => {
  const img = await loadImage(await scaledSample(1, 640));
  const waits: (() => Promise<unknown>)[] = [
    async () => undefined,
    () => new Promise((r) => setImmediate(r)),
    () => new Promise((r) => setTimeout(r, 30)),
    () => new Promise((r) => setTimeout(r, 150)),
    () => new Promise((r) => setTimeout(r, 400)),
  ];
  await trackSessions(async (opened) => {
    for (const [i, wait] of waits.entries()) {
      for (const call of ['analyze', 'landmarks'] as const) {
        const k = createFaceKit({ threads: 1 });
        const running = call === 'analyze' ? k.analyze(img) : k.landmarks(img);
        await wait();
        await k.dispose();
        const outcome = await running.then(
          () => 'ok',
          (e: unknown) => (e instanceof FaceKitError ? e.code : String(e)),
        );
        assert.ok(outcome === 'ok' || outcome === 'DISPOSED', `${call} after wait ${i}: ${outcome}`);
      }
    }
    // Sessions still opening when a call gave up: let them finish before counting.
    await new Promise((r) => setTimeout(r, 500));
    const leaked = opened.filter((s) => !released(s)).map((s) => s.id);
    assert.deepEqual(leaked, []);
  });
});

test('alignFace: the chip the encoder reads, from 68 or five points; bad points and images are refused', async () => {
  const img = await loadImage(await scaledSample(2, 640));
  const [face] = await kit.landmarks(img);
  const chip = alignFace(img, face.landmarks);
  assert.equal(chip.size, 150);
  assert.equal(chip.data.length, 150 * 150 * 3);
  const encoder = await DlibEncoder.create({ threads: 1 });
  try {
    const [viaChip, viaFive] = await encoder.encode([chip.data, alignFace(img, landmarks5From68(face.landmarks)).data]);
    const [viaKit] = await kit.encode(img, [face]);
    assert.ok(euclideanDistance(viaChip, viaKit) < 1e-5, 'the same chip as the kit encodes');
    // Five points put the face on the same chip, near enough to name the same person.
    assert.ok(euclideanDistance(viaFive, viaKit) < 0.4, `${euclideanDistance(viaFive, viaKit)}`);
  } finally {
    await encoder.dispose();
  }
  assert.throws(() => alignFace(img, face.landmarks.slice(0, 10)), isInvalid('landmarks'));
  assert.throws(() => alignFace(img, undefined as never), isInvalid('landmarks'));
  const holed = face.landmarks.map((p, i) => (i === 3 ? { x: Number.NaN, y: p.y } : p));
  assert.throws(() => alignFace(img, holed), isInvalid('landmarks[3]'));
  assert.throws(
    () => alignFace({ width: 10, height: 10, data: new Uint8Array(5) }, face.landmarks),
    isInvalid('image'),
  );
});
