/** Issue 16 items 7, 10, 11: wrong types, NaN/Infinity and absurd landmarks get INVALID_ARGUMENT at every public entry. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { compareFaces, faceDistance, verify } from '../../src/api.js';
import { warpChip } from '../../src/align/chip.js';
import { MAX_LANDMARK_SPREAD } from '../../src/align/spread.js';
import { clusterFaces } from '../../src/cluster/cluster.js';
import { FaceKitError } from '../../src/errors.js';
import { openGallery } from '../../src/gallery/gallery.js';
import { alignFace, createFaceKit } from '../../src/pipeline/kit.js';
import { verifyDescriptors } from '../../src/match/verify.js';
import type { Image, Point } from '../../src/types.js';
import { Faces } from '../helpers/descriptors.js';
import { noiseImage } from '../helpers/images.js';
import { tempDir } from '../helpers/temp.js';

const invalid = (field?: string) => (e: unknown) =>
  e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && (field === undefined || e.field === field);
const faces = new Faces(7);
const good = faces.person();
const withValue = (v: number) => {
  const d = Float32Array.from(good);
  d[5] = v;
  return d;
};
const image: Image = noiseImage(64, 48);
/** Five points of a face inside the 64×48 image. */
const five: Point[] = [
  { x: 20, y: 20 },
  { x: 40, y: 20 },
  { x: 30, y: 30 },
  { x: 22, y: 40 },
  { x: 38, y: 40 },
];

describe('descriptors: NaN, Infinity and wrong types', () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    test(`${bad} is refused by faceDistance, compareFaces, verifyDescriptors, verify and clusterFaces`, async () => {
      assert.throws(() => faceDistance([good], withValue(bad)), invalid());
      assert.throws(() => faceDistance([withValue(bad)], good), invalid());
      assert.throws(() => compareFaces([withValue(bad)], good), invalid());
      assert.throws(() => verifyDescriptors(withValue(bad), good), invalid());
      await assert.rejects(verify(good, withValue(bad)), invalid());
      assert.throws(() => clusterFaces([good, withValue(bad)]), invalid('descriptors[1]'));
    });
  }

  test('wrong types: null, strings, numbers', () => {
    const untyped = (f: unknown) => f as never;
    assert.throws(() => compareFaces(untyped(null), good), invalid('known'));
    assert.throws(() => compareFaces([good], untyped(null)), invalid('probe'));
    assert.throws(() => compareFaces(untyped([['a', 'b']]), untyped(['c', 'd'])), invalid());
    assert.throws(() => faceDistance(untyped('abc'), good), invalid('known'));
    assert.throws(() => faceDistance([good], untyped(42)), invalid('probe'));
    assert.throws(() => clusterFaces(untyped(null)), invalid('descriptors'));
    assert.throws(() => clusterFaces(untyped([null])), invalid('descriptors[0]'));
    assert.throws(() => clusterFaces(untyped(['x'])), invalid('descriptors[0]'));
    assert.throws(() => verifyDescriptors(untyped('a'), good), invalid('a'));
  });

  test('finite descriptors still give the same answers', () => {
    const other = faces.photo(good);
    assert.equal(compareFaces([other], good)[0], true);
    assert.ok(faceDistance([other], Array.from(good))[0] < 0.6);
  });
});

describe('gallery: identify and enroll', () => {
  const dir = tempDir('facekit-harden-args-');
  for (const index of ['exact', 'ann'] as const) {
    test(`identify (${index}) refuses NaN and Infinity, and a non-array`, async () => {
      const g = await openGallery({ path: join(dir, `${index}.db`), index, annMinFaces: 1 });
      try {
        await g.enroll('Ana', [{ descriptor: faces.photo(good) }]);
        await assert.rejects(g.identify([withValue(Number.NaN)]), invalid('descriptors[0]'));
        await assert.rejects(g.identify([withValue(Number.POSITIVE_INFINITY)]), invalid('descriptors[0]'));
        await assert.rejects(g.identify(null as never), invalid('descriptors'));
        assert.equal((await g.identify([faces.photo(good)]))[0].person, 'Ana');
      } finally {
        await g.close();
      }
    });
  }

  test('enroll with wrong field types is INVALID_ARGUMENT naming the field, not INTERNAL', async () => {
    const g = await openGallery({ path: join(dir, 'types.db') });
    try {
      const d = faces.photo(good);
      const cases: [Record<string, unknown>, string][] = [
        [{ descriptor: d, box: null }, 'requests[0].faces[0].box'],
        [{ descriptor: d, box: 'x' }, 'requests[0].faces[0].box'],
        [{ descriptor: d, box: { x: '1', y: 0, width: 1, height: 1 } }, 'requests[0].faces[0].box'],
        [{ descriptor: d, sourceFile: 5 }, 'requests[0].faces[0].sourceFile'],
        [{ descriptor: d, contentHash: 5 }, 'requests[0].faces[0].contentHash'],
        [{ descriptor: d, score: 'high' }, 'requests[0].faces[0].score'],
        [{ descriptor: d, quality: Number.NaN }, 'requests[0].faces[0].quality'],
        [{ descriptor: [1, 2, 3] }, 'requests[0].faces[0].descriptor'],
      ];
      for (const [face, field] of cases) await assert.rejects(g.enroll('Bo', [face as never]), invalid(field));
      assert.equal(g.size, 0);
    } finally {
      await g.close();
    }
  });
});

describe('kit entries', () => {
  const kit = createFaceKit({ threads: 1 });
  after(() => kit.dispose());

  test("createFaceKit(null), ('tiny'), ([]) are refused", () => {
    for (const options of [null, 'tiny', [], 3])
      assert.throws(() => createFaceKit(options as never), invalid('options'));
  });

  test('encode(image, null) and landmarks(image, "x") are refused before any model loads', async () => {
    await assert.rejects(kit.encode(image, null as never), invalid('faces'));
    await assert.rejects(kit.encode(image, [null] as never), invalid('faces[0]'));
    await assert.rejects(kit.landmarks(image, 'x' as never), invalid('detections'));
    await assert.rejects(kit.landmarks(image, [{}] as never), invalid('detections[0]'));
    await assert.rejects(kit.landmarks5(image, 'x' as never), invalid('detections'));
  });

  test('encode refuses landmarks that span far more than the image', async () => {
    const huge = five.map((p) => ({ x: p.x * 1e5, y: p.y * 1e5 }));
    await assert.rejects(kit.encode(image, [{ landmarks5: huge }]), invalid('faces[0].landmarks5'));
  });
});

describe('alignFace', () => {
  test(`landmarks spanning more than ${MAX_LANDMARK_SPREAD} image diagonals are refused; a face past the border is not`, () => {
    for (const k of [1e3, 1e5, 1e12]) {
      const spread = five.map((p) => ({ x: p.x * k, y: p.y * k }));
      assert.throws(() => alignFace(image, spread), invalid('landmarks'));
    }
    // Twice the photo: a close-up cut by the border.
    const close = five.map((p) => ({ x: (p.x - 30) * 4 + 32, y: (p.y - 30) * 4 + 24 }));
    assert.equal(alignFace(image, close).size, 150);
  });

  test('NaN points and non-arrays are refused', () => {
    assert.throws(() => alignFace(image, null as never), invalid('landmarks'));
    assert.throws(
      () =>
        alignFace(
          image,
          five.map((p, i) => (i === 2 ? { x: Number.NaN, y: 1 } : p)),
        ),
      invalid('landmarks[2]'),
    );
  });

  test('a chip whose source block is far larger than the image samples only the image (returns)', () => {
    // Chip → image at 10^5 source pixels per chip pixel: before, the box filter visited every pixel of a 1.5e7-px square.
    const s = 1e5;
    const chip = warpChip(image, [s, 0, -75 * s, 0, s, -75 * s], 150);
    assert.equal(chip.length, 150 * 150 * 3);
  });
});
