/**
 * Issue 14: what `facekit serve` gives browsers: the models facekit/browser fetches (index with
 * hashes, the .onnx bytes), the web app with cross-origin isolation, and the merge route the
 * People page uses.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WEBAPP_DIR } from '../../src/server/routes/webapp.js';
import { isolatedCacheDir } from '../helpers/photos.js';
import { multipart, sample, startService, type TestService } from './helpers.js';

const cacheDir = isolatedCacheDir();

let s: TestService;
before(async () => {
  s = await startService({ detector: 'tiny' });
});
after(() => s.service.close());

const errorCode = (r: { json(): unknown }): string => (r.json() as { error: { code: string } }).error.code;

test('GET /models/index.json lists each browser model with the hash and size of the bytes /models/<id>.onnx serves', async () => {
  const index = await s.call('GET', '/models/index.json', { key: {} });
  assert.equal(index.statusCode, 200);
  assert.equal(index.headers['cross-origin-embedder-policy'], 'credentialless');
  const models = index.json() as Record<string, { sha256: string; bytes: number }>;
  assert.ok(models.tiny_face_detector && models.dlib_resnet128 && models.mtcnn_pnet && models.face_landmark_68);
  const file = await s.call('GET', '/models/tiny_face_detector.onnx', { key: {} });
  assert.equal(file.statusCode, 200);
  assert.equal(file.rawPayload.length, models.tiny_face_detector.bytes);
  assert.equal(createHash('sha256').update(file.rawPayload).digest('hex'), models.tiny_face_detector.sha256);
  assert.equal(file.headers.etag, `"${models.tiny_face_detector.sha256}"`);
});

test('GET /models/index.json builds no int8 model: it lists one once built, and its first GET /models/<id>.onnx builds it', async () => {
  const before = (await s.call('GET', '/models/index.json', { key: {} })).json() as Record<string, unknown>;
  assert.deepEqual(before.dlib_resnet128_int8, { onRequest: true });
  assert.deepEqual(before.ssd_mobilenetv1_int8, { onRequest: true });
  assert.ok(!readdirSync(cacheDir).some((f) => f.includes('int8')), 'the index built no int8 model');
  const file = await s.call('GET', '/models/dlib_resnet128_int8.onnx', { key: {} });
  assert.equal(file.statusCode, 200);
  const sha256 = createHash('sha256').update(file.rawPayload).digest('hex');
  assert.equal(file.headers.etag, `"${sha256}"`);
  const after = (await s.call('GET', '/models/index.json', { key: {} })).json() as Record<string, unknown>;
  assert.deepEqual(after.dlib_resnet128_int8, { sha256, bytes: file.rawPayload.length });
  assert.deepEqual(after.ssd_mobilenetv1_int8, { onRequest: true });
});

test('GET /models/<file> refuses what is not a browser model, naming the file', async () => {
  const mmod = await s.call('GET', '/models/mmod_face_detector.onnx', { key: {} });
  assert.equal(mmod.statusCode, 404);
  assert.match(mmod.json().error.message, /no browser model mmod_face_detector/);
  const odd = await s.call('GET', '/models/..%2Fpackage.json', { key: {} });
  assert.equal(odd.statusCode, 400);
});

test("GET /models/embedders/<name>.json|.onnx serves a trained embedder's files from the models folder; others are refused", async () => {
  const dir = join(cacheDir, 'embedders');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'pets.json'), '{"format":1}');
  writeFileSync(join(dir, 'pets.onnx'), Buffer.from([1, 2, 3]));
  const spec = await s.call('GET', '/models/embedders/pets.json', { key: {} });
  assert.equal(spec.statusCode, 200);
  assert.deepEqual(spec.json(), { format: 1 });
  const onnx = await s.call('GET', '/models/embedders/pets.onnx', { key: {} });
  assert.equal(onnx.statusCode, 200);
  assert.deepEqual([...onnx.rawPayload], [1, 2, 3]);
  assert.equal(onnx.headers['cross-origin-embedder-policy'], 'credentialless');
  const missing = await s.call('GET', '/models/embedders/cats.onnx', { key: {} });
  assert.equal(missing.statusCode, 404);
  assert.match(missing.json().error.message, /no tuned embedder cats/);
  for (const bad of ['..%2Fpets.json', 'pets.txt', '-x.json'])
    assert.equal((await s.call('GET', `/models/embedders/${bad}`, { key: {} })).statusCode, 400, bad);
});

test('GET / serves the web app isolated (COOP/COEP), or says how to build it; assets cannot escape the app folder', async () => {
  const page = await s.call('GET', '/', { key: {} });
  if (existsSync(join(WEBAPP_DIR, 'index.html'))) {
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /facekit/);
    assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
  } else {
    assert.equal(page.statusCode, 404);
    assert.match(page.json().error.message, /npm run build/);
  }
  const outside = await s.call('GET', '/app/..%2F..%2Fpackage.json', { key: {} });
  assert.equal(outside.statusCode, 404);
  const missing = await s.call('GET', '/app/nothing.js', { key: {} });
  assert.equal(missing.statusCode, 404);
});

test('POST /v1/people/:id/merge moves the faces and removes the person; bad targets are refused', async () => {
  const a = (
    await s.call('POST', '/v1/people', await multipart({ name: 'A', largest: 'true', image: [sample(1)] }))
  ).json();
  const b = (
    await s.call('POST', '/v1/people', await multipart({ name: 'B', largest: 'true', image: [sample(2)] }))
  ).json();
  const self = await s.call('POST', `/v1/people/${a.person.id}/merge`, { payload: { into: a.person.id } });
  assert.equal(self.statusCode, 400);
  assert.equal(errorCode(self), 'INVALID_ARGUMENT');
  const nobody = await s.call('POST', `/v1/people/${a.person.id}/merge`, { payload: { into: 99999 } });
  assert.equal(nobody.statusCode, 404);
  assert.equal(errorCode(nobody), 'PERSON_NOT_FOUND');
  const noInto = await s.call('POST', `/v1/people/${a.person.id}/merge`, { payload: {} });
  assert.equal(noInto.statusCode, 400);
  const asReader = await s.call('POST', `/v1/people/${a.person.id}/merge`, {
    payload: { into: b.person.id },
    key: s.recognize,
  });
  assert.equal(asReader.statusCode, 403);
  const merged = await s.call('POST', `/v1/people/${a.person.id}/merge`, { payload: { into: b.person.id } });
  assert.equal(merged.statusCode, 200);
  assert.equal(merged.json().name, 'B');
  assert.equal(merged.json().faces, 2);
  assert.equal((await s.call('GET', `/v1/people/${a.person.id}`)).statusCode, 404);
});
