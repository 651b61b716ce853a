import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { FaceKitError } from '../../src/errors.js';
import { APPLICATION_ID, checkName, fromBlob, openSqliteStore, SCHEMA_VERSION, toBlob, type SqliteStore } from '../../src/gallery/sqlite.js';
import { Faces, fakeHash } from '../helpers/descriptors.js';

const root = mkdtempSync(join(tmpdir(), 'facekit-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `g${n++}.db`);
const code = (c: string) => (e: unknown) => e instanceof FaceKitError && e.code === c;
const codeAndFile = (c: string, file: string) => (e: unknown) => e instanceof FaceKitError && e.code === c && e.file === file;

async function withStore<T>(file: string, fn: (s: SqliteStore) => Promise<T>): Promise<T> {
  const s = openSqliteStore(file);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

describe('sqlite store: files', () => {
  test('a new file gets the schema, version, application id and WAL journal; reopening keeps everything', async () => {
    const file = fresh();
    const faces = new Faces(1);
    await withStore(file, async (s) => {
      assert.equal(await s.model(), null);
      await s.claimModel('dlib_resnet128', 128);
      await s.enroll([{ name: 'ann', faces: [{ descriptor: faces.photo(faces.person()), sourceFile: '/x/a.jpg', contentHash: fakeHash(1), box: { x: 1, y: 2, width: 3, height: 4 }, score: 0.9, quality: 0.5 }] }]);
    });
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    await withStore(file, async (s) => {
      assert.deepEqual(await s.model(), { modelId: 'dlib_resnet128', dims: 128 });
      const [face] = await s.faces('ann');
      assert.deepEqual([face.sourceFile, face.contentHash, face.box, face.score, face.quality, face.modelId], ['/x/a.jpg', fakeHash(1), { x: 1, y: 2, width: 3, height: 4 }, 0.9, 0.5, 'dlib_resnet128']);
      assert.ok(!Number.isNaN(Date.parse(face.createdAt)));
      assert.equal(await s.integrityCheck(), 'ok');
    });
  });

  test('a missing file is FILE_NOT_FOUND when creation is off, and created (with its folder) otherwise', async () => {
    const file = join(root, 'deep', 'er', 'g.db');
    assert.throws(() => openSqliteStore(file, { create: false }), codeAndFile('FILE_NOT_FOUND', file));
    await withStore(file, async (s) => assert.deepEqual(await s.stats(), { people: 0, faces: 0 }));
  });

  test('a folder, a text file, a foreign SQLite database and a newer schema are refused and left untouched', async () => {
    const dir = join(root, 'a-folder');
    mkdirSync(dir);
    assert.throws(() => openSqliteStore(dir), codeAndFile('INVALID_ARGUMENT', dir));

    const text = join(root, 'notes.db');
    writeFileSync(text, 'these are my notes, not a database'.repeat(200));
    const before = readFileSync(text);
    assert.throws(() => openSqliteStore(text), codeAndFile('GALLERY_CORRUPT', text));
    assert.deepEqual(readFileSync(text), before);

    const foreign = join(root, 'foreign.db');
    const f = new Database(foreign);
    f.exec('CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT); INSERT INTO photos (path) VALUES (\'x\')');
    f.close();
    assert.throws(() => openSqliteStore(foreign), (e: unknown) => code('GALLERY_CORRUPT')(e) && /not a facekit gallery/.test((e as Error).message));
    const again = new Database(foreign, { readonly: true });
    assert.equal((again.prepare('SELECT count(*) AS n FROM photos').get() as { n: number }).n, 1);
    again.close();

    const newer = fresh();
    await withStore(newer, async () => undefined);
    const w = new Database(newer);
    w.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    w.close();
    assert.throws(() => openSqliteStore(newer), codeAndFile('GALLERY_VERSION', newer));
  });

  test('a damaged gallery is GALLERY_CORRUPT naming the file, not a crash', async () => {
    const file = fresh();
    const faces = new Faces(2);
    await withStore(file, async (s) => {
      await s.claimModel('m', 128);
      await s.enroll(faces.people(40, 3));
    });
    // Overwrite the pages after the header: the schema pages SQLite reads first are garbage now.
    const bytes = readFileSync(file);
    for (let i = 100; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
    writeFileSync(file, bytes);
    rmSync(`${file}-wal`, { force: true });
    assert.throws(() => {
      const s = openSqliteStore(file);
      void s.people();
    }, codeAndFile('GALLERY_CORRUPT', file));
  });

  test("a gallery whose folder cannot be made (a file is in the way) is FILE_UNWRITABLE", () => {
    const blocker = join(root, 'blocker');
    writeFileSync(blocker, 'a file where a folder should be');
    const file = join(blocker, 'sub', 'g.db');
    assert.throws(() => openSqliteStore(file), codeAndFile('FILE_UNWRITABLE', file));
  });

  test("a writer held up by another process's transaction gets GALLERY_BUSY, and nothing is lost", async () => {
    const file = fresh();
    const faces = new Faces(3);
    await withStore(file, async (s) => s.claimModel('m', 128));
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE');
    const s = openSqliteStore(file, { busyTimeoutMs: 50 });
    try {
      await assert.rejects(s.enroll(faces.people(1, 1)), codeAndFile('GALLERY_BUSY', file));
      holder.exec('COMMIT');
      await s.enroll(faces.people(1, 1));
      assert.equal((await s.stats()).faces, 1);
    } finally {
      holder.close();
      await s.close();
    }
  });
});

describe('sqlite store: people and faces', () => {
  test('enrolment creates people, appends to existing ones, merges metadata, and skips duplicates by hash and box', async () => {
    await withStore(fresh(), async (s) => {
      const f = new Faces(4);
      await s.claimModel('m', 128);
      const c = f.person();
      const box = { x: 10, y: 10, width: 100, height: 100 };
      const [first] = await s.enroll([{ name: 'ann', metadata: { team: 'a' }, faces: [{ descriptor: f.photo(c), contentHash: fakeHash(1), box }] }]);
      assert.equal(first.created, true);
      assert.equal(first.added.length, 1);
      // Same photo again (same hash, same face), a new photo, and a second face of the first photo elsewhere in it.
      const [second] = await s.enroll([{
        name: 'ann', metadata: { city: 'b' },
        faces: [
          { descriptor: f.photo(c), contentHash: fakeHash(1), box: { ...box, x: 12 } },
          { descriptor: f.photo(c), contentHash: fakeHash(2), box },
          { descriptor: f.photo(c), contentHash: fakeHash(1), box: { x: 400, y: 10, width: 100, height: 100 } },
        ],
      }]);
      assert.equal(second.created, false);
      assert.equal(second.added.length, 2);
      assert.deepEqual(second.duplicates, [{ index: 0, existingFaceId: first.added[0], existingPerson: 'ann' }]);
      assert.deepEqual(second.person.metadata, { team: 'a', city: 'b' });
      assert.equal(second.person.faces, 3);
      // A new person whose only photo is a duplicate is not created at all.
      const [ghost] = await s.enroll([{ name: 'ghost', faces: [{ descriptor: f.photo(c), contentHash: fakeHash(2), box }] }]);
      assert.equal(ghost.created, false);
      assert.equal(ghost.duplicates[0].existingPerson, 'ann');
      assert.equal(await s.person('ghost'), null);
      assert.equal((await s.facesWithHashes([fakeHash(1), fakeHash(2), fakeHash(9)])).length, 3);
    });
  });

  test('bad enrolment input is refused before anything is written', async () => {
    await withStore(fresh(), async (s) => {
      const f = new Faces(5);
      await s.claimModel('m', 128);
      await s.enroll([{ name: 'keep', faces: [{ descriptor: f.photo(f.person()) }] }]);
      const good = { descriptor: f.photo(f.person()) };
      const bad: [unknown, string][] = [
        [[{ name: 'x', faces: [good] }, { name: ' ', faces: [good] }], 'INVALID_ARGUMENT'],
        [[{ name: 'x\ny', faces: [good] }], 'INVALID_ARGUMENT'],
        [[{ name: 'x'.repeat(201), faces: [good] }], 'INVALID_ARGUMENT'],
        [[{ name: 'x', faces: [] }], 'INVALID_ARGUMENT'],
        [[{ name: 'x', faces: [good, { descriptor: new Float32Array(64) }] }], 'MODEL_MISMATCH'],
        [[{ name: 'x', faces: [{ descriptor: Float32Array.from(good.descriptor, (v, i) => (i === 3 ? NaN : v)) }] }], 'INVALID_ARGUMENT'],
        [[{ name: 'x', faces: [{ ...good, contentHash: 'not-a-hash' }] }], 'INVALID_ARGUMENT'],
        [[{ name: 'x', faces: [{ ...good, box: { x: 0, y: 0, width: Infinity, height: 1 } }] }], 'INVALID_ARGUMENT'],
        [[{ name: 'x', metadata: [1, 2], faces: [good] }], 'INVALID_ARGUMENT'],
      ];
      for (const [requests, c] of bad) await assert.rejects(s.enroll(requests as never), code(c), JSON.stringify(requests).slice(0, 80));
      assert.deepEqual((await s.people()).map((p) => p.name), ['keep']);
      assert.equal((await s.stats()).faces, 1);
    });
  });

  test('claimModel ties the gallery to one model and refuses another with MODEL_MISMATCH naming the file', async () => {
    const file = fresh();
    await withStore(file, async (s) => {
      await s.claimModel('dlib_resnet128', 128);
      await s.claimModel('dlib_resnet128', 128);
      await assert.rejects(s.claimModel('arcface', 512), codeAndFile('MODEL_MISMATCH', file));
      await assert.rejects(s.claimModel('dlib_resnet128', 64), code('MODEL_MISMATCH'));
    });
  });

  test('rename, merge, remove person and remove faces, with their failure cases', async () => {
    await withStore(fresh(), async (s) => {
      const f = new Faces(6);
      await s.claimModel('m', 128);
      await s.enroll(f.people(3, 2));
      assert.equal((await s.renamePerson('p0', ' Ann ')).name, 'Ann');
      await assert.rejects(s.renamePerson('nobody', 'x'), code('PERSON_NOT_FOUND'));
      await assert.rejects(s.renamePerson('Ann', 'p1'), code('PERSON_EXISTS'));
      await assert.rejects(s.renamePerson('Ann', ''), code('INVALID_ARGUMENT'));
      const merged = await s.mergePeople('p1', 'Ann');
      assert.equal(merged.faces, 4);
      assert.equal(await s.person('p1'), null);
      await assert.rejects(s.mergePeople('Ann', 'Ann'), code('INVALID_ARGUMENT'));
      await assert.rejects(s.mergePeople('p1', 'Ann'), code('PERSON_NOT_FOUND'));
      const faces = await s.faces('Ann');
      await assert.rejects(s.removeFaces([faces[0].id, 99999]), code('FACE_NOT_FOUND'));
      assert.equal((await s.faces('Ann')).length, 4, 'a failed removal removes nothing');
      await assert.rejects(s.removeFaces([0]), code('INVALID_ARGUMENT'));
      assert.equal(await s.removeFaces([faces[0].id, faces[1].id]), 2);
      const removed = await s.removePerson('p2');
      assert.equal(removed.faces, 2);
      await assert.rejects(s.removePerson('p2'), code('PERSON_NOT_FOUND'));
      await assert.rejects(s.faces('p2'), code('PERSON_NOT_FOUND'));
      // Removing a person's last faces removes the person.
      const left = await s.faces('Ann');
      await s.removeFaces(left.map((x) => x.id));
      assert.deepEqual(await s.people(), []);
    });
  });

  test('the change log lets a reader follow additions, removals and merges from a watermark', async () => {
    await withStore(fresh(), async (s) => {
      const f = new Faces(7);
      await s.claimModel('m', 128);
      await s.enroll(f.people(2, 2));
      const snap = await s.snapshot();
      assert.equal(snap.batch.ids.length, 4);
      assert.deepEqual(fromBlob(toBlob(snap.batch.vectors.subarray(0, 128))), snap.batch.vectors.subarray(0, 128));
      await s.enroll(f.people(1, 1, 'q'));
      await s.mergePeople('p0', 'p1');
      const [gone] = await s.faces('q0');
      await s.removeFaces([gone.id]);
      const c = await s.changesSince(snap.watermark);
      assert.equal(c.added.ids.length, 0, 'the face added after the snapshot was removed again');
      assert.equal(c.peopleChanged, true);
      const p1 = (await s.person('p1'))?.id;
      assert.deepEqual(c.log.filter((e) => e.personId !== null).map((e) => e.personId), [p1, p1]);
      assert.deepEqual(c.log.filter((e) => e.personId === null).map((e) => e.faceId), [gone.id]);
      const none = await s.changesSince(c.watermark);
      assert.deepEqual([none.added.ids.length, none.log.length, none.peopleChanged], [0, 0, false]);
      assert.deepEqual((await s.removedSince(snap.watermark.logSeq)).ids, [gone.id]);
    });
  });

  test('a closed store refuses calls with DISPOSED', async () => {
    const s = openSqliteStore(fresh());
    await s.close();
    await s.close();
    await assert.rejects(s.people(), code('DISPOSED'));
  });

  test('checkName trims and refuses what cannot be a name', () => {
    assert.equal(checkName('  Zoë Ω '), 'Zoë Ω');
    for (const bad of ['', '   ', 'a\tb', 42]) assert.throws(() => checkName(bad), code('INVALID_ARGUMENT'));
  });
});
