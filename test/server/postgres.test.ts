/**
 * Two `facekit serve` instances on one PostgreSQL gallery (a real server started here): a person
 * enrolled through instance A is identified by instance B, and an API key made in the database
 * works on both. Skipped, with the reason printed, when PostgreSQL is not installed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openPostgresStore } from '../../src/gallery/postgres.js';
import { createService, type Service } from '../../src/server/index.js';
import { Faces } from '../helpers/descriptors.js';
import { isolatedCacheDir } from '../helpers/photos.js';
import { postgresForTests } from '../helpers/servers.js';

isolatedCacheDir();
const { skipped, server } = postgresForTests();

describe('serve on PostgreSQL', () => {
  test('enrolled through instance A, identified by instance B; one key works on both; a bad URL is refused', async (t) => {
    if (skipped(t)) return;
    const url = await server().database();
    const store = await openPostgresStore(url);
    const key = (await store.keys.create('admin', 'ops')).key;
    await store.close();
    const services: Service[] = [];
    try {
      for (let i = 0; i < 2; i++) services.push(await createService({ db: url, limits: { workers: 1 } }));
      const [a, b] = services;
      const headers = { authorization: `Bearer ${key}` };
      const f = new Faces(21);
      const [ada] = f.people(1, 2, 'Ada');
      const enrol = await a.app.inject({
        method: 'POST',
        url: '/v1/people',
        headers,
        payload: { name: 'Ada', descriptors: ada.faces.map((x) => Array.from(x.descriptor)) },
      });
      assert.equal(enrol.statusCode, 201, enrol.body);
      const t0 = Date.now();
      let body = '';
      while (Date.now() - t0 < 5000) {
        const r = await b.app.inject({
          method: 'POST',
          url: '/v1/identify',
          headers,
          payload: { descriptors: [Array.from(ada.centre)] },
        });
        body = r.body;
        if (r.statusCode === 200 && r.json().faces?.[0]?.person === 'Ada') break;
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.match(body, /"person":"Ada"/);
      t.diagnostic(`B answered ${Date.now() - t0} ms after A's enrolment`);
    } finally {
      for (const s of services) await s.close();
    }
    await assert.rejects(
      createService({ db: 'postgres://127.0.0.1:1/none', limits: { workers: 1 } }),
      (e: unknown) => (e as { code?: string }).code === 'GALLERY_BUSY',
    );
  });
});
