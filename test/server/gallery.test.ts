/**
 * facekit serve's gallery routes: people and faces, thumbnails, clustering, calibration;
 * concurrent enrolment of one person from several clients and shutdown under load, over a real
 * loopback listener.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { openGallery } from '../../src/gallery/gallery.js';
import { blankJpeg, isolatedCacheDir } from '../helpers/photos.js';
import { jpegHeaders, multipart, sample, startService, type TestService } from './helpers.js';

isolatedCacheDir();

let s: TestService;
before(async () => {
  // No wait bound: a photo always queues behind the one being analysed (the client-goes-away test
  // needs one waiting; the wait bound itself is tested in server.test.ts).
  s = await startService({ limits: { workers: 1, queueWait: 1000 } });
});
after(() => s.service.close());

const errorCode = (r: { json(): unknown }): string => (r.json() as { error: { code: string } }).error.code;

/** Each face of a sample photo as its own portrait (JPEG), so that a photo shows one face. */
async function portraits(n: number): Promise<Buffer[]> {
  const faces = (await s.call('POST', '/v1/detect', { headers: jpegHeaders, payload: sample(n) })).json().faces as {
    box: { x: number; y: number; width: number; height: number };
  }[];
  const meta = await sharp(sample(n)).metadata();
  return Promise.all(
    faces.map(({ box }) => {
      const left = Math.max(0, Math.round(box.x - box.width * 0.4));
      const top = Math.max(0, Math.round(box.y - box.height * 0.4));
      const width = Math.min((meta.width as number) - left, Math.round(box.width * 1.8));
      const height = Math.min((meta.height as number) - top, Math.round(box.height * 1.8));
      return sharp(sample(n)).extract({ left, top, width, height }).jpeg().toBuffer();
    }),
  );
}

describe('people and faces', () => {
  let ada: number;
  let faceIds: number[];

  test('POST /people enrols from photos (multipart), one face each; several faces are rejected unless largest', async () => {
    const [p1, p2] = await portraits(3);
    const form = await multipart({ name: 'Ada', metadata: '{"team":"engines"}', image: [p1, sample(1)] });
    const r = await s.call('POST', '/v1/people', form);
    assert.equal(r.statusCode, 201);
    const body = r.json();
    assert.equal(body.created, true);
    assert.equal(body.person.name, 'Ada');
    assert.deepEqual(body.person.metadata, { team: 'engines' });
    assert.equal(body.added.length, 1);
    assert.equal(body.rejected.length, 1);
    assert.equal(body.rejected[0].index, 1);
    assert.equal(body.rejected[0].code, 'MULTIPLE_FACES');
    ada = body.person.id;
    const more = await s.call('POST', `/v1/people/${ada}/faces`, { headers: jpegHeaders, payload: p2 });
    assert.equal(more.statusCode, 200);
    assert.equal(more.json().created, false);
    assert.equal(more.json().person.faces, 2);
    faceIds = [...body.added, ...more.json().added];
    const again = await s.call('POST', `/v1/people/${ada}/faces`, { headers: jpegHeaders, payload: p2 });
    assert.equal(again.json().added.length, 0);
    assert.equal(again.json().duplicates[0].existingFaceId, faceIds[1]);
  });

  test('a photo with no face: NO_FACE (422) and nothing is written', async () => {
    const r = await s.call('POST', '/v1/people', {
      payload: { name: 'Nobody', images: [(await blankJpeg()).toString('base64')] },
    });
    assert.equal(r.statusCode, 422);
    assert.equal(errorCode(r), 'NO_FACE');
    const people = (await s.call('GET', '/v1/people')).json().people;
    assert.ok(!people.some((p: { name: string }) => p.name === 'Nobody'));
    const nothing = await s.call('POST', '/v1/people', { payload: { name: 'Nobody' } });
    assert.equal(nothing.statusCode, 400);
    const badName = await s.call('POST', '/v1/people', {
      payload: { name: '  ', descriptors: [new Array(128).fill(0.1)] },
    });
    assert.equal(badName.statusCode, 400);
    assert.equal(badName.json().error.field, 'name');
  });

  test('GET /people, /people/:id, /faces/:id and the thumbnail', async () => {
    const list = await s.call('GET', '/v1/people', { key: s.recognize });
    assert.ok(list.json().people.some((p: { id: number }) => p.id === ada));
    const one = await s.call('GET', `/v1/people/${ada}`, { key: s.recognize });
    assert.equal(one.statusCode, 200);
    assert.deepEqual(
      one.json().faces.map((f: { id: number }) => f.id),
      faceIds,
    );
    assert.match(one.json().faces[0].sourceFile, /image1\.jpg/);
    const face = await s.call('GET', `/v1/faces/${faceIds[0]}`, { key: s.recognize });
    assert.equal(face.json().person, 'Ada');
    assert.ok(face.json().quality > 0 && face.json().quality <= 1);
    const thumb = await s.call('GET', `/v1/faces/${faceIds[0]}/thumbnail`, { key: s.recognize });
    assert.equal(thumb.statusCode, 200);
    assert.equal(thumb.headers['content-type'], 'image/jpeg');
    const meta = await sharp(thumb.rawPayload).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.ok(Math.max(meta.width as number, meta.height as number) <= 150);
    for (const url of ['/v1/people/9999', '/v1/faces/9999', '/v1/faces/9999/thumbnail']) {
      const r = await s.call('GET', url);
      assert.equal(r.statusCode, 404, url);
    }
    assert.equal((await s.call('GET', '/v1/people/abc')).statusCode, 400);
  });

  test('a face enrolled from a descriptor has no thumbnail (404 saying so)', async () => {
    const r = await s.call('POST', '/v1/people', {
      payload: { name: 'Vector', descriptors: [new Array(128).fill(0.05)] },
    });
    const id = r.json().added[0];
    const thumb = await s.call('GET', `/v1/faces/${id}/thumbnail`);
    assert.equal(thumb.statusCode, 404);
    assert.match(thumb.json().error.message, /no thumbnail/);
  });

  test('PATCH renames and changes metadata; a taken name is PERSON_EXISTS (409)', async () => {
    const r = await s.call('PATCH', `/v1/people/${ada}`, {
      payload: { name: 'Ada Lovelace', metadata: { team: null, born: 1815 } },
    });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().name, 'Ada Lovelace');
    assert.deepEqual(r.json().metadata, { born: 1815 });
    const clash = await s.call('PATCH', `/v1/people/${ada}`, { payload: { name: 'Vector' } });
    assert.equal(clash.statusCode, 409);
    assert.equal(errorCode(clash), 'PERSON_EXISTS');
  });

  test('identify finds the enrolled person from another photo of her', async () => {
    const [p1] = await portraits(3);
    const r = await s.call('POST', '/v1/identify', { headers: jpegHeaders, payload: p1, key: s.recognize });
    assert.equal(r.json().faces[0].person, 'Ada Lovelace');
  });

  test('cluster: faces of several photos grouped; descriptors too', async () => {
    const form = await multipart({ image: [sample(3), ...(await portraits(3))] });
    const r = await s.call('POST', '/v1/cluster', { ...form, key: s.recognize });
    assert.equal(r.statusCode, 200);
    const clusters = r.json().clusters as { image: number }[][];
    const faces = clusters.flat();
    // Each portrait's face is also in sample 3: they share a cluster with it, never with their own photo.
    assert.ok(clusters.some((c) => c.length === 2 && new Set(c.map((f) => f.image)).size === 2));
    assert.ok(faces.length >= 3);
    const d = await s.call('POST', '/v1/cluster', {
      payload: {
        descriptors: [
          [0, 0],
          [0, 0.01],
          [5, 5],
        ],
      },
    });
    assert.deepEqual(
      d
        .json()
        .clusters.map((c: unknown[]) => c.length)
        .sort(),
      [1, 2],
    );
    const none = await s.call('POST', '/v1/cluster', { payload: { images: [(await blankJpeg()).toString('base64')] } });
    assert.equal(none.statusCode, 400);
  });

  test('calibrate: stores thresholds; too few faces is CALIBRATION_TOO_FEW (422)', async () => {
    // Strangers far from everyone (descriptors of other people), so that a rate of 0.4 has pairs enough.
    for (let i = 0; i < 6; i++) {
      const d = Array.from({ length: 128 }, (_, k) => ((k * 7 + i * 13) % 17) / 17 - 0.5);
      assert.equal(
        (await s.call('POST', '/v1/people', { payload: { name: `Stranger ${i}`, descriptors: [d] } })).statusCode,
        201,
      );
    }
    const few = await s.call('POST', '/v1/calibrate', { payload: { far: 0.001 } });
    assert.equal(few.statusCode, 422);
    assert.equal(errorCode(few), 'CALIBRATION_TOO_FEW');
    const bad = await s.call('POST', '/v1/calibrate', { payload: { far: 2 } });
    assert.equal(bad.statusCode, 400);
    const ok = await s.call('POST', '/v1/calibrate', { payload: { far: 0.4 } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().calibrations[0].far, 0.4);
    assert.ok(ok.json().calibrations[0].pairThreshold > 0);
  });

  test('DELETE a face, then the person; both are gone', async () => {
    const del = await s.call('DELETE', `/v1/faces/${faceIds[0]}`);
    assert.deepEqual(del.json(), { removed: 1 });
    assert.equal((await s.call('GET', `/v1/faces/${faceIds[0]}/thumbnail`)).statusCode, 404);
    const gone = await s.call('DELETE', `/v1/people/${ada}`);
    assert.equal(gone.json().faces, 1);
    assert.equal((await s.call('GET', `/v1/people/${ada}`)).statusCode, 404);
    assert.equal((await s.call('DELETE', `/v1/people/${ada}`)).statusCode, 404);
  });
});

describe('over a real listener', () => {
  test('concurrent enrolment of one person from several clients: every face stored once, one person', async () => {
    const address = await s.service.listen('127.0.0.1', 0);
    const photos = [...(await portraits(1)), ...(await portraits(2))];
    // Clients as they should be written: a 503 (the queue is full) is retried after Retry-After.
    const enrol = async (p: Buffer): Promise<{ status: number; body: { created: boolean; added: number[] } }> => {
      for (;;) {
        const r = await fetch(`${address}/v1/people`, {
          method: 'POST',
          headers: { ...s.admin, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'Crowd', images: [p.toString('base64')], largest: true }),
        });
        if (r.status !== 503)
          return { status: r.status, body: (await r.json()) as { created: boolean; added: number[] } };
        await r.arrayBuffer();
        await new Promise((done) => setTimeout(done, Number(r.headers.get('retry-after')) * 1000));
      }
    };
    const answers = await Promise.all(photos.map(enrol));
    assert.ok(
      answers.every((a) => a.status === 200 || a.status === 201),
      JSON.stringify(answers),
    );
    assert.equal(answers.filter((a) => a.body.created).length, 1);
    const people = (await (await fetch(`${address}/v1/people`, { headers: s.admin })).json()) as {
      people: { name: string; faces: number }[];
    };
    const crowd = people.people.filter((p) => p.name === 'Crowd');
    assert.equal(crowd.length, 1);
    assert.equal(crowd[0].faces, photos.length);
  });
});

describe('a client that goes away', () => {
  test('its photo leaves the queue and is never analysed', async () => {
    const address = await s.service.listen('127.0.0.1', 0).catch(() => s.service.app.listeningOrigin);
    const pool = s.service.context.pool;
    const decoded = async () =>
      Number(
        /facekit_inference_stage_seconds_count\{stage="decode"\} (\d+)/.exec(
          (await s.call('GET', '/metrics')).body,
        )?.[1] ?? 0,
      );
    const before = await decoded();
    const send = (signal?: AbortSignal) =>
      fetch(`${address}/v1/encode`, {
        method: 'POST',
        headers: { ...s.admin, ...jpegHeaders },
        body: sample(6),
        signal,
      }).then(
        (r) => r.status,
        () => 0,
      );
    const first = send();
    while (pool.running === 0) await new Promise((r) => setTimeout(r, 2));
    const abort = new AbortController();
    const second = send(abort.signal);
    while (pool.queued === 0) await new Promise((r) => setTimeout(r, 2));
    abort.abort();
    while (pool.queued > 0) await new Promise((r) => setTimeout(r, 2));
    assert.equal(await first, 200);
    assert.equal(await second, 0);
    // Had the second photo been analysed, it would have run after the first: wait for the pool to be idle.
    while (pool.running > 0 || pool.queued > 0) await new Promise((r) => setTimeout(r, 2));
    assert.equal((await decoded()) - before, 1);
  });
});

describe('shutdown under load', () => {
  test('close() lets accepted requests finish and commit; later ones are refused; the file holds exactly the answered enrolments', async () => {
    const t = await startService({ limits: { workers: 1, queue: 64 } });
    const address = await t.service.listen('127.0.0.1', 0);
    const photos = [...(await portraits(1)), ...(await portraits(2)), ...(await portraits(3))];
    const sent = photos.map((p, i) =>
      fetch(`${address}/v1/people`, {
        method: 'POST',
        headers: { ...t.admin, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `P${i}`, images: [p.toString('base64')], largest: true }),
      }).then(
        async (r) => ({ status: r.status, body: (await r.json()) as { added?: number[] } }),
        () => ({ status: 0, body: {} }),
      ),
    );
    // Wait until the first enrolment is being analysed, then shut down with the rest in flight.
    while (t.service.context.pool.running === 0) await new Promise((r) => setTimeout(r, 5));
    const closing = t.service.close();
    const late = await fetch(`${address}/healthz`).then(
      (r) => r.status,
      () => 0,
    );
    const answers = await Promise.all(sent);
    await closing;
    assert.notEqual(late, 200);
    const committed = answers.filter((a) => a.status === 201);
    assert.ok(committed.length >= 1, JSON.stringify(answers.map((a) => a.status)));
    // Every request either committed (201) or was refused whole; none was half-done.
    assert.ok(
      answers.every((a) => a.status === 201 || a.status === 503 || a.status === 0),
      JSON.stringify(answers.map((a) => a.status)),
    );
    const g = await openGallery({ path: t.db });
    try {
      const stored = await g.people();
      assert.deepEqual(
        stored.map((p) => p.name).sort(),
        answers
          .map((a, i) => (a.status === 201 ? `P${i}` : null))
          .filter((n) => n !== null)
          .sort(),
      );
    } finally {
      await g.close();
    }
  });
});
