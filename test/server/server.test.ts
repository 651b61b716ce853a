import { DETECTOR_NAMES } from '../../src/detect/registry.js';
/**
 * facekit serve: recognition routes, every way a photo can come, options, auth and roles, limits
 * (body, pixels, faces, queue, timeout), errors, health, metrics, OpenAPI and the docs page.
 * Photos are face-api's demo samples.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FaceKitError } from '../../src/errors.js';
import { openGallery } from '../../src/gallery/gallery.js';
import { loadImage } from '../../src/image/decode.js';
import { defaultCacheDir } from '../../src/models/cache.js';
import { createFaceKit } from '../../src/pipeline/kit.js';
import { createService } from '../../src/server/index.js';
import { exportTuned } from '../../src/train/export.js';
import { stockTail } from '../../src/train/network.js';
import { tempDir } from '../helpers/temp.js';
import { blankJpeg, isolatedCacheDir } from '../helpers/photos.js';
import { jpegHeaders, multipart, sample, startService, type TestService } from './helpers.js';

isolatedCacheDir();

let s: TestService;
before(async () => {
  s = await startService({ cors: 'https://app.example' });
});
after(() => s.service.close());

const errorCode = (r: { json(): unknown }): string => (r.json() as { error: { code: string } }).error.code;

describe('recognition', () => {
  test('detect: raw body, base64 JSON and multipart give the same faces', async () => {
    const raw = await s.call('POST', '/v1/detect', { headers: jpegHeaders, payload: sample(1), key: s.recognize });
    assert.equal(raw.statusCode, 200);
    const body = raw.json();
    assert.equal(body.width, 1920);
    assert.ok(body.faces.length >= 2);
    for (const f of body.faces) assert.ok(f.score > 0.5 && f.box.width > 0 && f.descriptor === undefined);
    const json = await s.call('POST', '/v1/detect', { payload: { image: sample(1).toString('base64') } });
    assert.deepEqual(json.json(), body);
    const dataUrl = await s.call('POST', '/v1/detect', {
      payload: { image: `data:image/jpeg;base64,${sample(1).toString('base64')}` },
    });
    assert.deepEqual(dataUrl.json(), body);
    const form = await multipart({ image: sample(1) });
    const mp = await s.call('POST', '/v1/detect', form);
    assert.equal(mp.statusCode, 200);
    assert.deepEqual(mp.json(), body);
  });

  test('detect: per-request options (detector, maxFaces, minConfidence), MTCNN gives five points', async () => {
    const one = await s.call('POST', '/v1/detect?maxFaces=1', { headers: jpegHeaders, payload: sample(1) });
    assert.equal(one.json().faces.length, 1);
    const mtcnn = await s.call('POST', '/v1/detect', {
      payload: { image: sample(2).toString('base64'), detector: 'mtcnn' },
    });
    assert.equal(mtcnn.statusCode, 200);
    assert.ok(mtcnn.json().faces.length >= 1);
    assert.equal(mtcnn.json().faces[0].landmarks5.length, 5);
    const strict = await s.call('POST', '/v1/detect?detector=tiny&minConfidence=0.99', {
      headers: jpegHeaders,
      payload: sample(1),
    });
    const loose = await s.call('POST', '/v1/detect?detector=tiny&minConfidence=0.3', {
      headers: jpegHeaders,
      payload: sample(1),
    });
    assert.ok(strict.json().faces.length < loose.json().faces.length);
  });

  test('encode: 68 landmarks and a 128-d descriptor per face', async () => {
    const r = await s.call('POST', '/v1/encode', { headers: jpegHeaders, payload: sample(2), key: s.recognize });
    assert.equal(r.statusCode, 200);
    for (const f of r.json().faces) {
      assert.equal(f.landmarks.length, 68);
      assert.equal(f.descriptor.length, 128);
    }
  });

  test('verify: photo against itself is the same person; two descriptors; a photo without a face is NO_FACE', async () => {
    const a = sample(3).toString('base64');
    const same = await s.call('POST', '/v1/verify', { payload: { a: { image: a }, b: { image: a } } });
    assert.equal(same.statusCode, 200);
    assert.equal(same.json().same, true);
    assert.equal(same.json().distance, 0);
    assert.equal(same.json().thresholdSource, 'builtin');
    const enc = (await s.call('POST', '/v1/encode', { headers: jpegHeaders, payload: sample(1) })).json();
    const [d0, d1] = enc.faces.map((f: { descriptor: number[] }) => f.descriptor);
    const pair = await s.call('POST', '/v1/verify', {
      payload: { a: { descriptor: d0 }, b: { descriptor: d1 }, threshold: 0.3 },
    });
    assert.equal(pair.json().same, false);
    assert.equal(pair.json().threshold, 0.3);
    assert.equal(pair.json().thresholdSource, 'option');
    const form = await multipart({ a: sample(3), b: await blankJpeg() });
    const none = await s.call('POST', '/v1/verify', form);
    assert.equal(none.statusCode, 422);
    assert.equal(errorCode(none), 'NO_FACE');
    const both = await s.call('POST', '/v1/verify', {
      payload: { a: { image: a, descriptor: d0 }, b: { descriptor: d1 } },
    });
    assert.equal(both.statusCode, 400);
  });

  test('identify: an empty gallery is GALLERY_EMPTY (409); descriptors need no photo', async () => {
    const r = await s.call('POST', '/v1/identify', { headers: jpegHeaders, payload: sample(1), key: s.recognize });
    assert.equal(r.statusCode, 409);
    assert.equal(errorCode(r), 'GALLERY_EMPTY');
    const enc = (await s.call('POST', '/v1/encode', { headers: jpegHeaders, payload: sample(1) })).json();
    const enrolled = await s.call('POST', '/v1/people', {
      payload: { name: 'First', descriptors: [enc.faces[0].descriptor] },
    });
    assert.equal(enrolled.statusCode, 201);
    const byPhoto = await s.call('POST', '/v1/identify', {
      headers: jpegHeaders,
      payload: sample(1),
      key: s.recognize,
    });
    assert.equal(byPhoto.statusCode, 200);
    const faces = byPhoto.json().faces;
    assert.equal(faces.length, enc.faces.length);
    assert.equal(faces[0].person, 'First');
    assert.ok(faces[0].distance < 1e-4);
    assert.ok(faces[0].box.width > 0);
    const byDescriptor = await s.call('POST', '/v1/identify', {
      payload: { descriptors: [enc.faces[0].descriptor, enc.faces[1].descriptor], threshold: 0.5 },
      key: s.recognize,
    });
    assert.equal(byDescriptor.statusCode, 200);
    assert.equal(byDescriptor.json().faces[0].person, 'First');
    assert.equal(byDescriptor.json().faces[1].person, null);
    assert.equal(byDescriptor.json().faces[1].nearest, 'First');
    const wrongLength = await s.call('POST', '/v1/identify', { payload: { descriptors: [[0.1, 0.2]] } });
    assert.equal(wrongLength.statusCode, 400);
    assert.equal(errorCode(wrongLength), 'MODEL_MISMATCH');
  });
});

describe('bad requests', () => {
  test('not an image, truncated image, empty body, bad base64', async () => {
    const text = await s.call('POST', '/v1/detect', {
      headers: jpegHeaders,
      payload: Buffer.from('hello, not a photo'),
    });
    assert.equal(text.statusCode, 415);
    assert.equal(errorCode(text), 'NOT_AN_IMAGE');
    const truncated = await s.call('POST', '/v1/detect', {
      headers: jpegHeaders,
      payload: sample(1).subarray(0, 5000),
    });
    assert.equal(truncated.statusCode, 400);
    assert.equal(errorCode(truncated), 'CORRUPT_IMAGE');
    const empty = await s.call('POST', '/v1/detect', { payload: {} });
    assert.equal(empty.statusCode, 400);
    assert.equal(errorCode(empty), 'INVALID_ARGUMENT');
    const b64 = await s.call('POST', '/v1/detect', { payload: { image: '!!not base64!!' } });
    assert.equal(b64.statusCode, 400);
    assert.match(b64.json().error.message, /image.*base64/);
  });

  test('bad JSON, unknown fields, out-of-range options, wrong media type, unknown route', async () => {
    const bad = await s.call('POST', '/v1/identify', {
      headers: { 'content-type': 'application/json' },
      payload: '{"image": ',
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(errorCode(bad), 'INVALID_ARGUMENT');
    assert.match(bad.json().error.message, /JSON/);
    const unknown = await s.call('POST', '/v1/detect', { payload: { image: 'AAAA', treshold: 1 } });
    assert.equal(unknown.statusCode, 400);
    assert.equal(unknown.json().error.field, 'treshold');
    const range = await s.call('POST', '/v1/detect?minConfidence=1.5', { headers: jpegHeaders, payload: sample(1) });
    assert.equal(range.statusCode, 400);
    assert.equal(range.json().error.field, 'minConfidence');
    const detector = await s.call('POST', '/v1/detect?detector=yolo', { headers: jpegHeaders, payload: sample(1) });
    assert.equal(detector.statusCode, 400);
    const media = await s.call('POST', '/v1/detect', { headers: { 'content-type': 'text/plain' }, payload: 'hi' });
    assert.equal(media.statusCode, 415);
    assert.equal(errorCode(media), 'UNSUPPORTED_MEDIA_TYPE');
    const rawVerify = await s.call('POST', '/v1/verify', { headers: jpegHeaders, payload: sample(1) });
    assert.equal(rawVerify.statusCode, 415);
    const route = await s.call('GET', '/v1/nothing');
    assert.equal(route.statusCode, 404);
    assert.equal(errorCode(route), 'NOT_FOUND');
    const tooMany = await s.call('POST', '/v1/detect?maxFaces=500', { headers: jpegHeaders, payload: sample(1) });
    assert.equal(tooMany.statusCode, 400);
    assert.equal(tooMany.json().error.field, 'maxFaces');
  });
});

describe('auth', () => {
  test('no key, unknown key, malformed header: 401; health checks and the docs page need none', async () => {
    const keys: Record<string, string>[] = [
      {},
      { authorization: 'Bearer fk_nope' },
      { authorization: 'Basic abc' },
      { 'x-api-key': ' ' },
    ];
    for (const key of keys) {
      const r = await s.call('GET', '/v1/people', { key });
      assert.equal(r.statusCode, 401, JSON.stringify(key));
      assert.equal(errorCode(r), 'UNAUTHENTICATED');
    }
    for (const url of ['/v1/people', '/metrics', '/openapi.json'])
      assert.equal((await s.call('GET', url, { key: {} })).statusCode, 401);
    assert.equal(
      (await s.call('POST', '/v1/detect', { key: {}, headers: jpegHeaders, payload: sample(1) })).statusCode,
      401,
    );
    assert.equal((await s.call('GET', '/healthz', { key: {} })).statusCode, 200);
    assert.equal((await s.call('GET', '/readyz', { key: {} })).json().ready, true);
    assert.equal((await s.call('GET', '/docs', { key: {} })).statusCode, 200);
  });

  test('a recognize key may recognise and read but not write or manage keys (403)', async () => {
    const writes: [string, string, unknown][] = [
      ['POST', '/v1/people', { name: 'X', descriptors: [[1]] }],
      ['PATCH', '/v1/people/1', { name: 'Y' }],
      ['DELETE', '/v1/people/1', undefined],
      ['POST', '/v1/people/1/faces', { descriptors: [[1]] }],
      ['DELETE', '/v1/faces/1', undefined],
      ['POST', '/v1/calibrate', { far: 0.01 }],
      ['GET', '/v1/keys', undefined],
      ['POST', '/v1/keys', { role: 'admin' }],
    ];
    for (const [method, url, payload] of writes) {
      const r = await s.call(method, url, { key: s.recognize, payload });
      assert.equal(r.statusCode, 403, `${method} ${url}`);
      assert.equal(errorCode(r), 'FORBIDDEN');
    }
  });

  test('a revoked key stops working at once', async () => {
    const made = await s.call('POST', '/v1/keys', { payload: { role: 'recognize', name: 'short-lived' } });
    assert.equal(made.statusCode, 201);
    const { key, record } = made.json();
    assert.match(key, /^fk_/);
    const headers = { authorization: `Bearer ${key}` };
    assert.equal((await s.call('GET', '/v1/people', { key: headers })).statusCode, 200);
    const revoked = await s.call('DELETE', `/v1/keys/${record.id}`);
    assert.ok(revoked.json().revokedAt);
    assert.equal((await s.call('GET', '/v1/people', { key: headers })).statusCode, 401);
    const listed = (await s.call('GET', '/v1/keys')).json().keys;
    assert.ok(listed.every((k: Record<string, unknown>) => k.hash === undefined && typeof k.shown === 'string'));
    assert.equal((await s.call('DELETE', '/v1/keys/9999')).statusCode, 404);
  });

  test('CORS: only the configured origin is allowed, preflight answers without a key', async () => {
    const ok = await s.call('GET', '/healthz', { headers: { origin: 'https://app.example' } });
    assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example');
    const other = await s.call('GET', '/healthz', { headers: { origin: 'https://evil.example' } });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    const pre = await s.call('OPTIONS', '/v1/identify', {
      key: {},
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.statusCode, 204);
    assert.match(String(pre.headers['access-control-allow-headers']), /authorization/);
  });
});

describe('metrics and OpenAPI', () => {
  test('Prometheus text: requests by route, latency histogram, queue depth, stage times, gallery size', async () => {
    const r = await s.call('GET', '/metrics', { key: s.recognize });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    const text = r.body;
    assert.match(text, /facekit_http_requests_total\{route="\/v1\/detect",method="POST",status="200"\} \d+/);
    assert.match(
      text,
      /facekit_http_request_duration_seconds_bucket\{route="\/v1\/detect",method="POST",le="\+Inf"\} \d+/,
    );
    assert.match(text, /facekit_inference_queue_depth 0/);
    assert.match(text, /facekit_inference_stage_seconds_count\{stage="detect"\} [1-9]/);
    assert.match(text, /facekit_inference_stage_seconds_count\{stage="search"\} [1-9]/);
    assert.match(text, /facekit_gallery_faces [1-9]/);
    for (const line of text.trim().split('\n'))
      assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? [\d.e+-]+)$/, line);
  });

  test('/openapi.json lists every route with the schemas that validate it', async () => {
    const doc = (await s.call('GET', '/openapi.json', { key: s.recognize })).json();
    assert.equal(doc.openapi, '3.0.3');
    const ops = Object.entries(doc.paths).flatMap(([path, o]) =>
      Object.keys(o as object).map((m) => `${m.toUpperCase()} ${path}`),
    );
    for (const op of [
      'POST /v1/detect',
      'POST /v1/encode',
      'POST /v1/verify',
      'POST /v1/identify',
      'POST /v1/index/search',
      'GET /v1/people',
      'POST /v1/people',
      'GET /v1/people/{id}',
      'PATCH /v1/people/{id}',
      'DELETE /v1/people/{id}',
      'POST /v1/people/{id}/faces',
      'GET /v1/faces/{id}',
      'DELETE /v1/faces/{id}',
      'GET /v1/faces/{id}/thumbnail',
      'POST /v1/cluster',
      'POST /v1/calibrate',
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /openapi.json',
    ])
      assert.ok(ops.includes(op), op);
    const detect = doc.paths['/v1/detect'].post;
    assert.deepEqual(Object.keys(detect.requestBody.content).sort(), [
      'application/json',
      'application/octet-stream',
      'image/*',
      'multipart/form-data',
    ]);
    assert.equal(detect.requestBody.content['multipart/form-data'].schema.properties.image.format, 'binary');
    assert.deepEqual(detect.requestBody.content['application/json'].schema.properties.detector.enum, [
      ...DETECTOR_NAMES,
    ]);
    assert.ok(detect.responses['401'] && detect.responses['503']);
    assert.deepEqual(doc.paths['/healthz'].get.security, []);
  });
});

describe('limits', () => {
  let tight: TestService;
  before(async () => {
    tight = await startService({
      limits: { workers: 1, queue: 0, maxPixels: 1_000_000, maxBodyBytes: 200_000, maxFaces: 2, maxImages: 2 },
    });
  });
  after(() => tight.service.close());

  test('body over the limit: 413 for raw, JSON and multipart', async () => {
    const big = Buffer.concat([sample(6), sample(6)]);
    const raw = await tight.call('POST', '/v1/detect', { headers: jpegHeaders, payload: big });
    assert.equal(raw.statusCode, 413);
    assert.equal(errorCode(raw), 'PAYLOAD_TOO_LARGE');
    const json = await tight.call('POST', '/v1/detect', { payload: { image: sample(6).toString('base64') } });
    assert.equal(json.statusCode, 413);
    const form = await multipart({ image: big });
    const mp = await tight.call('POST', '/v1/detect', form);
    assert.equal(mp.statusCode, 413);
    const three = await multipart({
      name: 'A',
      image: [sample(1).subarray(0, 100), sample(1).subarray(0, 100), sample(1).subarray(0, 100)],
    });
    assert.equal((await tight.call('POST', '/v1/people', three)).statusCode, 413);
  });

  test('photo over the pixel limit: IMAGE_TOO_LARGE (413) before decoding; faces capped at the limit', async () => {
    const r = await tight.call('POST', '/v1/detect', { headers: jpegHeaders, payload: sample(1) });
    assert.equal(r.statusCode, 413);
    assert.equal(errorCode(r), 'IMAGE_TOO_LARGE');
    const sharp = (await import('sharp')).default;
    const small = await sharp(sample(1)).resize({ width: 1000 }).jpeg().toBuffer();
    const ok = await tight.call('POST', '/v1/detect', { headers: jpegHeaders, payload: small });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().faces.length, 2);
  });

  test('queue full: 503 BUSY with Retry-After, never a backlog', async () => {
    const sharp = (await import('sharp')).default;
    const small = await sharp(sample(2)).resize({ width: 900 }).jpeg().toBuffer();
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => tight.call('POST', '/v1/encode', { headers: jpegHeaders, payload: small })),
    );
    const codes = answers.map((a) => a.statusCode);
    assert.ok(codes.includes(200), String(codes));
    const busy = answers.filter((a) => a.statusCode === 503);
    assert.ok(busy.length >= 1, String(codes));
    for (const b of busy) {
      assert.equal(errorCode(b), 'BUSY');
      assert.ok(Number(b.headers['retry-after']) >= 1);
    }
    assert.match((await tight.call('GET', '/metrics')).body, /facekit_inference_rejected_total [1-9]/);
  });

  test('queue wait: with room in the queue, a photo that would wait past queueWait analyses is refused', async () => {
    const strict = await startService({ limits: { workers: 1, queue: 4, queueWait: 0, refusalDelayMs: 300 } });
    try {
      const sent = performance.now();
      const answers = await Promise.all(
        Array.from({ length: 3 }, async () => {
          const r = await strict.call('POST', '/v1/encode', { headers: jpegHeaders, payload: sample(2) });
          return Object.assign(r, { ms: performance.now() - sent });
        }),
      );
      const codes = answers.map((a) => a.statusCode).sort();
      // Refusals are held refusalDelayMs before they are sent (a client retrying at once cannot flood).
      for (const b of answers.filter((a) => a.statusCode === 503)) assert.ok(b.ms >= 295, `answered after ${b.ms} ms`);
      // The first photo goes to the idle worker; the others would wait for it: refused, though 4 may queue.
      assert.deepEqual(codes, [200, 503, 503]);
      for (const b of answers.filter((a) => a.statusCode === 503)) {
        assert.equal(errorCode(b), 'BUSY');
        assert.match(b.json().error.message, /0 of 4 photos waiting, or a wait longer than 0 of an analysis/);
      }
    } finally {
      await strict.service.close();
    }
    for (const bad of [{ queueWait: -1 }, { queueWait: Number.NaN }, { refusalDelayMs: -5 }, { refusalDelayMs: 1.5 }])
      await assert.rejects(createService({ db: join(tempDir('facekit-serve-'), 'x.db'), limits: bad }), {
        code: 'INVALID_ARGUMENT',
        field: Object.keys(bad)[0],
      });
  });

  test('a request past its time limit is TIMEOUT (503)', async () => {
    const slow = await startService({ limits: { workers: 1, timeoutMs: 1 } });
    try {
      const r = await slow.call('POST', '/v1/encode', { headers: jpegHeaders, payload: sample(1) });
      assert.equal(r.statusCode, 503);
      assert.equal(errorCode(r), 'TIMEOUT');
    } finally {
      await slow.service.close();
    }
  });
});

describe('embedder (a tuned one from facekit train)', () => {
  /** A small exported model: the stock last layer, scaled per output, so its descriptors differ from stock ones. */
  async function exportSmallTuned(name: string): Promise<void> {
    const stock = await stockTail();
    const fc = Float32Array.from(stock.fc, (v, i) => v * (1 + 0.3 * Math.sin(i)));
    await exportTuned(name, { fc, bias: stock.bias }, { modelsDir: defaultCacheDir(), threshold: 0.55, training: {} });
  }

  test('serve with embedder: its descriptors, its model id in the gallery; other galleries and names refused', async () => {
    await exportSmallTuned('serve-tuned');
    const tuned = await startService({ embedder: 'serve-tuned' });
    let tunedDb: string;
    try {
      tunedDb = tuned.db;
      assert.equal((await tuned.call('GET', '/readyz', { key: {} })).json().embedder, 'dlib128+serve-tuned');
      const r = await tuned.call('POST', '/v1/encode', {
        headers: jpegHeaders,
        payload: sample(2),
        key: tuned.recognize,
      });
      assert.equal(r.statusCode, 200);
      const served = r.json().faces[0].descriptor as number[];
      // The same photo through a library kit with the same embedder: the very same descriptor.
      const kit = createFaceKit({ embedder: 'serve-tuned', retryOnMiss: false, threads: 1 });
      const [local] = await kit.analyze(await loadImage(sample(2)));
      await kit.dispose();
      assert.equal(local.modelId, 'dlib128+serve-tuned');
      assert.ok(Math.max(...served.map((v, i) => Math.abs(v - local.descriptor[i]))) < 1e-5);
      // ...and not the stock embedder's (s serves dlib128).
      const stock = (await s.call('POST', '/v1/encode', { headers: jpegHeaders, payload: sample(2) })).json();
      assert.ok(Math.abs(stock.faces[0].descriptor[0] - served[0]) > 1e-4);
      // Enrolled through this service, the gallery records the tuned model id; identify finds the person.
      const enrolled = await tuned.call('POST', '/v1/people', { payload: { name: 'Tuned', descriptors: [served] } });
      assert.equal(enrolled.statusCode, 201);
      const found = await tuned.call('POST', '/v1/identify', { headers: jpegHeaders, payload: sample(2) });
      const match = found.json().faces[0];
      assert.equal(match.person, 'Tuned');
      assert.ok(match.distance < 1e-5, `distance ${match.distance}`);
      // Its threshold is the tuned embedder's own (exported with 0.55), not dlib128's built-in table.
      assert.equal(match.threshold, 0.55);
    } finally {
      await tuned.service.close();
    }
    // The stock embedder on that gallery: refused at start, naming the embedder to use.
    await assert.rejects(createService({ db: tunedDb, limits: { workers: 1 } }), (e: FaceKitError) => {
      assert.equal(e.code, 'MODEL_MISMATCH');
      assert.match(e.message, /dlib128\+serve-tuned.*--embedder serve-tuned/);
      return true;
    });
    // The tuned embedder on a stock gallery (s's, which holds dlib128 descriptors once enrolled into).
    const stockDb = join(tempDir('facekit-serve-'), 'stock.db');
    const g = await openGallery({ path: stockDb });
    await g.enroll('Stock', [{ descriptor: new Float32Array(128).fill(0.05) }]);
    await g.close();
    await assert.rejects(createService({ db: stockDb, embedder: 'serve-tuned', limits: { workers: 1 } }), {
      code: 'MODEL_MISMATCH',
    });
    await assert.rejects(
      createService({ db: stockDb, embedder: 'nobody', limits: { workers: 1 } }),
      (e: FaceKitError) => {
        assert.equal(e.code, 'INVALID_ARGUMENT');
        assert.equal(e.field, 'embedder');
        assert.match(e.message, /unknown embedder "nobody".*'serve-tuned'/);
        return true;
      },
    );
  });
});
