import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadFaceApi, faceApiSample, type FaceApi } from '../helpers/faceapi-reference.js';
import { LANDMARK68_MAX_BATCH, Landmarker68, type Landmark68Variant } from '../../src/landmarks/landmarks68.js';
import { ModelSession } from '../../src/runtime/session.js';
import { FaceKitError } from '../../src/errors.js';
import type { Box, Image, Point } from '../../src/types.js';

// This file builds its own model copies, apart from other tests' caches.
const cacheDir = await mkdtemp(join(tmpdir(), 'facekit-lm68-'));
after(() => rm(cacheDir, { recursive: true, force: true }));

/** Same crop, network and mapping as face-api, so only float rounding remains (measured ~1e-4 px). */
const PIXEL_TOLERANCE = 0.5;

async function decode(path: string): Promise<Image> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

function maxPointDiff(a: readonly (readonly Point[])[], b: readonly (readonly Point[])[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  a.forEach((face, i) => {
    assert.equal(face.length, 68);
    assert.equal(b[i].length, 68);
    face.forEach((p, j) => (m = Math.max(m, Math.abs(p.x - b[i][j].x), Math.abs(p.y - b[i][j].y))));
  });
  return m;
}

function imageTensor(faceapi: FaceApi, img: Image): FaceApi {
  return faceapi.tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
}

/** face-api's own chain for given boxes: extractFaceTensors, detectLandmarks, shift by the box. */
async function faceApiLandmarks(
  faceapi: FaceApi,
  img: Image,
  boxes: readonly Box[],
  variant: Landmark68Variant,
): Promise<Point[][]> {
  const net = variant === 'tiny' ? faceapi.nets.faceLandmark68TinyNet : faceapi.nets.faceLandmark68Net;
  const t = imageTensor(faceapi, img);
  const faces = await faceapi.extractFaceTensors(
    t,
    boxes.map((b) => new faceapi.Rect(b.x, b.y, b.width, b.height)),
  );
  const out: Point[][] = [];
  for (const [i, face] of faces.entries()) {
    out.push((await net.detectLandmarks(face)).shiftBy(boxes[i].x, boxes[i].y).positions);
    face.dispose();
  }
  t.dispose();
  return out;
}

const variants: Landmark68Variant[] = ['full', 'tiny'];
const landmarkers = new Map<Landmark68Variant, Landmarker68>();
async function landmarker(variant: Landmark68Variant): Promise<Landmarker68> {
  let lm = landmarkers.get(variant);
  if (!lm) {
    lm = await Landmarker68.create({ variant, threads: 1, cacheDir });
    landmarkers.set(variant, lm);
  }
  return lm;
}
after(async () => {
  for (const lm of landmarkers.values()) await lm.dispose();
});

for (const variant of variants) {
  test(`${variant}: same points as face-api's detectAllFaces().withFaceLandmarks(${variant === 'tiny' ? 'true' : ''}) for its own boxes`, async () => {
    const faceapi = await loadFaceApi();
    const lm = await landmarker(variant);
    let faces = 0;
    let worst = 0;
    for (const sample of [2, 6]) {
      const img = await decode(faceApiSample(sample));
      const t = imageTensor(faceapi, img);
      const results = await faceapi
        .detectAllFaces(t, new faceapi.TinyFaceDetectorOptions())
        .withFaceLandmarks(variant === 'tiny');
      t.dispose();
      const boxes: Box[] = results.map((r: FaceApi) => ({
        x: r.detection.box.x,
        y: r.detection.box.y,
        width: r.detection.box.width,
        height: r.detection.box.height,
      }));
      const expected: Point[][] = results.map((r: FaceApi) => r.landmarks.positions);
      const ours = await lm.detect(img, boxes);
      worst = Math.max(worst, maxPointDiff(ours, expected));
      faces += boxes.length;
    }
    console.log(`${variant}: ${faces} faces, max |ours - face-api| = ${worst.toExponential(2)} px`);
    assert.ok(faces >= 5, `face-api found only ${faces} faces`);
    assert.ok(worst <= PIXEL_TOLERANCE, `landmarks differ by ${worst} px`);
  });

  test(`${variant}: boxes partly outside the image (clipped edges, odd padding)`, async () => {
    const faceapi = await loadFaceApi();
    const lm = await landmarker(variant);
    const img = await decode(faceApiSample(1));
    const inside: Box[] = [
      { x: 1750.3, y: 1100.6, width: 250, height: 231 }, // past the right and bottom edges
      { x: 336.6, y: 396.8, width: 305.3, height: 251.1 }, // a face, inside
    ];
    const overhanging: Box[] = [
      { x: -120.4, y: 380.7, width: 300.2, height: 260.9 }, // past the left edge
      { x: 1400.5, y: -50.2, width: 330, height: 320 }, // past the top edge
    ];
    const ours = await lm.detect(img, [...inside, ...overhanging]);

    // Corner inside the image: exactly face-api's chain.
    const diffInside = maxPointDiff(ours.slice(0, 2), await faceApiLandmarks(faceapi, img, inside, variant));
    // Corner outside: face-api's chain on the box clipped at the left/top edge, since face-api
    // itself shifts its points by the overhang (see toImagePoints).
    const clipped = overhanging.map((b) => ({
      x: Math.max(b.x, 0),
      y: Math.max(b.y, 0),
      width: b.x + b.width - Math.max(b.x, 0),
      height: b.y + b.height - Math.max(b.y, 0),
    }));
    const diffClipped = maxPointDiff(ours.slice(2), await faceApiLandmarks(faceapi, img, clipped, variant));
    console.log(
      `${variant}: partly outside boxes, max |ours - face-api| = ${Math.max(diffInside, diffClipped).toExponential(2)} px`,
    );
    assert.ok(diffInside <= PIXEL_TOLERANCE, `landmarks differ by ${diffInside} px`);
    assert.ok(diffClipped <= PIXEL_TOLERANCE, `landmarks differ by ${diffClipped} px`);

    // The face-api quirk we do not copy: on the raw box its points move by exactly the overhang.
    const raw = await faceApiLandmarks(faceapi, img, overhanging, variant);
    assert.ok(
      Math.abs(ours[2][0].x - raw[0][0].x - 120.4) < 1e-3 && Math.abs(ours[3][0].y - raw[1][0].y - 50.2) < 1e-3,
    );
  });
}

function cut(img: Image, left: number, top: number, width: number, height: number): Image {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    data.set(
      img.data.subarray(((top + y) * img.width + left) * 3, ((top + y) * img.width + left + width) * 3),
      y * width * 3,
    );
  return { width, height, data };
}

test('a face cut by the image edge keeps its landmarks where the uncut face has them', async () => {
  // Overhang ~43 px: face-api's mapping would move every point by that much; ours stays within
  // the network's own wobble on a half-missing face (measured median 3-5 px).
  const MEDIAN_LIMIT = 10;
  const img = await decode(faceApiSample(1));
  const box: Box = { x: 336.6, y: 396.8, width: 305.3, height: 251.1 };
  for (const variant of variants) {
    const lm = await landmarker(variant);
    const [truth] = await lm.detect(img, [box]);
    for (const [left, top] of [
      [380, 0],
      [0, 440],
    ]) {
      const [ours] = await lm.detect(cut(img, left, top, 600, 600), [{ ...box, x: box.x - left, y: box.y - top }]);
      const d = ours
        .map((p, j) => Math.hypot(p.x - (truth[j].x - left), p.y - (truth[j].y - top)))
        .sort((a, b) => a - b);
      assert.ok(d[34] < MEDIAN_LIMIT, `${variant}, cut at ${left},${top}: median point error ${d[34]} px`);
    }
  }
});

test('one batched inference per image (per LANDMARK68_MAX_BATCH boxes); none for an empty list', async (t) => {
  const lm = await landmarker('tiny');
  const run = t.mock.method(ModelSession.prototype, 'run');
  const img: Image = { width: 64, height: 48, data: new Uint8Array(64 * 48 * 3).fill(128) };
  assert.deepEqual(await lm.detect(img, []), []);
  assert.equal(run.mock.callCount(), 0);
  const boxes: Box[] = [
    { x: 0, y: 0, width: 30, height: 40 },
    { x: 20, y: 10, width: 50, height: 20 },
    { x: 5, y: 5, width: 10, height: 10 },
  ];
  const points = await lm.detect(img, boxes);
  assert.equal(run.mock.callCount(), 1);
  assert.equal(points.length, 3);
  for (const face of points) for (const p of face) assert.ok(Number.isFinite(p.x) && Number.isFinite(p.y));

  // A crowd is cut into slices, and each box still gets the points it would get on its own.
  const crowd = Array.from({ length: LANDMARK68_MAX_BATCH + 1 }, (_, i) => boxes[i % boxes.length]);
  const crowdPoints = await lm.detect(img, crowd);
  assert.equal(run.mock.callCount(), 3);
  assert.equal(crowdPoints.length, crowd.length);
  crowdPoints.forEach((face, i) =>
    face.forEach((p, j) => {
      assert.ok(
        Math.abs(p.x - points[i % boxes.length][j].x) < 1e-3 && Math.abs(p.y - points[i % boxes.length][j].y) < 1e-3,
      );
    }),
  );
});

test('bad boxes and images are refused with INVALID_ARGUMENT naming the field', async () => {
  const lm = await landmarker('tiny');
  const img: Image = { width: 64, height: 48, data: new Uint8Array(64 * 48 * 3) };
  const isInvalid = (field: string) => (e: unknown) =>
    e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === field;
  const ok: Box = { x: 0, y: 0, width: 10, height: 10 };
  await assert.rejects(lm.detect(img, [ok, { x: 100, y: 0, width: 20, height: 20 }]), isInvalid('boxes[1]'));
  await assert.rejects(lm.detect(img, [{ x: 0, y: 0, width: Number.NaN, height: 10 }]), isInvalid('boxes[0]'));
  await assert.rejects(lm.detect(img, [{ x: 0, y: 0, width: 0, height: 10 }]), isInvalid('boxes[0]'));
  await assert.rejects(lm.detect({ width: 64, height: 48, data: new Uint8Array(10) }, [ok]), isInvalid('image'));
  await assert.rejects(Landmarker68.create({ variant: 'huge' as Landmark68Variant, cacheDir }), isInvalid('variant'));
});

test('a disposed landmarker throws DISPOSED, even for an empty box list', async () => {
  const lm = await Landmarker68.create({ variant: 'tiny', threads: 1, cacheDir });
  await lm.dispose();
  await lm.dispose();
  const img: Image = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) };
  const isDisposed = (e: unknown) => e instanceof FaceKitError && e.code === 'DISPOSED';
  await assert.rejects(lm.detect(img, [{ x: 0, y: 0, width: 8, height: 8 }]), isDisposed);
  await assert.rejects(lm.detect(img, []), isDisposed);
});
