/**
 * What only the PostgreSQL gallery does (its shared contract with SQLite is tested in
 * sqlite.test.ts on both): migrations, connection errors, API keys, and many processes on one
 * gallery: an enrolment through one gallery is searched by another that follows the server, also
 * after the server was killed and came back.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FaceKitError } from '../../src/errors.js';
import { openGallery } from '../../src/gallery/gallery.js';
import { hashKey } from '../../src/gallery/keys.js';
import { openPostgresStore, redactUrl } from '../../src/gallery/postgres.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../../src/gallery/postgres-schema.js';
import { Faces, fakeHash } from '../helpers/descriptors.js';
import { freePort, postgresForTests } from '../helpers/servers.js';
import { tempDir } from '../helpers/temp.js';
import pg from 'pg';

const code = (c: string) => (e: unknown) => e instanceof FaceKitError && e.code === c;
const M = { modelId: 'dlib_resnet128', dims: 128 };
const { skipped, server: srv } = postgresForTests();
// Keep ANN caches of these galleries out of the user's cache folder.
process.env.XDG_CACHE_HOME = tempDir('facekit-pg-cache-');

async function until(check: () => Promise<boolean>, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - t0;
}

describe('postgres store', () => {
  test('migrations are recorded once; a database of a newer schema is refused, untouched', async (t) => {
    if (skipped(t)) return;
    const url = await srv().database();
    const a = await openPostgresStore(url);
    const b = await openPostgresStore(url);
    assert.equal(await a.schemaVersion(), PG_SCHEMA_VERSION);
    await a.close();
    await b.close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const rows = (await c.query('SELECT version FROM facekit.migrations')).rows;
    assert.deepEqual(
      rows.map((r) => r.version),
      PG_MIGRATIONS.map((m) => m.version),
    );
    await c.query("INSERT INTO facekit.migrations (version, name) VALUES (999, 'future')");
    await c.end();
    await assert.rejects(openPostgresStore(url), code('GALLERY_VERSION'));
  });

  test('a bad URL, a server that does not answer and a missing database are clear errors; passwords stay out of messages', async (t) => {
    if (skipped(t)) return;
    await assert.rejects(openPostgresStore('mysql://x'), code('INVALID_ARGUMENT'));
    const port = await freePort();
    const url = `postgres://u:secret@127.0.0.1:${port}/db`;
    await assert.rejects(
      openPostgresStore(url),
      (e: unknown) => code('GALLERY_BUSY')(e) && !/secret/.test(String((e as FaceKitError).file)),
    );
    assert.equal(redactUrl(url), `postgres://u:***@127.0.0.1:${port}/db`);
    const missing = `${srv().adminUrl.replace(/\/postgres$/, '')}/nosuchdb`;
    await assert.rejects(openPostgresStore(missing), code('FILE_NOT_FOUND'));
  });

  test('API keys: created, found by hash, revoked; an unknown id is KEY_NOT_FOUND', async (t) => {
    if (skipped(t)) return;
    const s = await openPostgresStore(await srv().database());
    try {
      const { key, record } = await s.keys.create('admin', 'ops');
      assert.equal((await s.keys.find(hashKey(key)))?.id, record.id);
      await s.keys.revoke(record.id);
      assert.equal(await s.keys.find(hashKey(key)), null);
      await assert.rejects(s.keys.revoke(999), code('KEY_NOT_FOUND'));
      await assert.rejects(async () => s.keys.create('root' as 'admin'), code('INVALID_ARGUMENT'));
      assert.equal((await s.keys.list()).length, 1);
    } finally {
      await s.close();
    }
  });

  test('concurrent writers on one gallery: every face is read once by a follower, none lost to id order', async (t) => {
    if (skipped(t)) return;
    const url = await srv().database();
    const follower = await openGallery({ path: url, follow: true });
    const writers = await Promise.all([openPostgresStore(url), openPostgresStore(url), openPostgresStore(url)]);
    try {
      const f = new Faces(3);
      const people = f.people(30, 2);
      await Promise.all(people.map((p, i) => writers[i % 3].enroll([{ name: p.name, faces: p.faces }], M)));
      await until(async () => (await follower.indexInfo()).faces === 60, 5000);
      const found = await follower.identify(people.map((p) => p.centre));
      assert.deepEqual(
        found.map((r) => r.person),
        people.map((p) => p.name),
      );
    } finally {
      await follower.close();
      for (const w of writers) await w.close();
    }
  });

  test('many instances, one truth: enrolled through A, identified by B; also after the server was killed and restarted', async (t) => {
    if (skipped(t)) return;
    const url = await srv().database();
    const a = await openGallery({ path: url, follow: true });
    const b = await openGallery({ path: url, follow: true });
    const f = new Faces(5);
    const [ann, bob, cy] = f.people(3, 2);
    try {
      await a.enroll(ann.name, ann.faces);
      await a.enroll(bob.name, bob.faces);
      const ms = await until(async () => (await b.identify([bob.centre]))[0].person === 'p1', 5000);
      t.diagnostic(`B answered ${ms} ms after A's enrolment returned`);
      await srv().restart();
      // After the restart B's pool and LISTEN connection are both new: A's next enrolment reaches B.
      await until(async () => {
        try {
          await a.enroll(cy.name, cy.faces, undefined);
          return true;
        } catch {
          return false;
        }
      }, 10000);
      await until(async () => {
        try {
          return (await b.identify([cy.centre]))[0].person === 'p2';
        } catch {
          return false;
        }
      }, 10000);
      // Nothing committed before the kill was lost.
      assert.equal((await b.identify([ann.centre]))[0].person, 'p0');
      assert.equal((await b.people()).length, 3);
      const hashA = { descriptor: f.photo(ann.centre), contentHash: fakeHash(77) };
      await a.enroll('p0', [hashA]);
      const again = await b.enroll('p0', [hashA]);
      assert.deepEqual([again.added.length, again.duplicates.length], [0, 1], 'the same photo through B is one face');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
