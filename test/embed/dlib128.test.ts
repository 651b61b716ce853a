import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { DlibEncoder } from '../../src/embed/dlib128.js';
import { FaceKitError } from '../../src/errors.js';
import { faceApiSample, maxAbsDiff } from '../helpers/faceapi-reference.js';

const cacheDir = mkdtempSync(join(tmpdir(), 'facekit-dlib128-'));
process.env.FACEKIT_CACHE_DIR = cacheDir;

const CHIP = 150;
/** dlib's own same-person threshold is 0.6; a 2-px shift of one crop must stay far below it. */
const SAME_MAX = 0.4;
const DIFFERENT_MIN = 0.6;

type FaceBox = readonly [sample: number, x: number, y: number, w: number, h: number];
/** Boxes face-api's SSD finds in the demo photos; the four people are visibly different women. */
const S3_BLONDE: FaceBox = [3, 585, 329, 199, 271];
const S1_PURPLE_LIPS: FaceBox = [1, 838, 421, 186, 228];
const S1_FACE_PAINT: FaceBox = [1, 414, 355, 177, 240];
const S4_TILTED: FaceBox = [4, 664, 53, 187, 258];
const S5_HAIR_TIED: FaceBox = [5, 787, 109, 156, 212];

/** Unaligned square crop around the box, moved by (dx, dy) source pixels, as 150×150 floats. */
async function faceChip([sample, x, y, w, h]: FaceBox, dx = 0, dy = 0): Promise<Float32Array> {
  const side = Math.round(Math.max(w, h) * 0.9);
  const { data } = await sharp(faceApiSample(sample))
    .removeAlpha()
    .extract({
      left: Math.round(x + w / 2 - side / 2) + dx,
      top: Math.round(y + h / 2 - side / 2) + dy,
      width: side,
      height: side,
    })
    .resize(CHIP, CHIP)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return Float32Array.from(data);
}

function distance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

let encoder: DlibEncoder;
before(async () => {
  encoder = await DlibEncoder.create({ threads: 1 });
});
after(async () => {
  await encoder.dispose();
  rmSync(cacheDir, { recursive: true, force: true });
});

test('the encoder reports its model, chip and descriptor sizes', () => {
  assert.equal(encoder.modelId, 'dlib_resnet128');
  assert.equal(encoder.chipSize, 150);
  assert.equal(encoder.descriptorSize, 128);
});

test('a shifted crop of the same face stays close; different people are far apart', async () => {
  const people = [S3_BLONDE, S1_PURPLE_LIPS, S1_FACE_PAINT, S4_TILTED, S5_HAIR_TIED];
  const chips = await Promise.all([...people.map((p) => faceChip(p)), ...people.map((p) => faceChip(p, 2, 2))]);
  const d = await encoder.encode(chips);
  assert.equal(d.length, chips.length);
  for (const v of d) assert.equal(v.length, 128);
  const same = people.map((_, i) => distance(d[i], d[i + people.length]));
  const pairs: [number, number][] = [
    [0, 1],
    [0, 3],
    [0, 4],
    [2, 4],
  ];
  const different = pairs.map(([i, j]) => distance(d[i], d[j]));
  console.log(
    `same face shifted 2 px: ${same.map((v) => v.toFixed(3)).join(' ')}; different people: ${different.map((v) => v.toFixed(3)).join(' ')}`,
  );
  for (const v of same) assert.ok(v < SAME_MAX, `same-face distance ${v}`);
  for (const v of different) assert.ok(v > DIFFERENT_MIN, `different-person distance ${v}`);
});

test('one batched call gives the same descriptors as one call per chip', async () => {
  const chips = await Promise.all([faceChip(S3_BLONDE), faceChip(S1_FACE_PAINT)]);
  const batched = await encoder.encode(chips);
  const single = [...(await encoder.encode([chips[0]])), ...(await encoder.encode([chips[1]]))];
  for (let i = 0; i < chips.length; i++) assert.ok(maxAbsDiff(batched[i], single[i]) < 1e-6);
  // Each descriptor owns its buffer rather than viewing the batch output.
  assert.notEqual(batched[0].buffer, batched[1].buffer);
});

test('an empty list gives an empty list without running the model', async () => {
  const probe = encoder as unknown as { session: { run: () => never } };
  const realRun = probe.session.run;
  probe.session.run = () => assert.fail('the model ran for an empty list');
  try {
    assert.deepEqual(await encoder.encode([]), []);
  } finally {
    probe.session.run = realRun;
  }
});

test('chips of the wrong size are rejected with INVALID_ARGUMENT', async () => {
  const good = new Float32Array(CHIP * CHIP * 3);
  for (const bad of [new Float32Array(112 * 112 * 3), new Float32Array(CHIP * CHIP * 3 + 1), new Float32Array(0)]) {
    await assert.rejects(
      encoder.encode([good, bad]),
      (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === 'chips[1]',
    );
  }
  const notFloats = new Uint8Array(CHIP * CHIP * 3) as unknown as Float32Array;
  await assert.rejects(
    encoder.encode([notFloats]),
    (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT',
  );
});

test('a disposed encoder refuses work with DISPOSED', async () => {
  const own = await DlibEncoder.create({ threads: 1 });
  await own.dispose();
  await own.dispose();
  const chip = new Float32Array(CHIP * CHIP * 3);
  await assert.rejects(own.encode([chip]), (e: unknown) => e instanceof FaceKitError && e.code === 'DISPOSED');
  await assert.rejects(own.encode([]), (e: unknown) => e instanceof FaceKitError && e.code === 'DISPOSED');
});
