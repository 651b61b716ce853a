/** Issue 16: galleries on read-only storage, empty paths, first-creation races, damage, zero-byte files, ANN leftovers. */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { FaceKitError } from '../../src/errors.js';
import { openGallery } from '../../src/gallery/gallery.js';
import { openSqliteStore } from '../../src/gallery/sqlite.js';
import { removeStaleTempFiles } from '../../src/util/stale-temp.js';
import { Faces } from '../helpers/descriptors.js';
import { tempDir } from '../helpers/temp.js';

const root = tempDir('facekit-harden-gallery-');
let n = 0;
const fresh = (): string => join(root, `g${n++}.db`);
const code = (c: string) => (e: unknown) => e instanceof FaceKitError && e.code === c;
const faces = new Faces(16);

async function galleryWithOnePerson(file: string): Promise<Float32Array> {
  const centre = faces.person();
  const g = await openGallery({ path: file });
  await g.enroll('Ana', [{ descriptor: faces.photo(centre) }]);
  await g.close();
  return centre;
}

/** Who a fresh photo of `centre` is, asked of the gallery opened with the default options of a reader. */
async function whoIs(file: string, centre: Float32Array): Promise<string | null> {
  const g = await openGallery({ path: file, create: false });
  try {
    return (await g.identify([faces.photo(centre)]))[0].person;
  } finally {
    await g.close();
  }
}

describe('gallery paths', () => {
  test("an empty path or ':memory:' is refused (SQLite would open a throw-away database)", async () => {
    for (const path of ['', ':memory:']) {
      await assert.rejects(openGallery({ path }), code('INVALID_ARGUMENT'));
      assert.throws(() => openSqliteStore(path), code('INVALID_ARGUMENT'));
    }
  });

  test('a zero-byte file is not made a gallery by a reader; a writer may start one in it', async () => {
    const file = fresh();
    writeFileSync(file, '');
    await assert.rejects(openGallery({ path: file, create: false }), code('GALLERY_CORRUPT'));
    await assert.rejects(openGallery({ path: file, readOnly: true }), code('GALLERY_CORRUPT'));
    assert.equal(statSync(file).size, 0, 'the reader left the file as it was');
    const g = await openGallery({ path: file });
    assert.equal(g.size, 0);
    await g.close();
  });
});

describe('read-only galleries', () => {
  test('readOnly: people and identify work, nothing is written beside the file, writes fail FILE_UNWRITABLE', async () => {
    const dir = join(root, 'ro');
    mkdirSync(dir);
    const file = join(dir, 'gallery.db');
    const centre = await galleryWithOnePerson(file);
    const before = readFileSync(file);
    const g = await openGallery({ path: file, readOnly: true });
    try {
      assert.deepEqual(
        (await g.people()).map((p) => p.name),
        ['Ana'],
      );
      const [hit] = await g.identify([faces.photo(centre)]);
      assert.equal(hit.person, 'Ana');
      await assert.rejects(g.enroll('Bea', [{ descriptor: faces.photo(faces.person()) }]), code('FILE_UNWRITABLE'));
    } finally {
      await g.close();
    }
    assert.ok(readFileSync(file).equals(before), 'the gallery file is unchanged');
  });

  test('readOnly on a file that does not exist is FILE_NOT_FOUND, not a new gallery', async () => {
    const file = fresh();
    await assert.rejects(openGallery({ path: file, readOnly: true }), code('FILE_NOT_FOUND'));
    assert.equal(existsSync(file), false);
  });

  test('a gallery on a read-only mount opens for reading without being asked (needs root; skipped otherwise)', async (t) => {
    const mountPoint = join(root, 'mnt');
    mkdirSync(mountPoint);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint]);
    if (mounted.status !== 0) {
      t.skip('cannot mount a tmpfs here (not root)');
      return;
    }
    try {
      const file = join(mountPoint, 'gallery.db');
      const centre = await galleryWithOnePerson(file);
      assert.equal(spawnSync('mount', ['-o', 'remount,ro', mountPoint]).status, 0);
      // Not readOnly: the default notices that the file cannot be written (EROFS, even for root).
      assert.equal(await whoIs(file, centre), 'Ana');
    } finally {
      spawnSync('umount', [mountPoint]);
    }
  });

  test('a read-only folder: a non-root user reads with the default options (root writes anyway)', async () => {
    const dir = join(root, 'ro-folder');
    mkdirSync(dir);
    const file = join(dir, 'gallery.db');
    const centre = await galleryWithOnePerson(file);
    chmodSync(file, 0o444);
    chmodSync(dir, 0o555);
    try {
      assert.equal(await whoIs(file, centre), 'Ana');
    } finally {
      chmodSync(dir, 0o755);
      chmodSync(file, 0o644);
    }
  });
});

describe('first creation by several processes at once', () => {
  test('4 processes × 10 opens of one new file: every open succeeds', async () => {
    for (let round = 0; round < 10; round++) {
      const file = fresh();
      const script = `
        const { openSqliteStore } = await import(${JSON.stringify(new URL('../../src/gallery/sqlite.ts', import.meta.url).href)});
        const s = openSqliteStore(process.argv[1]);
        await s.close();`;
      const runs = Array.from(
        { length: 4 },
        () =>
          new Promise<{ code: number | null; err: string }>((resolve) => {
            const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, file], {
              stdio: ['ignore', 'ignore', 'pipe'],
            });
            let err = '';
            child.stderr.on('data', (d) => (err += d));
            child.on('close', (c) => resolve({ code: c, err }));
          }),
      );
      for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.err);
    }
  });
});

describe('damage', () => {
  test('a dropped table is GALLERY_CORRUPT, not INTERNAL', async () => {
    const file = fresh();
    await galleryWithOnePerson(file);
    const db = new Database(file);
    db.exec('DROP TABLE cluster_faces');
    db.close();
    await assert.rejects(openGallery({ path: file }), code('GALLERY_CORRUPT'));
  });

  test("a person's metadata that is not JSON is GALLERY_CORRUPT", async () => {
    const file = fresh();
    await galleryWithOnePerson(file);
    const db = new Database(file);
    db.prepare("UPDATE people SET metadata = '{not json'").run();
    db.close();
    const g = await openGallery({ path: file });
    try {
      await assert.rejects(g.people(), code('GALLERY_CORRUPT'));
    } finally {
      await g.close();
    }
  });
});

describe('ANN index file', () => {
  const big = (file: string) => openGallery({ path: file, index: 'ann', annMinFaces: 1 });

  test('an index path taken by a folder: identify answers from an index built in memory, with a warning', async () => {
    const file = fresh();
    const centre = await galleryWithOnePerson(file);
    mkdirSync(`${file}.hnsw`);
    const notes: string[] = [];
    const g = await openGallery({ path: file, index: 'ann', annMinFaces: 1, onNote: (m) => notes.push(m) });
    try {
      assert.equal((await g.identify([faces.photo(centre)]))[0].person, 'Ana');
      assert.ok(
        notes.some((m) => m.startsWith('warning: search index kept in memory only')),
        notes.join('\n'),
      );
    } finally {
      await g.close();
    }
  });

  test("temporary files of dead processes are removed on save; a live process's is kept", async () => {
    const file = fresh();
    await galleryWithOnePerson(file);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    assert.ok(dead);
    const deadTmp = `${file}.hnsw.${dead}.tmp`;
    const liveTmp = `${file}.hnsw.${process.ppid}.tmp`;
    writeFileSync(deadTmp, 'half an index');
    writeFileSync(liveTmp, 'being written');
    const g = await big(file);
    try {
      await g.indexInfo();
    } finally {
      await g.close();
    }
    assert.equal(existsSync(deadTmp), false);
    assert.equal(existsSync(liveTmp), true);
    assert.equal(existsSync(`${file}.hnsw`), true);
  });

  test('removeStaleTempFiles leaves other names alone', () => {
    const dir = join(root, 'tmpnames');
    mkdirSync(dir);
    const target = join(dir, 'x.hnsw');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    for (const name of [`x.hnsw.${dead}.tmp`, `y.hnsw.${dead}.tmp`, `x.hnsw.abc.tmp`, 'x.hnsw']) {
      writeFileSync(join(dir, name), '');
    }
    removeStaleTempFiles(target);
    assert.deepEqual(readdirSync(dir).sort(), ['x.hnsw', `x.hnsw.abc.tmp`, `y.hnsw.${dead}.tmp`].sort());
  });
});

after(() => undefined);
