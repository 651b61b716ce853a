/** The photo index (`facekit index`) in both stores, its search through the Gallery, and the schema-2 → 3 migration. */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { openGallery } from '../../src/gallery/gallery.js';
import { openSqliteStore, SCHEMA_VERSION } from '../../src/gallery/sqlite.js';
import type { IndexPhoto } from '../../src/gallery/store.js';
import { FaceKitError } from '../../src/errors.js';
import { Faces, fakeHash } from '../helpers/descriptors.js';
import { storeBackends, withBackendStore } from '../helpers/store-backends.js';

const BACKENDS = storeBackends();
const DLIB = { modelId: 'dlib_resnet128', dims: 128 };
const code = (c: string) => (e: unknown) => e instanceof FaceKitError && e.code === c;
const root = mkdtempSync(join(tmpdir(), 'facekit-photo-index-'));
after(() => rmSync(root, { recursive: true, force: true }));

const box = (i: number) => ({ x: 10 * i, y: 5, width: 60, height: 70 });
function photo(n: number, descriptors: Float32Array[]): IndexPhoto {
  return {
    sourceFile: `/photos/${n}.jpg`,
    contentHash: fakeHash(500 + n),
    faces: descriptors.map((descriptor, i) => ({ descriptor, box: box(i), score: 0.9 - i / 10, quality: 0.4 })),
  };
}

for (const b of BACKENDS) {
  describe(`${b.name} store: photo index`, () => {
    test('stores every face of every photo; the same bytes again add nothing, other bytes are a new photo', async (t) => {
      if (b.skip) return t.skip(b.skip);
      const f = new Faces(3);
      const [a, c] = [f.person(), f.person()];
      await withBackendStore(b, await b.fresh(), async (s) => {
        const first = await s.indexPhotos(
          [photo(1, [f.photo(a), f.photo(c)]), photo(2, []), photo(3, [f.photo(c)])],
          DLIB,
        );
        assert.deepEqual(
          first.map((o) => [o.added, o.already]),
          [
            [2, false],
            [0, false],
            [1, false],
          ],
        );
        // Photo 1 again (a retried job), and photo 4: photo 1's file edited, so other bytes.
        const again = await s.indexPhotos([photo(1, [f.photo(a), f.photo(c)]), photo(4, [f.photo(a)])], DLIB);
        assert.deepEqual(
          again.map((o) => [o.added, o.already]),
          [
            [0, true],
            [1, false],
          ],
        );
        assert.equal(again[0].photoId, first[0].photoId);
        assert.deepEqual(await s.photoIndexStats(), { photos: 4, faces: 4, photosWithoutFaces: 1 });
        assert.deepEqual(
          (await s.indexedHashes([fakeHash(501), fakeHash(502), fakeHash(999)], DLIB.modelId)).sort(),
          [fakeHash(501), fakeHash(502)].sort(),
        );
        assert.deepEqual(await s.indexedHashes([fakeHash(501)], 'other-model'), []);
        const faces = await s.indexedFaces(DLIB.modelId);
        assert.equal(faces.length, 4);
        const second = faces.find((x) => x.sourceFile === '/photos/1.jpg' && x.faceNumber === 2);
        assert.ok(second);
        assert.deepEqual(second.box, box(1));
        assert.equal(second.modelId, DLIB.modelId);
        assert.equal(second.quality, 0.4);
        assert.ok(Math.abs(second.score - 0.8) < 1e-9);
        assert.equal(second.descriptor.length, 128);
        assert.match(second.createdAt, /^\d{4}-\d\d-\d\dT/);
        // The people side of the gallery is untouched.
        assert.deepEqual(await s.stats(), { people: 0, faces: 0 });
      });
    });

    test('bad input is named, and nothing of the batch is stored', async (t) => {
      if (b.skip) return t.skip(b.skip);
      const f = new Faces(4);
      await withBackendStore(b, await b.fresh(), async (s) => {
        await s.indexPhotos([photo(1, [f.photo(f.person())])], DLIB);
        const short = photo(2, [new Float32Array(64).fill(0.1)]);
        await assert.rejects(
          s.indexPhotos([photo(3, [f.photo(f.person())]), short], DLIB),
          (e: unknown) => code('MODEL_MISMATCH')(e) && /photos\[1\]\.faces\[0\]: a 64-d descriptor/.test(String(e)),
        );
        await assert.rejects(
          s.indexPhotos([photo(5, [f.photo(f.person())])], { modelId: 'tuned:x', dims: 128 }),
          code('MODEL_MISMATCH'),
        );
        await assert.rejects(
          s.indexPhotos([{ ...photo(6, []), contentHash: 'nope' }], DLIB),
          (e: unknown) => code('INVALID_ARGUMENT')(e) && (e as FaceKitError).field === 'photos[0].contentHash',
        );
        await assert.rejects(
          s.indexPhotos([{ ...photo(7, []), faces: [{ descriptor: f.photo(f.person()), score: 0.9 } as never] }], DLIB),
          (e: unknown) => code('INVALID_ARGUMENT')(e) && (e as FaceKitError).field === 'photos[0].faces[0].box',
        );
        await assert.rejects(
          s.indexPhotos([{ ...photo(8, []), sourceFile: '' }], DLIB),
          (e: unknown) => code('INVALID_ARGUMENT')(e) && (e as FaceKitError).field === 'photos[0].sourceFile',
        );
        assert.deepEqual(await s.photoIndexStats(), { photos: 1, faces: 1, photosWithoutFaces: 0 });
      });
    });

    test('an empty gallery is tied to the first indexed model; one with no face found yet stays untied', async (t) => {
      if (b.skip) return t.skip(b.skip);
      await withBackendStore(b, await b.fresh(), async (s) => {
        await s.indexPhotos([photo(1, [])], DLIB);
        assert.equal(await s.model(), null);
        await assert.rejects(
          s.indexPhotos([photo(2, [new Float32Array(128).fill(0.01)])], { modelId: '', dims: 128 }),
          code('INVALID_ARGUMENT'),
        );
        await s.indexPhotos([photo(2, [new Float32Array(128).fill(0.01)])], DLIB);
        assert.deepEqual(await s.model(), DLIB);
      });
    });

    test('Gallery.searchIndex: the photos of a face, by photo and by person, closest first, within the pair threshold', async (t) => {
      if (b.skip) return t.skip(b.skip);
      const f = new Faces(5);
      const [ann, bob, eve] = [f.person(), f.person(), f.person()];
      const store = await b.open(await b.fresh());
      const g = await openGallery({ store });
      try {
        await g.enroll('Ann', [{ descriptor: f.photo(ann) }, { descriptor: f.photo(ann) }]);
        await g.indexPhotos([
          photo(1, [f.photo(bob), f.photo(ann)]),
          photo(2, [f.photo(bob)]),
          photo(3, [f.photo(ann)]),
          photo(4, []),
        ]);
        const byPerson = await g.searchIndexForPerson('Ann');
        assert.deepEqual(byPerson.matches.map((m) => m.sourceFile).sort(), ['/photos/1.jpg', '/photos/3.jpg']);
        assert.equal(byPerson.matches.find((m) => m.sourceFile === '/photos/1.jpg')?.faceNumber, 2);
        assert.ok(byPerson.matches[0].distance <= byPerson.matches[1].distance);
        assert.equal(byPerson.faces, 4);
        assert.equal(byPerson.photos, 3);
        assert.ok(byPerson.threshold.value > 0.3 && byPerson.threshold.value < 0.7);
        assert.ok(byPerson.matches.every((m) => m.distance <= byPerson.threshold.value));
        const byFace = await g.searchIndex([f.photo(bob)], { limit: 1 });
        assert.equal(byFace.matches.length, 1);
        assert.ok(['/photos/1.jpg', '/photos/2.jpg'].includes(byFace.matches[0].sourceFile));
        assert.deepEqual((await g.searchIndex([f.photo(eve)])).matches, []);
        assert.equal((await g.searchIndex([f.photo(bob)], { threshold: 0.01 })).matches.length, 0);
        await assert.rejects(g.searchIndexForPerson('Nobody'), code('PERSON_NOT_FOUND'));
        await assert.rejects(g.searchIndex([new Float32Array(12)]), code('MODEL_MISMATCH'));
        await assert.rejects(g.searchIndex([]), code('INVALID_ARGUMENT'));
        await assert.rejects(
          g.searchIndex([f.photo(bob)], { limit: 0 }),
          (e: unknown) => code('INVALID_ARGUMENT')(e) && (e as FaceKitError).field === 'limit',
        );
      } finally {
        await g.close();
        await store.close();
      }
    });
  });
}

describe('postgres store: migration 1 → 2', () => {
  const pg = BACKENDS.find((b) => b.name === 'postgres');
  test('a gallery at migration 1 (before the photo index) gets the index tables and keeps its people and faces', async (t) => {
    if (!pg || pg.skip) return t.skip(pg ? String(pg.skip) : 'no postgres backend');
    const url = await pg.fresh();
    const f = new Faces(7);
    await withBackendStore(pg, url, (s) =>
      s.enroll([{ name: 'ann', faces: [{ descriptor: f.photo(f.person()) }] }], DLIB),
    );
    // Back to what migration 1 made: the index tables and the record of step 2 gone.
    await pg.raw(url, 'DROP TABLE indexed_faces');
    await pg.raw(url, 'DROP TABLE indexed_photos');
    await pg.raw(url, 'DELETE FROM migrations WHERE version = 2');
    await withBackendStore(pg, url, async (s) => {
      assert.deepEqual(await s.stats(), { people: 1, faces: 1 });
      await s.indexPhotos([photo(1, [f.photo(f.person())])], DLIB);
      assert.equal((await s.photoIndexStats()).faces, 1);
    });
    assert.deepEqual(
      (await pg.raw(url, 'SELECT version FROM migrations ORDER BY version')).map((r) => Number(r.version)),
      [1, 2],
    );
  });
});

describe('sqlite store: schema 2 → 3', () => {
  test('opened read-only (identify, verify, people, find), a schema-2 gallery is read through an upgraded copy and the file is left at 2', async () => {
    const file = join(root, 'old-read.db');
    copyFileSync(join(import.meta.dirname, '../fixtures/gallery/schema2.db'), file);
    const s = openSqliteStore(file, { readOnly: true });
    try {
      assert.deepEqual(
        (await s.people()).map((p) => p.name),
        ['ann', 'bob'],
      );
      assert.deepEqual(await s.photoIndexStats(), { photos: 0, faces: 0, photosWithoutFaces: 0 });
      assert.equal(s.readOnly, true);
    } finally {
      await s.close();
    }
    const after = new Database(file, { readonly: true });
    assert.equal(after.pragma('user_version', { simple: true }), 2);
    after.close();
  });

  test("a gallery made by the previous release's code (schema 2) migrates in place and keeps its people, faces and keys", async () => {
    const file = join(root, 'old.db');
    // Made by main's SQLite store before this change (SCHEMA_VERSION 2): two people, one API key.
    copyFileSync(join(import.meta.dirname, '../fixtures/gallery/schema2.db'), file);
    const before = new Database(file, { readonly: true });
    assert.equal(before.pragma('user_version', { simple: true }), 2);
    before.close();
    const s = openSqliteStore(file);
    try {
      assert.deepEqual(await s.stats(), { people: 2, faces: 2 });
      assert.deepEqual(
        (await s.faces('bob')).map((x) => x.sourceFile),
        ['/x/bob.jpg'],
      );
      assert.equal((await s.keys.list()).length, 1);
      assert.deepEqual(await s.photoIndexStats(), { photos: 0, faces: 0, photosWithoutFaces: 0 });
      const f = new Faces(6);
      await s.indexPhotos([photo(1, [f.photo(f.person())])], DLIB);
      assert.equal((await s.photoIndexStats()).faces, 1);
    } finally {
      await s.close();
    }
    const after = new Database(file, { readonly: true });
    assert.equal(after.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    after.close();
  });
});
