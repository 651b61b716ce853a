/**
 * dlib's HOG face detector in TypeScript against dlib itself: fixtures made by
 * tools/dlib-export/hog_reference (dlib 19.24) from the images test/helpers/hog-inputs.ts rebuilds.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { faceLocations } from '../../src/api.js';
import { detectFacesHog } from '../../src/detect/hog/detect.js';
import { HOG_LANDMARK_BOX_SCALE, HOG_MAX_UPSAMPLE, HogDetector } from '../../src/detect/hog/detector.js';
import { extractFhog, FHOG_PLANES, type FhogImage } from '../../src/detect/hog/fhog.js';
import { filterEngine } from '../../src/detect/hog/filter-engine.js';
import { FRONTAL_FACE_DETECTOR } from '../../src/detect/hog/frontal-face-weights.js';
import { pyramidDown6, pyramidLevelCount, pyramidUp2, resizeBilinear } from '../../src/detect/hog/pyramid.js';
import { boxesOverlap, type DlibRect } from '../../src/detect/dlib-geometry.js';
import { FaceKitError } from '../../src/errors.js';
import { FaceKit } from '../../src/pipeline/kit.js';
import type { Image } from '../../src/types.js';
import { fhogTestImage, hogReferenceInputs } from '../helpers/hog-inputs.js';
import { isolatedCacheDir } from '../helpers/photos.js';

isolatedCacheDir();

interface DlibDetection extends DlibRect {
  readonly score: number;
  readonly filter: number;
}
interface DlibRun {
  readonly detections: readonly DlibDetection[];
}
interface DetectionFixture {
  readonly images: readonly { name: string; width: number; height: number; upsample0: DlibRun; upsample1: DlibRun }[];
}
interface RgbFixture {
  readonly width: number;
  readonly height: number;
  readonly data: readonly number[];
}
interface FhogFixture {
  readonly cellSize: number;
  readonly padding: number;
  readonly rows: number;
  readonly cols: number;
  readonly planes: readonly (readonly number[])[];
  readonly pyramidDown: RgbFixture;
  readonly pyramidUp: RgbFixture;
}

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/dlib/${name}`, import.meta.url), 'utf8'));
const detections = fixture('hog-detections.json') as DetectionFixture;
const fhog = fixture('hog-fhog.json') as FhogFixture;

const MIN_IOU = 0.99;
const MAX_SCORE_DIFF = 1e-3;
/** dlib computes FHOG in float; ours rounds each float operation the same way, to ~1 ulp. */
const MAX_FHOG_DIFF = 1e-6;

function rectIou(a: DlibRect, b: DlibRect): number {
  const w = Math.min(a.right, b.right) - Math.max(a.left, b.left) + 1;
  const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) + 1;
  const inner = w > 0 && h > 0 ? w * h : 0;
  const area = (r: DlibRect) => (r.right - r.left + 1) * (r.bottom - r.top + 1);
  return inner / (area(a) + area(b) - inner);
}

function assertSameRgb(label: string, ours: Image, dlib: RgbFixture): void {
  assert.equal(ours.width, dlib.width, `${label}: width`);
  assert.equal(ours.height, dlib.height, `${label}: height`);
  let differing = 0;
  for (let i = 0; i < ours.data.length; i++) if (ours.data[i] !== dlib.data[i]) differing++;
  assert.equal(differing, 0, `${label}: bytes that differ from dlib's`);
}

describe('HOG building blocks against dlib', () => {
  const img = fhogTestImage();

  test('pyramid_down<6> level is byte-identical', () => {
    assertSameRgb('pyramidDown6', pyramidDown6(img), fhog.pyramidDown);
  });

  test('pyramid_up (pyramid_down<2>) is byte-identical, 2w+2 × 2h+1', () => {
    const up = pyramidUp2(img);
    assert.deepEqual([up.width, up.height], [2 * img.width + 2, 2 * img.height + 1]);
    assertSameRgb('pyramidUp2', up, fhog.pyramidUp);
  });

  test('the JavaScript resize loops (no WebAssembly) give the same bytes', () => {
    const down = fhog.pyramidDown;
    assertSameRgb('pyramidDown6 in JS', resizeBilinear(img, down.width, down.height, false), down);
    const up = fhog.pyramidUp;
    assertSameRgb('pyramidUp2 in JS', resizeBilinear(img, up.width, up.height, false), up);
  });

  test('FHOG planes match extract_fhog_features value by value', () => {
    const ours = extractFhog(img, fhog.cellSize, fhog.padding, fhog.padding);
    assert.deepEqual([ours.rows, ours.cols], [fhog.rows, fhog.cols]);
    assert.equal(fhog.planes.length, FHOG_PLANES);
    let worst = 0;
    let nonZero = 0;
    for (let p = 0; p < FHOG_PLANES; p++) {
      const plane = fhog.planes[p] as readonly number[];
      for (let i = 0; i < plane.length; i++) {
        const ref = plane[i] as number;
        if (ref !== 0) nonZero++;
        worst = Math.max(worst, Math.abs(ref - (ours.planes[p * ours.rows * ours.cols + i] as number)));
      }
    }
    assert.ok(nonZero > 500, `the test image exercises the features (${nonZero} non-zero values)`);
    assert.ok(worst <= MAX_FHOG_DIFF, `largest difference ${worst}`);
  });

  test('the JavaScript vote loops (no WebAssembly) give the same planes as the WebAssembly kernel', () => {
    const wasm = extractFhog(img, fhog.cellSize, fhog.padding, fhog.padding);
    const js = extractFhog(img, fhog.cellSize, fhog.padding, fhog.padding, false);
    assert.deepEqual(js.planes, wasm.planes);
  });

  test('the WebAssembly resize gives the JavaScript bytes on every level of an upsampled pyramid', () => {
    // Odd and even sizes, and widths where dlib's float columns stop at different places.
    let level = pyramidUp2(img);
    for (let l = 0; l < 6; l++) {
      const [w, h] = [Math.floor((5 * level.width) / 6), Math.floor((5 * level.height) / 6)];
      const js = resizeBilinear(level, w, h, false);
      const wasm = resizeBilinear(level, w, h);
      assert.equal(Buffer.compare(Buffer.from(wasm.data), Buffer.from(js.data)), 0, `level ${l + 1} (${w}×${h})`);
      level = wasm;
    }
  });

  test('the WebAssembly filter responses match the plain loops, odd and even row counts', () => {
    const wasm = filterEngine(FRONTAL_FACE_DETECTOR);
    const js = filterEngine(FRONTAL_FACE_DETECTOR, false);
    // One cell (8 px) of height less flips the parity of the scored rows: the column pass's two-row
    // sweep ends with a single row or not.
    // Upsampled: enough rows that every tap of both swept rows meets features, not only padding.
    const big = pyramidUp2(img);
    for (const height of [big.height, big.height - 8]) {
      const cropped: Image = { width: big.width, height, data: big.data.subarray(0, big.width * height * 3) };
      const features = extractFhog(cropped, 8, 10, 10);
      wasm.load(features);
      js.load(features);
      const { rows, cols } = features;
      let worst = 0;
      for (let f = 0; f < FRONTAL_FACE_DETECTOR.filters.length; f++) {
        const a = wasm.score(f).slice();
        const b = js.score(f);
        for (let r = 5; r < rows - 4; r++) {
          for (let c = 5; c < cols - 4; c++)
            worst = Math.max(worst, Math.abs((a[r * cols + c] as number) - (b[r * cols + c] as number)));
        }
      }
      // float32 sums against double ones: ~1e-6; a row or tap out of place moves them by ~0.1.
      assert.ok(worst < 1e-4, `${rows} rows: largest difference ${worst}`);
    }
  });

  test('an image under 3 cells a side has no features', () => {
    // 12 px is 2 cells (dlib rounds 1.5 up): one short of the 3 a feature needs.
    const tiny: Image = { width: 12, height: 12, data: new Uint8Array(12 * 12 * 3) };
    assert.equal(extractFhog(tiny, 8, 10, 10).rows, 0);
  });

  test('pyramid levels stop below the 64-px layer', () => {
    assert.equal(pyramidLevelCount(63, 200, 64, 64, 1000), 1);
    // 640×426: 426 → 355 → 296 → 246 → 205 → 171 → 142 → 118 → 98 → 82 → 68 → 57.
    assert.equal(pyramidLevelCount(640, 426, 64, 64, 1000), 11);
    assert.equal(pyramidLevelCount(640, 426, 64, 64, 3), 3);
  });

  test("test_box_overlap uses dlib's two thresholds", () => {
    const a = { left: 0, top: 0, right: 99, bottom: 99 };
    const inside = { left: 10, top: 10, right: 89, bottom: 89 };
    const apart = { left: 200, top: 0, right: 299, bottom: 99 };
    const { nmsIouThreshold: iou, nmsPercentCoveredThreshold: covered } = FRONTAL_FACE_DETECTOR;
    assert.equal(boxesOverlap(a, inside, iou, covered), true);
    assert.equal(boxesOverlap(a, apart, iou, covered), false);
    // IoU 0.33 is just over dlib's 0.330: a half-overlapping pair of equal boxes is suppressed.
    assert.equal(boxesOverlap(a, { left: 50, top: 0, right: 149, bottom: 99 }, iou, covered), true);
    assert.equal(boxesOverlap(a, { left: 60, top: 0, right: 159, bottom: 99 }, iou, covered), false);
  });
});

describe("HOG detections match dlib's", async () => {
  const inputs = await hogReferenceInputs();
  for (const upsample of [0, 1] as const) {
    for (const { name, image } of inputs) {
      test(`${name}, upsample ${upsample}`, () => {
        const ref = detections.images.find((r) => r.name === name);
        assert.ok(ref, `fixture has ${name}`);
        assert.deepEqual([image.width, image.height], [ref.width, ref.height], 'same input size');
        const expected = (upsample === 0 ? ref.upsample0 : ref.upsample1).detections;
        const ours = detectFacesHog(image, { upsample, adjustThreshold: 0 });
        assert.equal(ours.length, expected.length, `face count (dlib ${expected.length})`);
        for (const d of expected) {
          const match = ours.find((o) => rectIou(o.rect, d) >= MIN_IOU);
          assert.ok(match, `dlib's box ${JSON.stringify(d)} found`);
          assert.ok(Math.abs(match.score - d.score) <= MAX_SCORE_DIFF, `score ${match.score} vs dlib ${d.score}`);
          assert.equal(match.filter, d.filter, 'same filter fired');
        }
      });
    }
  }
  test('the plain-loop filter engine (no WebAssembly SIMD) gives the same faces', () => {
    const { name, image } = inputs[0] as { name: string; image: Image };
    const expected = detections.images.find((r) => r.name === name)?.upsample0.detections ?? [];
    const js = filterEngine(FRONTAL_FACE_DETECTOR, false);
    const ours = detectFacesHog(image, { upsample: 0, adjustThreshold: 0 }, FRONTAL_FACE_DETECTOR, js);
    assert.equal(ours.length, expected.length);
    for (const d of expected) {
      const match = ours.find((o) => rectIou(o.rect, d) >= MIN_IOU);
      assert.ok(match && Math.abs(match.score - d.score) <= MAX_SCORE_DIFF, JSON.stringify(d));
    }
  });

  test('the in-place scan (levels, planes and responses in WebAssembly memory) equals the step-by-step arrays', () => {
    // The same WebAssembly engine behind a plain object: scanImage then takes the path where each
    // resize and FHOG returns arrays and the planes are copied in. Same bits expected, not close ones.
    const engine = filterEngine(FRONTAL_FACE_DETECTOR);
    const copying = { load: (f: FhogImage) => engine.load(f), score: (i: number) => engine.score(i) };
    for (const { name, image } of inputs.slice(0, 2) as { name: string; image: Image }[]) {
      for (const upsample of [0, 1]) {
        const settings = { upsample, adjustThreshold: -0.5 };
        const inPlace = detectFacesHog(image, settings);
        const arrays = detectFacesHog(image, settings, FRONTAL_FACE_DETECTOR, copying);
        assert.ok(inPlace.length > 0, `${name}: windows found`);
        assert.deepEqual(inPlace, arrays, `${name}, upsample ${upsample}`);
      }
    }
  });

  test('the fixtures hold faces at both upsample settings', () => {
    const count = (u: 'upsample0' | 'upsample1') => detections.images.reduce((n, r) => n + r[u].detections.length, 0);
    assert.ok(count('upsample0') >= 15 && count('upsample1') >= 15);
  });
});

describe('HogDetector', () => {
  const detector = new HogDetector();
  const sample = async () => (await hogReferenceInputs())[0] as { name: string; image: Image };

  test("boxes are dlib's rectangles (right/bottom edges as face_recognition reports them), best first", async () => {
    const { image } = await sample();
    const found = await detector.detect(image, { upsample: 0 });
    const ref = detections.images[0]?.upsample0.detections ?? [];
    assert.equal(found.length, ref.length);
    found.forEach((d, i) => {
      const r = ref[i] as DlibDetection;
      assert.deepEqual(d.box, { x: r.left, y: r.top, width: r.right - r.left, height: r.bottom - r.top });
      if (i > 0) assert.ok(d.score <= (found[i - 1]?.score ?? Infinity));
    });
  });

  test('maxFaces, minConfidence and adjustThreshold', async () => {
    const { image } = await sample();
    assert.equal((await detector.detect(image, { upsample: 0, maxFaces: 1 })).length, 1);
    const strong = await detector.detect(image, { upsample: 0, minConfidence: 0.9 });
    assert.ok(strong.length >= 1 && strong.every((d) => d.score >= 0.9));
    const all = await detector.detect(image, { upsample: 0 });
    const more = await detector.detect(image, { upsample: 0, adjustThreshold: -0.5 });
    assert.ok(more.length >= all.length, 'a lower threshold finds at least as many');
    assert.ok(
      more.some((d) => d.score < 0),
      'and reports their scores below 0',
    );
  });

  test('bad options are refused, naming the field', async () => {
    const { image } = await sample();
    const isInvalid = (field: string) => (e: unknown) =>
      e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === field;
    for (const upsample of [-1, 0.5, HOG_MAX_UPSAMPLE + 1, Number.NaN, '1' as unknown as number]) {
      await assert.rejects(detector.detect(image, { upsample }), isInvalid('upsample'), String(upsample));
    }
    for (const adjustThreshold of [Number.NaN, Infinity]) {
      await assert.rejects(detector.detect(image, { adjustThreshold }), isInvalid('adjustThreshold'));
    }
    await assert.rejects(detector.detect(image, { minConfidence: 1 }), isInvalid('minConfidence'));
    await assert.rejects(detector.detect(image, { maxFaces: -1 }), isInvalid('maxFaces'));
    await assert.rejects(
      detector.detect({ width: 2, height: 2, data: new Uint8Array(3) }),
      (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT',
    );
    assert.throws(() => new FaceKit({ detector: 'hog', upsample: 9 }), isInvalid('upsample'));
    assert.throws(() => new FaceKit({ detector: 'hog', adjustThreshold: Number.NaN }), isInvalid('adjustThreshold'));
  });

  test('an upsample that would scan more than HOG_MAX_SCANNED_PIXELS is refused before any work', async () => {
    // 5000×5001 at upsample 1 is 100.02 M pixels: just over the limit.
    const side = 5000;
    const big: Image = { width: side, height: side + 1, data: new Uint8Array(side * (side + 1) * 3) };
    await assert.rejects(
      detector.detect(big, { upsample: 1 }),
      (e: unknown) => e instanceof FaceKitError && e.field === 'upsample' && /above 100 M/.test(e.message),
    );
  });

  test('an image smaller than the 80-px window has no faces', async () => {
    const small: Image = { width: 30, height: 30, data: new Uint8Array(30 * 30 * 3).fill(90) };
    assert.deepEqual(await detector.detect(small, { upsample: 0 }), []);
  });
});

describe("plain verbs and the kit with model 'hog'", () => {
  test('faceLocations(img, { model: "hog", upsample }) gives dlib\'s boxes', async () => {
    const { image } = (await hogReferenceInputs())[0] as { image: Image };
    const boxes = await faceLocations(image, { model: 'hog', upsample: 0 });
    const ref = detections.images[0]?.upsample0.detections ?? [];
    assert.deepEqual(
      boxes.map((b) => [b.x, b.y, b.x + b.width, b.y + b.height]),
      ref.map((r) => [r.left, r.top, r.right, r.bottom]),
    );
    await assert.rejects(
      faceLocations(image, { model: 'hog', upsample: -2 }),
      (e: unknown) => e instanceof FaceKitError && e.field === 'upsample',
    );
  });

  test("the 68-point network reads HOG's landmarkBox (grown 1.3x, centred lower), not the tight box", async () => {
    const { image } = (await hogReferenceInputs())[0] as { image: Image };
    const kit = new FaceKit({ detector: 'hog' });
    try {
      const [det] = await kit.detect(image, { upsample: 0 });
      assert.ok(det?.landmarkBox);
      const lb = det.landmarkBox;
      assert.ok(Math.abs(lb.width - det.box.width * HOG_LANDMARK_BOX_SCALE) < 1e-9);
      assert.ok(lb.y + lb.height / 2 > det.box.y + det.box.height / 2, 'centred lower');
      const [viaKit] = await kit.landmarks(image, [det]);
      const [viaBox] = await kit.landmarks(image, [{ box: lb, score: det.score }]);
      const [viaTight] = await kit.landmarks(image, [{ box: det.box, score: det.score }]);
      assert.deepEqual(viaKit?.landmarks, viaBox?.landmarks);
      assert.notDeepEqual(viaKit?.landmarks, viaTight?.landmarks);
      assert.deepEqual(viaKit?.box, det.box, "the face keeps dlib's box");
    } finally {
      await kit.dispose();
    }
  });

  test('a hog kit detects with its own upsample option, per-call options winning', async () => {
    const inputs = await hogReferenceInputs();
    const small = inputs.find((i) => i.name === 'sample2-320') as { image: Image };
    const kit = new FaceKit({ detector: 'hog', upsample: 0, retryOnMiss: false });
    try {
      // dlib finds this photo's 36-px face only after upsampling (see the fixture).
      assert.equal((await kit.detect(small.image)).length, 0);
      assert.equal((await kit.detect(small.image, { upsample: 1 })).length, 1);
    } finally {
      await kit.dispose();
    }
  });
});
