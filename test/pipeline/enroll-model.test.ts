import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FaceKitError } from '../../src/errors.js';
import { openGallery } from '../../src/gallery/gallery.js';
import type { FileResult } from '../../src/pipeline/batch.js';
import { Enrolment } from '../../src/pipeline/enroll.js';

const root = mkdtempSync(join(tmpdir(), 'facekit-enrol-model-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** One analysed photo with one face whose descriptor came from `modelId`. */
function photo(file: string, modelId: string | undefined): FileResult {
  const descriptor = new Float32Array(128).fill(0.05);
  return {
    ok: true,
    file,
    width: 200,
    height: 200,
    ms: 1,
    faces: [{ box: { x: 50, y: 50, width: 100, height: 100 }, score: 0.99, descriptor, modelId }],
  } as FileResult;
}

test("Enrolment stores a face of the gallery's own model and refuses another model's before storing anything", async () => {
  const gallery = await openGallery({ path: join(root, 'g.db') });
  try {
    assert.equal(gallery.modelId, 'dlib_resnet128');
    const run = new Enrolment(gallery, { largest: true }, [{ name: 'ann', files: ['ann.jpg'] }], new Map());
    run.queue('ann', 'ann.jpg');
    run.take(photo('ann.jpg', 'dlib_resnet128'), 'ann');
    assert.equal(await run.settle(null), null);
    assert.equal(run.reported()[0].added.length, 1);

    const other = new Enrolment(gallery, { largest: true }, [{ name: 'bob', files: ['bob.jpg'] }], new Map());
    other.queue('bob', 'bob.jpg');
    assert.throws(
      () => other.take(photo('bob.jpg', 'tuned_resnet128'), 'bob'),
      (e: unknown) =>
        e instanceof FaceKitError &&
        e.code === 'MODEL_MISMATCH' &&
        /bob\.jpg: a tuned_resnet128 descriptor; this gallery holds dlib_resnet128/.test(e.message),
    );
    assert.equal(await other.settle(null), null);
    assert.deepEqual(other.notEnrolled(), [{ name: 'bob', files: ['bob.jpg'] }], 'nothing of bob stored');
  } finally {
    await gallery.close();
  }
});
