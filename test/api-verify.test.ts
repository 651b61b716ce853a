/** verify(a, b) from the public API: photos (their largest face) or descriptors, default or calibrated threshold. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disposeSharedKits, FaceKitError, faceEncodings, loadImage, openGallery, verify } from '../src/index.js';
import { Faces } from './helpers/descriptors.js';
import { blankJpeg, isolatedCacheDir, scaledSample } from './helpers/photos.js';

isolatedCacheDir();
const root = mkdtempSync(join(tmpdir(), 'facekit-verify-'));
after(async () => {
  await disposeSharedKits();
  rmSync(root, { recursive: true, force: true });
});
const code = (c: string) => (e: unknown) => e instanceof FaceKitError && e.code === c;

test('verify: one person at two sizes is the same, a different face is not; the threshold used is reported', async () => {
  const small = await loadImage(await scaledSample(2, 640));
  const large = await loadImage(await scaledSample(2, 900));
  const v = await verify(small, large);
  assert.deepEqual([v.same, v.threshold, v.thresholdSource, v.confidence], [true, 0.6, 'default', null]);
  assert.ok(v.distance < 0.3);
  const [mine] = await faceEncodings(small);
  const other = Float32Array.from(mine, (x, i) => x + (i % 2 === 0 ? 0.08 : -0.08));
  const d = await verify(small, other, { threshold: 0.5 });
  assert.deepEqual([d.same, d.thresholdSource], [false, 'option']);
  await assert.rejects(
    verify(small, await loadImage(await blankJpeg())),
    (e: unknown) => code('NO_FACE')(e) && (e as FaceKitError).field === 'b',
  );
  await assert.rejects(verify(mine, other, { threshold: 0 }), code('INVALID_ARGUMENT'));
  await assert.rejects(verify(mine, new Float32Array(3)), code('INVALID_ARGUMENT'));
});

test('verify with a gallery uses its calibrated pair threshold and gives a confidence', async () => {
  const g = await openGallery({ path: join(root, 'g.db') });
  try {
    const f = new Faces(51);
    await g.enrollMany(f.people(60, 2));
    const [c] = await g.calibrate({ far: 0.01 });
    const a = f.person();
    const v = await verify(f.photo(a), f.photo(a), { gallery: g });
    assert.deepEqual([v.same, v.threshold, v.thresholdSource, v.far], [true, c.pairThreshold, 'calibration', 0.01]);
    assert.ok(v.confidence !== null && v.confidence > 0.99);
    await assert.rejects(verify(a, a, { gallery: g, far: 0.5 }), code('INVALID_ARGUMENT'));
    await assert.rejects(verify(a, a, { gallery: g, far: 0.02 }), code('CALIBRATION_NOT_FOUND'));
    // A rate without a gallery names no calibration: refused, not silently answered at 0.6.
    await assert.rejects(
      verify(a, a, { far: 0.01 }),
      (e: unknown) => code('INVALID_ARGUMENT')(e) && (e as FaceKitError).field === 'far',
    );
    await assert.rejects(verify(a, a, { far: 0.01, threshold: 0.5 }), code('INVALID_ARGUMENT'));
  } finally {
    await g.close();
  }
});
