import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { FaceKitError } from '../../src/errors.js';
import {
  APPLICATION_ID,
  fromBlob,
  openSqliteStore,
  SCHEMA_VERSION,
  toBlob,
  SqliteStore,
} from '../../src/gallery/sqlite.js';
import { checkName } from '../../src/gallery/validate.js';
import { Faces, fakeHash } from '../helpers/descriptors.js';
import { storeBackends, withBackendStore } from '../helpers/store-backends.js';

/** The store's contract is tested on every backend; the file-level tests above it are SQLite's own. */
const BACKENDS = storeBackends();

const root = mkdtempSync(join(tmpdir(), 'facekit-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `g${n++}.db`);
const code = (c: string) => (e: unknown) => e instanceof FaceKitError && e.code === c;
const codeAndFile = (c: string, file: string) => (e: unknown) =>
  e instanceof FaceKitError && e.code === c && e.file === file;
const M = { modelId: 'm', dims: 128 };
const DLIB = { modelId: 'dlib_resnet128', dims: 128 };

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
      await s.enroll(
        [
          {
            name: 'ann',
            faces: [
              {
                descriptor: faces.photo(faces.person()),
                sourceFile: '/x/a.jpg',
                contentHash: fakeHash(1),
                box: { x: 1, y: 2, width: 3, height: 4 },
                score: 0.9,
                quality: 0.5,
              },
            ],
          },
        ],
        DLIB,
      );
    });
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    await withStore(file, async (s) => {
      assert.deepEqual(await s.model(), { modelId: 'dlib_resnet128', dims: 128 });
      const [face] = await s.faces('ann');
      assert.deepEqual(
        [face.sourceFile, face.contentHash, face.box, face.score, face.quality, face.modelId],
        ['/x/a.jpg', fakeHash(1), { x: 1, y: 2, width: 3, height: 4 }, 0.9, 0.5, 'dlib_resnet128'],
      );
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
    f.exec("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT); INSERT INTO photos (path) VALUES ('x')");
    f.close();
    assert.throws(
      () => openSqliteStore(foreign),
      (e: unknown) => code('GALLERY_CORRUPT')(e) && /not a facekit gallery/.test((e as Error).message),
    );
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
      await s.enroll(faces.people(40, 3), M);
    });
    // Overwrite the pages after the header: the schema pages SQLite reads first are garbage now.
    const bytes = readFileSync(file);
    for (let i = 100; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
    writeFileSync(file, bytes);
    rmSync(`${file}-wal`, { force: true });
    assert.throws(
      () => {
        const s = openSqliteStore(file);
        void s.people();
      },
      codeAndFile('GALLERY_CORRUPT', file),
    );
  });

  test('a gallery whose folder cannot be made (a file is in the way) is FILE_UNWRITABLE', () => {
    const blocker = join(root, 'blocker');
    writeFileSync(blocker, 'a file where a folder should be');
    const file = join(blocker, 'sub', 'g.db');
    assert.throws(() => openSqliteStore(file), codeAndFile('FILE_UNWRITABLE', file));
  });

  test("a writer held up by another process's transaction gets GALLERY_BUSY, and nothing is lost", async () => {
    const file = fresh();
    const faces = new Faces(3);
    await withStore(file, async () => undefined);
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE');
    const s = openSqliteStore(file, { busyTimeoutMs: 50 });
    try {
      await assert.rejects(s.enroll(faces.people(1, 1), M), codeAndFile('GALLERY_BUSY', file));
      holder.exec('COMMIT');
      await s.enroll(faces.people(1, 1), M);
      assert.equal((await s.stats()).faces, 1);
    } finally {
      holder.close();
      await s.close();
    }
  });
});

for (const b of BACKENDS) {
  describe(`${b.name} store: cluster runs`, () => {
    const f = new Faces(12);
    const face = (descriptor: Float32Array, cluster: number, i: number) => ({
      cluster,
      sourceFile: `/p/${cluster}-${i}.jpg`,
      contentHash: fakeHash(1000 + cluster * 10 + i),
      box: { x: 0, y: 0, width: 50, height: 50 },
      score: 0.9,
      descriptor,
    });

    test('naming a cluster whose faces are all enrolled under another name is a clear error naming the owner, and changes nothing', async (t) => {
      if (b.skip) return t.skip(b.skip);
      await withBackendStore(b, await b.fresh(), async (s) => {
        const a = f.person();
        const run = await s.saveClusterRun({
          modelId: 'm',
          threshold: 0.5,
          inputs: ['/p'],
          faces: [face(f.photo(a), 1, 0), face(f.photo(a), 1, 1)],
        });
        await s.nameCluster(run.id, 1, 'Alice');
        const again = await s.saveClusterRun({
          modelId: 'm',
          threshold: 0.5,
          inputs: ['/p'],
          faces: run.faces.map((x) => ({ ...x, personId: undefined })),
        });
        await assert.rejects(
          s.nameCluster(again.id, 1, 'Bob'),
          (e: unknown) =>
            code('INVALID_ARGUMENT')(e) && /already, as "Alice": nothing to enrol as "Bob"/.test((e as Error).message),
        );
        assert.equal(await s.person('Bob'), null);
        assert.equal(
          (await s.clusterRun(again.id))?.faces[0].personId,
          null,
          'the failed naming left the cluster unnamed',
        );
        // Named after the faces' owner, the cluster is linked to them.
        const same = await s.nameCluster(again.id, 1, 'Alice');
        assert.deepEqual([same.added.length, same.duplicates.length], [0, 2]);
        assert.equal((await s.clusterRun(again.id))?.faces[0].personId, same.person.id);
        if (s instanceof SqliteStore) assert.equal(await s.integrityCheck(), 'ok');
      });
    });

    test('merging moves the clusters named after the person merged away; removing a person unlinks them', async (t) => {
      if (b.skip) return t.skip(b.skip);
      await withBackendStore(b, await b.fresh(), async (s) => {
        const run = await s.saveClusterRun({
          modelId: 'm',
          threshold: 0.5,
          inputs: ['/p'],
          faces: [face(f.photo(f.person()), 1, 0), face(f.photo(f.person()), 2, 0)],
        });
        await s.nameCluster(run.id, 1, 'Al');
        const into = await s.nameCluster(run.id, 2, 'Alice');
        await s.mergePeople('Al', 'Alice');
        assert.deepEqual(
          (await s.clusterRun(run.id))?.faces.map((x) => x.personId),
          [into.person.id, into.person.id],
        );
        await s.removePeople(['Alice']);
        assert.deepEqual(
          (await s.clusterRun(run.id))?.faces.map((x) => x.personId),
          [null, null],
        );
      });
    });

    test('a run with descriptors of different lengths, empty or non-finite ones, or of the wrong length for the gallery is refused', async (t) => {
      if (b.skip) return t.skip(b.skip);
      await withBackendStore(b, await b.fresh(), async (s) => {
        const bad: [Float32Array[], string][] = [
          [[f.person(), f.person(64)], 'MODEL_MISMATCH'],
          [[new Float32Array(0)], 'INVALID_ARGUMENT'],
          [[Float32Array.from(f.person(), (v, i) => (i === 0 ? NaN : v))], 'INVALID_ARGUMENT'],
        ];
        for (const [ds, c] of bad) {
          await assert.rejects(
            s.saveClusterRun({ modelId: 'm', threshold: 0.5, inputs: [], faces: ds.map((d, i) => face(d, 1, i)) }),
            code(c),
            c,
          );
        }
        await assert.rejects(
          s.saveClusterRun({
            modelId: 'm',
            threshold: 0.5,
            inputs: [],
            faces: [{ ...face(f.person(), 1, 0), cluster: 0 }],
          }),
          code('INVALID_ARGUMENT'),
        );
        await s.enroll(f.people(1, 1), M);
        await assert.rejects(
          s.saveClusterRun({ modelId: 'm', threshold: 0.5, inputs: [], faces: [face(f.person(64), 1, 0)] }),
          code('MODEL_MISMATCH'),
        );
        assert.equal(await s.clusterRun(), null, 'nothing was saved');
      });
    });
  });

  describe(`${b.name} store: people and faces`, () => {
    test('enrolment creates people, appends to existing ones, merges metadata, and skips duplicates by hash and box', async (t) => {
      if (b.skip) return t.skip(b.skip);
      await withBackendStore(b, await b.fresh(), async (s) => {
        const f = new Faces(4);
        const c = f.person();
        const box = { x: 10, y: 10, width: 100, height: 100 };
        const [first] = await s.enroll(
          [
            {
              name: 'ann',
              metadata: { team: 'a' },
              faces: [{ descriptor: f.photo(c), contentHash: fakeHash(1), box }],
            },
          ],
          M,
        );
        assert.equal(first.created, true);
        assert.equal(first.added.length, 1);
        // Same photo again (same hash, same face), a new photo, and a second face of the first photo elsewhere in it.
        const [second] = await s.enroll(
          [
            {
              name: 'ann',
              metadata: { city: 'b' },
              faces: [
                { descriptor: f.photo(c), contentHash: fakeHash(1), box: { ...box, x: 12 } },
                { descriptor: f.photo(c), contentHash: fakeHash(2), box },
                { descriptor: f.photo(c), contentHash: fakeHash(1), box: { x: 400, y: 10, width: 100, height: 100 } },
              ],
            },
          ],
          M,
        );
        assert.equal(second.created, false);
        assert.equal(second.added.length, 2);
        assert.deepEqual(second.duplicates, [{ index: 0, existingFaceId: first.added[0], existingPerson: 'ann' }]);
        assert.deepEqual(second.person.metadata, { team: 'a', city: 'b' });
        assert.equal(second.person.faces, 3);
        // A new person whose only photo is a duplicate is not created at all.
        const [ghost] = await s.enroll(
          [{ name: 'ghost', faces: [{ descriptor: f.photo(c), contentHash: fakeHash(2), box }] }],
          M,
        );
        assert.equal(ghost.created, false);
        assert.equal(ghost.duplicates[0].existingPerson, 'ann');
        assert.equal(await s.person('ghost'), null);
        assert.equal((await s.facesWithHashes([fakeHash(1), fakeHash(2), fakeHash(9)])).length, 3);
      });
    });

    test('bad enrolment input is refused before anything is written', async (t) => {
      if (b.skip) return t.skip(b.skip);
      await withBackendStore(b, await b.fresh(), async (s) => {
        const f = new Faces(5);
        await s.enroll([{ name: 'keep', faces: [{ descriptor: f.photo(f.person()) }] }], M);
        const good = { descriptor: f.photo(f.person()) };
        const bad: [unknown, string][] = [
          [
            [
              { name: 'x', faces: [good] },
              { name: ' ', faces: [good] },
            ],
            'INVALID_ARGUMENT',
          ],
          [[{ name: 'x\ny', faces: [good] }], 'INVALID_ARGUMENT'],
          [[{ name: 'x'.repeat(201), faces: [good] }], 'INVALID_ARGUMENT'],
          [[{ name: 'x', faces: [] }], 'INVALID_ARGUMENT'],
          [[{ name: 'x', faces: [good, { descriptor: new Float32Array(64) }] }], 'MODEL_MISMATCH'],
          [
            [{ name: 'x', faces: [{ descriptor: Float32Array.from(good.descriptor, (v, i) => (i === 3 ? NaN : v)) }] }],
            'INVALID_ARGUMENT',
          ],
          [
            [
              {
                name: 'x',
                faces: [{ descriptor: Float32Array.from(good.descriptor, (v, i) => (i === 5 ? -Infinity : v)) }],
              },
            ],
            'INVALID_ARGUMENT',
          ],
          [[{ name: 'x', faces: [{ descriptor: new Float32Array(0) }] }], 'INVALID_ARGUMENT'],
          [[{ name: 'x', faces: [{ descriptor: Array.from(good.descriptor) }] }], 'INVALID_ARGUMENT'],
          [[{ name: 'x', faces: [{ ...good, contentHash: 'not-a-hash' }] }], 'INVALID_ARGUMENT'],
          [[{ name: 'x', faces: [{ ...good, box: { x: 0, y: 0, width: Infinity, height: 1 } }] }], 'INVALID_ARGUMENT'],
          [[{ name: 'x', metadata: [1, 2], faces: [good] }], 'INVALID_ARGUMENT'],
        ];
        for (const [requests, c] of bad)
          await assert.rejects(s.enroll(requests as never, M), code(c), JSON.stringify(requests).slice(0, 80));
        assert.deepEqual(
          (await s.people()).map((p) => p.name),
          ['keep'],
        );
        assert.equal((await s.stats()).faces, 1);
      });
    });

    test('the first enrolment ties the gallery to its model in its own transaction; a failed one leaves it untied', async (t) => {
      if (b.skip) return t.skip(b.skip);
      const file = await b.fresh();
      const f = new Faces(8);
      await withBackendStore(b, file, async (s) => {
        const empty = [{ name: 'e', faces: [{ descriptor: new Float32Array(0) }] }];
        await assert.rejects(s.enroll(empty, { modelId: 'm', dims: 0 }), code('INVALID_ARGUMENT'));
        await assert.rejects(s.enroll(f.people(1, 1), { modelId: 'm', dims: 0 }), code('INVALID_ARGUMENT'));
        await assert.rejects(s.enroll(f.people(1, 1), { modelId: '', dims: 128 }), code('INVALID_ARGUMENT'));
        // A later face of the first enrolment is refused: the tie made before it is rolled back with it.
        await assert.rejects(
          s.enroll([{ name: 'x', faces: [{ descriptor: f.person() }, { descriptor: f.person(64) }] }], M),
          code('MODEL_MISMATCH'),
        );
        assert.equal(await s.model(), null);
        assert.deepEqual(await s.stats(), { people: 0, faces: 0 });
        await s.enroll(f.people(1, 1), DLIB);
        await assert.rejects(
          s.enroll(f.people(1, 1, 'q'), { modelId: 'arcface', dims: 512 }),
          codeAndFile('MODEL_MISMATCH', file),
        );
        await assert.rejects(
          s.enroll(f.people(1, 1, 'q'), { modelId: 'dlib_resnet128', dims: 64 }),
          code('MODEL_MISMATCH'),
        );
      });
      await withBackendStore(b, file, async (s) => assert.deepEqual(await s.model(), DLIB));
    });

    test('a gallery tied to 0 dimensions (older versions let an empty descriptor through) is GALLERY_CORRUPT naming the file', async (t) => {
      if (b.skip) return t.skip(b.skip);
      const file = await b.fresh();
      await withBackendStore(b, file, async () => undefined);
      await b.raw(file, "INSERT INTO meta (key, value) VALUES ('model_id', 'm'), ('dims', '0')");
      await withBackendStore(b, file, async (s) => assert.rejects(s.model(), codeAndFile('GALLERY_CORRUPT', file)));
    });

    test('rename, merge, remove person and remove faces, with their failure cases', async (t) => {
      if (b.skip) return t.skip(b.skip);
      await withBackendStore(b, await b.fresh(), async (s) => {
        const f = new Faces(6);
        await s.enroll(f.people(3, 2), M);
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
        const [removed] = await s.removePeople(['p2']);
        assert.equal(removed.faces, 2);
        await assert.rejects(s.removePeople(['p2']), code('PERSON_NOT_FOUND'));
        await assert.rejects(s.faces('p2'), code('PERSON_NOT_FOUND'));
        // Removing a person's last faces removes the person.
        const left = await s.faces('Ann');
        await s.removeFaces(left.map((x) => x.id));
        assert.deepEqual(await s.people(), []);
      });
    });

    test('removePeople is one transaction: an unknown name removes nobody, a name given twice is one person', async (t) => {
      if (b.skip) return t.skip(b.skip);
      await withBackendStore(b, await b.fresh(), async (s) => {
        await s.enroll(new Faces(9).people(4, 2), M);
        await assert.rejects(
          s.removePeople(['p0', 'p1', 'nobody']),
          (e: unknown) => code('PERSON_NOT_FOUND')(e) && /"nobody"/.test((e as Error).message),
        );
        assert.deepEqual(await s.stats(), { people: 4, faces: 8 });
        await assert.rejects(s.removePeople([]), code('INVALID_ARGUMENT'));
        const removed = await s.removePeople(['p0', 'p1', 'p0']);
        assert.deepEqual(
          removed.map((r) => [r.person.name, r.faces]),
          [
            ['p0', 2],
            ['p1', 2],
          ],
        );
        assert.deepEqual(
          (await s.people()).map((p) => p.name),
          ['p2', 'p3'],
        );
        const log = await s.removedSince(0);
        assert.equal(log.ids.length, 4, 'every removed face is in the change log');
      });
    });

    test("setMetadata sets, replaces and (with null) removes keys, keeping the rest; merging keeps the target's value on conflicts", async (t) => {
      if (b.skip) return t.skip(b.skip);
      await withBackendStore(b, await b.fresh(), async (s) => {
        await s.enroll(
          [{ name: 'ann', metadata: { team: 'a', city: 'x' }, faces: new Faces(10).people(1, 1)[0].faces }],
          M,
        );
        const p = await s.setMetadata('ann', { team: 'b', born: 1815, city: null });
        assert.deepEqual(p.metadata, { team: 'b', born: 1815 });
        assert.deepEqual((await s.person('ann'))?.metadata, { team: 'b', born: 1815 });
        assert.equal(p.faces, 1);
        const bad: [string, unknown, string][] = [
          ['nobody', { a: 1 }, 'PERSON_NOT_FOUND'],
          ['ann', {}, 'INVALID_ARGUMENT'],
          ['ann', null, 'INVALID_ARGUMENT'],
          ['ann', ['a'], 'INVALID_ARGUMENT'],
          ['ann', { ' ': 1 }, 'INVALID_ARGUMENT'],
          ['ann', { n: 10n }, 'INVALID_ARGUMENT'],
        ];
        for (const [who, patch, c] of bad)
          await assert.rejects(s.setMetadata(who, patch as never), code(c), `${who} ${String(patch)}`);
        assert.deepEqual(
          (await s.person('ann'))?.metadata,
          { team: 'b', born: 1815 },
          'a refused change changes nothing',
        );

        await s.enroll(
          [{ name: 'bo', metadata: { team: 'z', desk: 4 }, faces: new Faces(11).people(1, 1)[0].faces }],
          M,
        );
        const merged = await s.mergePeople('bo', 'ann');
        assert.deepEqual(merged.metadata, { team: 'b', born: 1815, desk: 4 });
      });
    });

    test('calibrations keep only the newest per model and rate, in the same transaction as the new one', async (t) => {
      if (b.skip) return t.skip(b.skip);
      const file = await b.fresh();
      const sample = { sorted: Float32Array.of(0.5, 0.6), total: 2 };
      const record = (modelId: string, far: number, pairThreshold: number) => ({
        modelId,
        far,
        pairThreshold,
        searchThreshold: null,
        impostors: sample,
        searchImpostors: null,
        genuine: sample,
        source: 'gallery',
        people: 2,
        faces: 4,
        createdAt: new Date().toISOString(),
      });
      await withBackendStore(b, file, async (s) => {
        await s.saveCalibrations([record('m', 0.01, 0.4), record('m', 0.05, 0.45)]);
        await s.saveCalibrations([record('other', 0.01, 0.9)]);
        const saved = await s.saveCalibrations([record('m', 0.01, 0.41)]);
        assert.equal(saved[0].pairThreshold, 0.41);
        const all = await s.calibrations('m');
        assert.deepEqual(
          all.map((c) => [c.far, c.pairThreshold]),
          [
            [0.01, 0.41],
            [0.05, 0.45],
          ],
          'newest first, one per rate',
        );
        const both = await s.saveCalibrations([record('m', 0.05, 0.46), record('m', 0.01, 0.42)]);
        assert.deepEqual(
          both.map((c) => c.far),
          [0.05, 0.01],
        );
        assert.deepEqual(
          (await s.calibrations('m')).map((c) => [c.far, c.pairThreshold]),
          [
            [0.05, 0.46],
            [0.01, 0.42],
          ],
          'the first given is the newest',
        );
        assert.equal((await s.calibrations('other')).length, 1, "another model's calibration is not touched");
        // One bad record refuses the whole batch: the calibration it would have replaced stays.
        await assert.rejects(
          s.saveCalibrations([record('m', 0.05, 0.5), record('m', 0.7, 0.5)]),
          code('INVALID_ARGUMENT'),
        );
        await assert.rejects(s.saveCalibrations([record('m', 0.05, Number.NaN)]), code('INVALID_ARGUMENT'));
        assert.deepEqual(
          (await s.calibrations('m')).map((c) => c.pairThreshold),
          [0.46, 0.42],
        );
      });
      assert.equal(
        Number((await b.raw(file, 'SELECT count(*) AS n FROM calibrations'))[0].n),
        3,
        'older rows are deleted, not only hidden',
      );
    });

    test('the change log lets a reader follow additions, removals and merges from a watermark', async (t) => {
      if (b.skip) return t.skip(b.skip);
      await withBackendStore(b, await b.fresh(), async (s) => {
        const f = new Faces(7);
        await s.enroll(f.people(2, 2), M);
        const snap = await s.snapshot();
        assert.equal(snap.batch.ids.length, 4);
        assert.deepEqual(fromBlob(toBlob(snap.batch.vectors.subarray(0, 128))), snap.batch.vectors.subarray(0, 128));
        await s.enroll(f.people(1, 1, 'q'), M);
        await s.mergePeople('p0', 'p1');
        const [gone] = await s.faces('q0');
        await s.removeFaces([gone.id]);
        const c = await s.changesSince(snap.watermark);
        assert.equal(c.added.ids.length, 0, 'the face added after the snapshot was removed again');
        assert.equal(c.peopleChanged, true);
        const p1 = (await s.person('p1'))?.id;
        assert.deepEqual(
          c.log.filter((e) => e.personId !== null).map((e) => e.personId),
          [p1, p1],
        );
        assert.deepEqual(
          c.log.filter((e) => e.personId === null).map((e) => e.faceId),
          [gone.id],
        );
        const none = await s.changesSince(c.watermark);
        assert.deepEqual([none.added.ids.length, none.log.length, none.peopleChanged], [0, 0, false]);
        assert.deepEqual((await s.removedSince(snap.watermark.logSeq)).ids, [gone.id]);
      });
    });

    test('a closed store refuses calls with DISPOSED', async (t) => {
      if (b.skip) return t.skip(b.skip);
      const s = await b.open(await b.fresh());
      await s.close();
      await s.close();
      await assert.rejects(s.people(), code('DISPOSED'));
    });

    test('checkName trims and refuses what cannot be a name', () => {
      assert.equal(checkName('  Zoë Ω '), 'Zoë Ω');
      for (const bad of ['', '   ', 'a\tb', 42]) assert.throws(() => checkName(bad), code('INVALID_ARGUMENT'));
    });
  });
}
