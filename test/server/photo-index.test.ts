/** POST /v1/index/search: the photo index (`facekit index`) searched by photo, descriptor or person, and its failure paths. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { openGallery } from '../../src/gallery/gallery.js';
import { blankJpeg, isolatedCacheDir } from '../helpers/photos.js';
import { jpegHeaders, sample, startService, type TestService } from './helpers.js';

isolatedCacheDir();

let s: TestService;
/** Descriptors of the faces of samples 1 and 4, as the service encodes them. */
const encoded = new Map<number, number[][]>();
before(async () => {
  s = await startService();
  for (const n of [1, 4]) {
    const r = await s.call('POST', '/v1/encode', { headers: jpegHeaders, payload: sample(n) });
    assert.equal(r.statusCode, 200, r.body);
    encoded.set(
      n,
      (r.json().faces as { descriptor: number[] }[]).map((f) => f.descriptor),
    );
  }
  // Indexed and enrolled behind the service's back, as `facekit index` on the same gallery would.
  const g = await openGallery({ path: s.db });
  try {
    await g.indexPhotos(
      [1, 4].map((n) => ({
        sourceFile: `/archive/sample${n}.jpg`,
        contentHash: createHash('sha256').update(sample(n)).digest('hex'),
        faces: (encoded.get(n) as number[][]).map((d, i) => ({
          descriptor: Float32Array.from(d),
          box: { x: i * 10, y: 0, width: 100, height: 100 },
          score: 0.9,
        })),
      })),
    );
    await g.enroll('Fay', [{ descriptor: Float32Array.from((encoded.get(4) as number[][])[0]) }]);
  } finally {
    await g.close();
  }
});
after(() => s.service.close());

const errorCode = (r: { json(): unknown }): string => (r.json() as { error: { code: string } }).error.code;

describe('POST /v1/index/search', () => {
  test('by photo (its largest face), by descriptor and by person: the photo holding the face first, with its box and distance', async () => {
    const byPhoto = await s.call('POST', '/v1/index/search', {
      headers: jpegHeaders,
      payload: sample(1),
      key: s.recognize,
    });
    assert.equal(byPhoto.statusCode, 200, byPhoto.body);
    const doc = byPhoto.json();
    assert.equal(doc.matches[0].file, '/archive/sample1.jpg');
    assert.ok(doc.matches[0].distance < 0.05, String(doc.matches[0].distance));
    assert.ok(doc.queryBox.width > 0);
    assert.equal(doc.photos, 2);
    assert.ok(['builtin', 'default'].includes(doc.thresholdSource));

    const d = (encoded.get(4) as number[][])[1];
    const byDescriptor = await s.call('POST', '/v1/index/search', { payload: { descriptor: d, limit: 1 } });
    assert.equal(byDescriptor.statusCode, 200, byDescriptor.body);
    assert.deepEqual(
      byDescriptor.json().matches.map((m: { file: string; face: number }) => [m.file, m.face]),
      [['/archive/sample4.jpg', 2]],
    );

    const byPerson = await s.call('POST', '/v1/index/search', { payload: { person: 'Fay' } });
    assert.equal(byPerson.statusCode, 200, byPerson.body);
    assert.equal(byPerson.json().matches[0].file, '/archive/sample4.jpg');
    assert.equal(byPerson.json().matches[0].face, 1);
    const strict = await s.call('POST', '/v1/index/search', { payload: { person: 'Fay', threshold: 1e-6 } });
    assert.equal(strict.statusCode, 200, strict.body);
    assert.equal(strict.json().thresholdSource, 'option');
  });

  test('failure paths: nothing or two queries, unknown person, no face, wrong descriptor length, bad limit, no key', async () => {
    const none = await s.call('POST', '/v1/index/search', { payload: {} });
    assert.equal(none.statusCode, 400);
    assert.equal(errorCode(none), 'INVALID_ARGUMENT');
    const two = await s.call('POST', '/v1/index/search', { payload: { person: 'Fay', descriptor: [0.1, 0.2] } });
    assert.equal(two.statusCode, 400);
    const nobody = await s.call('POST', '/v1/index/search', { payload: { person: 'Nobody' } });
    assert.equal(errorCode(nobody), 'PERSON_NOT_FOUND');
    assert.equal(nobody.statusCode, 404);
    const blank = await s.call('POST', '/v1/index/search', { headers: jpegHeaders, payload: await blankJpeg() });
    assert.equal(errorCode(blank), 'NO_FACE');
    const short = await s.call('POST', '/v1/index/search', { payload: { descriptor: [0.1, 0.2, 0.3] } });
    assert.equal(errorCode(short), 'MODEL_MISMATCH');
    const limit = await s.call('POST', '/v1/index/search', { payload: { person: 'Fay', limit: 0 } });
    assert.equal(limit.statusCode, 400);
    const anonymous = await s.call('POST', '/v1/index/search', { payload: { person: 'Fay' }, key: {} });
    assert.equal(anonymous.statusCode, 401);
  });
});
