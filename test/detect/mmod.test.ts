/**
 * dlib's MMOD CNN detector against dlib itself: the fixtures under test/fixtures/dlib/mmod-*.json
 * are dlib 19.24's own tiled pyramid, score map, boxes and detection_confidence
 * (tools/dlib-export/mmod_reference.cpp), on the npm-shipped sample photos scaled by sharp and on
 * images these tests make (test/helpers/mmod-inputs.ts rebuilds the same pixels).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDetectorName } from '../../src/detect/registry.js';
import { boxesOverlap, type DlibRect } from '../../src/detect/dlib-geometry.js';
import {
  checkUpsample,
  dlibRectToBox,
  MMOD_LANDMARK_SCALE,
  MmodDetector,
  mmodLandmarkBox,
} from '../../src/detect/mmod/detector.js';
import { parseMmodOptions } from '../../src/detect/mmod/options.js';
import { TensorBuffer, tiledLayout, tiledPyramid } from '../../src/detect/mmod/pyramid.js';
import { disposeSharedKits, faceLocations } from '../../src/api.js';
import { FaceKitError } from '../../src/errors.js';
import { FaceKit } from '../../src/pipeline/kit.js';
import { detectionAttempts } from '../../src/pipeline/retry.js';
import type { Image } from '../../src/types.js';
import {
  MMOD_BENCH_WIDTH,
  MMOD_FIXTURE_WIDTH,
  mmodDetectionInputs,
  mmodPatternImage,
  type NamedImage,
} from '../helpers/mmod-inputs.js';
import { noiseImage } from '../helpers/images.js';
import { isolatedCacheDir } from '../helpers/photos.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'dlib');
/** The tolerances for CNN boxes and scores against dlib's. */
const MIN_IOU = 0.99;
const MAX_SCORE_DIFF = 1e-2;
/** dlib resizes pyramid levels in single precision: float noise only. */
const MAX_INPUT_DIFF = 1e-5;
/** Seven convolutions of float32 noise on scores of magnitude ~1. */
const MAX_SCORE_MAP_DIFF = 1e-4;

interface DlibDetection extends DlibRect {
  readonly confidence: number;
}
interface DetectionFixture {
  readonly images: {
    readonly file: string;
    readonly width: number;
    readonly height: number;
    readonly runs: { readonly upsample: number; readonly detections: DlibDetection[] }[];
  }[];
}
interface TensorFixture {
  readonly width: number;
  readonly height: number;
  readonly tiles: DlibRect[];
  readonly input: { rows: number; cols: number; data: number[] };
  readonly scores: { rows: number; cols: number; data: number[] };
}

const readFixture = <T>(name: string): T => JSON.parse(readFileSync(join(fixtures, name), 'utf8')) as T;

/** dlib's own IoU of two inclusive rectangles. */
function rectIou(a: DlibRect, b: DlibRect): number {
  const w = Math.min(a.right, b.right) - Math.max(a.left, b.left) + 1;
  const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) + 1;
  const inner = w > 0 && h > 0 ? w * h : 0;
  const area = (r: DlibRect) => (r.right - r.left + 1) * (r.bottom - r.top + 1);
  return inner / (area(a) + area(b) - inner);
}

const cacheDir = isolatedCacheDir();
let detector: MmodDetector;

before(async () => {
  detector = await MmodDetector.create({ threads: 1, cacheDir });
});

after(async () => {
  await detector?.dispose();
  await disposeSharedKits();
});

describe('tiled pyramid and network against dlib (mmod-tensors.json)', () => {
  const fixture = readFixture<TensorFixture>('mmod-tensors.json');

  test('the pattern image rebuilt here is the one dlib read', () => {
    const image = mmodPatternImage();
    assert.deepEqual([image.width, image.height], [fixture.width, fixture.height]);
  });

  test('tile layout is dlib’s, rectangle for rectangle', () => {
    const layout = tiledLayout(fixture.width, fixture.height, 10, 11);
    assert.deepEqual(layout.levels, fixture.tiles);
    assert.deepEqual([layout.rows, layout.cols], [fixture.input.rows, fixture.input.cols]);
  });

  test('the tiled input tensor matches dlib’s to_tensor value for value', () => {
    const { data } = tiledPyramid(mmodPatternImage(), detector.options);
    assert.equal(data.length, fixture.input.data.length);
    let worst = 0;
    for (let i = 0; i < data.length; i++)
      worst = Math.max(worst, Math.abs((data[i] as number) - (fixture.input.data[i] as number)));
    assert.ok(worst <= MAX_INPUT_DIFF, `largest difference ${worst}`);
  });

  test('the tensor is the same bit for bit from the WebAssembly resize, the JavaScript one and a reused buffer', () => {
    const reused = new TensorBuffer();
    const other = mmodPatternImage();
    const flipped: Image = { ...other, data: other.data.slice().reverse() };
    const wasm = tiledPyramid(mmodPatternImage(), detector.options).data;
    const js = tiledPyramid(mmodPatternImage(), detector.options, new TensorBuffer(false)).data;
    assert.deepEqual(js, wasm);
    // A buffer that held another photo of the same size keeps no trace of it.
    tiledPyramid(flipped, detector.options, reused);
    assert.deepEqual(tiledPyramid(mmodPatternImage(), detector.options, reused).data, wasm);
    // Nor of a photo of another size (another layout: the padding is cleared again).
    const small: Image = { width: 40, height: 30, data: new Uint8Array(40 * 30 * 3).fill(200) };
    tiledPyramid(small, detector.options, reused);
    assert.deepEqual(tiledPyramid(mmodPatternImage(), detector.options, reused).data, wasm);
  });

  test('the ONNX graph’s score map matches dlib’s network output', async () => {
    const { scores, rows, cols } = await detector.scoreMap(mmodPatternImage());
    assert.deepEqual([rows, cols], [fixture.scores.rows, fixture.scores.cols]);
    let worst = 0;
    for (let i = 0; i < scores.length; i++)
      worst = Math.max(worst, Math.abs((scores[i] as number) - (fixture.scores.data[i] as number)));
    assert.ok(worst <= MAX_SCORE_MAP_DIFF, `largest difference ${worst}`);
  });
});

async function compareWithDlib(fixture: DetectionFixture, inputs: NamedImage[], upsamples: readonly number[]) {
  for (const ref of fixture.images) {
    const input = inputs.find((i) => `${i.name}.png` === ref.file);
    assert.ok(input, `no input named ${ref.file}`);
    assert.deepEqual([input.image.width, input.image.height], [ref.width, ref.height], ref.file);
    for (const run of ref.runs.filter((r) => upsamples.includes(r.upsample))) {
      const ours = await detector.detectRects(input.image, run.upsample);
      const where = `${ref.file} upsample ${run.upsample}`;
      assert.equal(ours.length, run.detections.length, `${where}: ${ours.length} boxes, dlib ${run.detections.length}`);
      for (const want of run.detections) {
        const match = ours.find((d) => rectIou(d.rect, want) >= MIN_IOU);
        assert.ok(match, `${where}: dlib's box ${JSON.stringify(want)} not found`);
        assert.ok(
          Math.abs(match.score - want.confidence) <= MAX_SCORE_DIFF,
          `${where}: score ${match.score}, dlib ${want.confidence}`,
        );
      }
    }
  }
}

describe('detections against dlib', () => {
  test(`${MMOD_FIXTURE_WIDTH}-px samples and a mirrored one, upsample 0 and 1 (mmod-detections.json)`, async () => {
    const fixture = readFixture<DetectionFixture>('mmod-detections.json');
    assert.ok(
      fixture.images.some((i) => i.runs.some((r) => r.detections.length > 0)),
      'the fixture holds faces',
    );
    await compareWithDlib(fixture, await mmodDetectionInputs(MMOD_FIXTURE_WIDTH), [0, 1]);
  });

  test(`${MMOD_BENCH_WIDTH}-px samples at upsample 0, where faces fill dlib's 80-px window (mmod-detections-640.json)`, async () => {
    const fixture = readFixture<DetectionFixture>('mmod-detections-640.json');
    await compareWithDlib(fixture, await mmodDetectionInputs(MMOD_BENCH_WIDTH), [0]);
  });
});

describe('detect()', () => {
  let sample: Image;
  before(async () => {
    sample = ((await mmodDetectionInputs(MMOD_FIXTURE_WIDTH))[0] as NamedImage).image;
  });

  test('boxes are dlib’s rectangles as face_recognition reports them, with a landmark crop', async () => {
    const rects = await detector.detectRects(sample, 1);
    const faces = await detector.detect(sample);
    assert.equal(faces.length, rects.length);
    faces.forEach((f, i) => {
      const r = (rects[i] as { rect: DlibRect }).rect;
      assert.deepEqual(f.box, dlibRectToBox(r));
      assert.equal(f.box.x + f.box.width, r.right, 'css right is dlib’s right');
      assert.deepEqual(f.landmarkBox, mmodLandmarkBox(f.box));
      assert.ok(Math.abs((f.landmarkBox?.width ?? 0) - f.box.width * MMOD_LANDMARK_SCALE) < 1e-9);
    });
  });

  test('maxFaces keeps the best; minConfidence is dlib’s threshold, strictly above', async () => {
    const all = await detector.detect(sample, { upsample: 1 });
    assert.ok(all.length >= 2);
    assert.deepEqual(await detector.detect(sample, { maxFaces: 1 }), all.slice(0, 1));
    const cut = (all[all.length - 1] as { score: number }).score;
    const above = await detector.detect(sample, { minConfidence: cut });
    assert.deepEqual(
      above.map((f) => f.score),
      all.filter((f) => f.score > cut).map((f) => f.score),
    );
  });

  test('NMS drops a window overlapping a better one, as dlib’s test_box_overlap', () => {
    const a = { left: 0, top: 0, right: 79, bottom: 79 };
    const o = detector.options;
    assert.equal(boxesOverlap(a, { left: 30, top: 0, right: 109, bottom: 79 }, o.nmsIouThreshold, 1), true);
    assert.equal(boxesOverlap(a, { left: 60, top: 0, right: 139, bottom: 79 }, o.nmsIouThreshold, 1), false);
  });

  test('no faces in noise; an image too small for one window gives none rather than failing', async () => {
    assert.deepEqual(await detector.detect(noiseImage(160, 120, 3), { upsample: 0 }), []);
    assert.deepEqual(await detector.detect(noiseImage(4, 4, 5), { upsample: 0 }), []);
    assert.deepEqual(await detector.detect(noiseImage(1, 1, 5)), []);
  });

  test('bad options and images are INVALID_ARGUMENT naming the field', async () => {
    const invalid = (field: string) => (e: unknown) =>
      e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === field;
    for (const upsample of [-1, 1.5, 4, Number.NaN])
      await assert.rejects(detector.detect(sample, { upsample }), invalid('upsample'));
    assert.throws(() => checkUpsample(7, 'number_of_times_to_upsample'), invalid('number_of_times_to_upsample'));
    for (const minConfidence of [-0.5, Number.POSITIVE_INFINITY])
      await assert.rejects(detector.detect(sample, { minConfidence }), invalid('minConfidence'));
    await assert.rejects(detector.detect(sample, { maxFaces: -1 }), invalid('maxFaces'));
    await assert.rejects(detector.detect({ width: 2, height: 2, data: new Uint8Array(3) }), FaceKitError);
  });
});

describe('options file', () => {
  const good = JSON.parse(
    readFileSync(
      join(import.meta.dirname, '..', '..', 'weights', 'dlib-mmod', 'mmod_human_face_detector_options.json'),
      'utf8',
    ),
  );

  test('the shipped options are dlib’s: 80×80 window, pyramid_down<6>, paddings 10/11, NMS IoU 0.338', () => {
    const o = parseMmodOptions(good, 'options.json');
    assert.deepEqual([o.windowWidth, o.windowHeight, o.pyramidPadding, o.pyramidOuterPadding], [80, 80, 10, 11]);
    assert.ok(Math.abs(o.nmsIouThreshold - 0.338276) < 1e-6);
  });

  test('options this port cannot run are MODEL_CORRUPT naming the file and the field', () => {
    const corrupt = (problem: RegExp) => (e: unknown) =>
      e instanceof FaceKitError && e.code === 'MODEL_CORRUPT' && e.file === 'bad.json' && problem.test(e.message);
    const withInput = (input: object) => ({ ...good, input: { ...good.input, ...input } });
    const withLoss = (loss: object) => ({ ...good, loss: { ...good.loss, ...loss } });
    assert.throws(() => parseMmodOptions(null, 'bad.json'), corrupt(/pyramidDown/));
    assert.throws(() => parseMmodOptions(withInput({ pyramidDown: 2 }), 'bad.json'), corrupt(/pyramidDown/));
    assert.throws(() => parseMmodOptions(withInput({ avgRed: 'x' }), 'bad.json'), corrupt(/avgRed/));
    assert.throws(() => parseMmodOptions(withInput({ pyramidPadding: -1 }), 'bad.json'), corrupt(/padding/));
    assert.throws(() => parseMmodOptions(withLoss({ detectorWindows: [] }), 'bad.json'), corrupt(/one window/));
    assert.throws(
      () => parseMmodOptions(withLoss({ useBoundingBoxRegression: true }), 'bad.json'),
      corrupt(/BoundingBoxRegression/),
    );
    assert.throws(() => parseMmodOptions(withLoss({ overlapsNms: {} }), 'bad.json'), corrupt(/overlapsNms/));
  });
});

describe('kit and names', () => {
  test("'cnn' is face_recognition's name for 'mmod'; unknown names list both", () => {
    assert.equal(checkDetectorName('cnn'), 'mmod');
    assert.throws(
      () => checkDetectorName('hogg', 'model'),
      (e: unknown) => e instanceof FaceKitError && e.field === 'model' && /'cnn'/.test(e.message),
    );
  });

  test('a kit with detector cnn finds dlib’s boxes and 68 landmarks inside the landmark crop', async () => {
    const kit = new FaceKit({ detector: 'cnn', upsample: 1, threads: 1, cacheDir });
    try {
      const image = ((await mmodDetectionInputs(MMOD_FIXTURE_WIDTH))[1] as NamedImage).image;
      const faces = await kit.landmarks(image);
      assert.deepEqual(
        faces.map((f) => f.box),
        (await detector.detect(image)).map((f) => f.box),
      );
      for (const f of faces) {
        const crop = f.landmarkBox ?? f.box;
        const inside = f.landmarks.filter(
          (p) => p.x >= crop.x && p.x <= crop.x + crop.width && p.y >= crop.y && p.y <= crop.y + crop.height,
        );
        assert.ok(inside.length >= 60, `${inside.length} of 68 points inside the crop`);
      }
    } finally {
      await kit.dispose();
    }
  });

  test("faceLocations(img, { model: 'cnn' }) gives the detector's boxes; upsample is passed on", async () => {
    const image = ((await mmodDetectionInputs(MMOD_FIXTURE_WIDTH))[2] as NamedImage).image;
    for (const upsample of [undefined, 1]) {
      assert.deepEqual(
        await faceLocations(image, { model: 'cnn', upsample }),
        (await detector.detect(image, { upsample })).map((f) => f.box),
      );
    }
    await assert.rejects(
      faceLocations(image, { model: 'tiny', upsample: 1 }),
      (e: unknown) => e instanceof FaceKitError && e.field === 'upsample',
    );
  });

  test('an MMOD kit retries with the others; no other chain runs MMOD; upsample stays with MMOD', () => {
    const chain = detectionAttempts('mmod', { upsample: 0, minConfidence: 0.2 });
    assert.deepEqual(chain[0], ['mmod', { minConfidence: 0.2, upsample: 0 }]);
    assert.ok(chain.slice(1).every(([name, o]) => name !== 'mmod' && o.upsample === undefined));
    assert.deepEqual(detectionAttempts('mmod', {})[0], ['mmod', { upsample: 1 }]);
    for (const other of ['tiny', 'ssd', 'mtcnn'] as const)
      assert.ok(detectionAttempts(other, {}).every(([name]) => name !== 'mmod'));
  });

  test('upsample with another detector is INVALID_ARGUMENT, at construction and per call', async () => {
    const invalid = (e: unknown) =>
      e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === 'upsample';
    assert.throws(() => new FaceKit({ detector: 'tiny', upsample: 1 } as never), invalid);
    assert.throws(() => new FaceKit({ detector: 'mmod', upsample: 9 }), invalid);
    const kit = new FaceKit({ detector: 'tiny', cacheDir });
    try {
      await assert.rejects(kit.detect(noiseImage(32, 32), { upsample: 1 }), invalid);
    } finally {
      await kit.dispose();
    }
  });
});
