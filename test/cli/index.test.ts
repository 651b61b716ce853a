/**
 * `facekit index` and `facekit find`, run as users run them (`node dist/cli/main.js`, built by
 * `npm test`), on face-api's shipped group photos: index a folder, re-index it (nothing new),
 * find a face by photo and a person by name, and the failure paths.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { blankJpeg, samplePath } from '../helpers/photos.js';
import { cliRunner, type Run } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'facekit-index-cli-'));
const facekit = cliRunner(root, { FACEKIT_CACHE_DIR: join(root, 'cache'), FACEKIT_DB: join(root, 'default.db') });
const NO_STACK = /^\s+at /m;
const json = <T>(r: Run): T => {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
};
const errorCode = (r: Run): string => json<{ error: { code: string } }>(r).error.code;

/** Alice's face in face-api's sample1 (x, y, w, h, as the CLI tests of the gallery crop it). */
const ALICE = { x: 1422, y: 215, width: 307, height: 283 };

interface IndexDoc {
  photos: number;
  photosIndexed: number;
  facesStored: number;
  alreadyIndexed: number;
  withoutFaces: string[];
  errors: { file: string; code: string }[];
}

interface FindDoc {
  threshold: { value: number };
  searched: { photos: number; faces: number };
  matches: {
    file: string;
    distance: number;
    face: number;
    box: { x: number; y: number; width: number; height: number };
  }[];
}

before(async () => {
  mkdirSync(join(root, 'archive/2024'), { recursive: true });
  copyFileSync(samplePath(1), join(root, 'archive/group1.jpg'));
  copyFileSync(samplePath(4), join(root, 'archive/2024/group4.jpg'));
  writeFileSync(join(root, 'archive/2024/empty-wall.jpg'), await blankJpeg());
  writeFileSync(join(root, 'archive/broken.jpg'), 'not a JPEG at all');
  // Alice alone, cropped from sample1 and scaled: another photo of a face that is in the archive.
  const region = { left: ALICE.x - 150, top: ALICE.y - 150, width: ALICE.width + 300, height: ALICE.height + 300 };
  writeFileSync(
    join(root, 'alice.jpg'),
    await sharp(samplePath(1)).extract(region).resize({ width: 420 }).jpeg({ quality: 90 }).toBuffer(),
  );
  writeFileSync(join(root, 'notes.txt'), 'not a gallery');
  const built = await facekit(['models', 'build']);
  assert.equal(built.code, 0, built.stderr);
});

after(() => rmSync(root, { recursive: true, force: true }));

describe('facekit index and find', () => {
  const db = join(root, 'g.db');

  test('index stores every face of every photo, names the unreadable one, and a second run adds nothing', async () => {
    const first = await facekit(['index', 'archive', '--db', db, '--json']);
    assert.equal(first.code, 1, first.stderr); // one unreadable photo: reported, the rest indexed
    const doc = json<IndexDoc>(first);
    assert.equal(doc.photos, 4);
    assert.equal(doc.photosIndexed, 3);
    assert.ok(doc.facesStored >= 4, `faces: ${doc.facesStored}`);
    assert.deepEqual(doc.withoutFaces, ['archive/2024/empty-wall.jpg']);
    assert.deepEqual(
      doc.errors.map((e) => e.file),
      ['archive/broken.jpg'],
    );
    assert.match(first.stderr, /archive\/broken\.jpg/);
    assert.doesNotMatch(first.stderr, NO_STACK);

    const again = await facekit(['index', 'archive', '--db', db]);
    assert.equal(again.code, 1, again.stderr);
    assert.match(
      again.stdout,
      /4 photos: 0 indexed \(0 faces stored\), 3 already indexed, 0 without a face, 1 unreadable/,
    );
  });

  test('find by photo lists the photo the face is in, closest first, with its box; --json; --limit', async () => {
    const r = await facekit(['find', 'alice.jpg', '--db', db, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = json<FindDoc>(r);
    assert.equal(doc.searched.photos, 2); // the photos with a face: the empty wall has none
    assert.ok(doc.matches.length >= 1);
    const [best] = doc.matches;
    assert.equal(best.file, 'archive/group1.jpg');
    assert.ok(best.distance < doc.threshold.value);
    assert.ok(Math.abs(best.box.x - ALICE.x) < 60 && Math.abs(best.box.y - ALICE.y) < 60, JSON.stringify(best.box));
    for (let i = 1; i < doc.matches.length; i++) assert.ok(doc.matches[i - 1].distance <= doc.matches[i].distance);
    const text = await facekit(['find', 'alice.jpg', '--db', db, '--limit', '1']);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^archive\/group1\.jpg,0\.\d{6},\d+,\d+,\d+,\d+$/);
  });

  test('find --person searches with every enrolled face of that person', async () => {
    const enrolled = await facekit(['enroll', '--name', 'Alice', 'alice.jpg', '--db', db]);
    assert.equal(enrolled.code, 0, enrolled.stderr);
    const r = await facekit(['find', '--person', 'Alice', '--db', db, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json<FindDoc>(r).matches[0]?.file, 'archive/group1.jpg');
  });

  test('failure paths: missing photo, no face, unknown person, neither or both queries, bad --db, bad --queue, empty index', async () => {
    const missing = await facekit(['find', 'nope.jpg', '--db', db, '--json']);
    assert.notEqual(missing.code, 0);
    assert.equal(errorCode(missing), 'FILE_NOT_FOUND');
    const blank = await facekit(['find', 'archive/2024/empty-wall.jpg', '--db', db, '--json']);
    assert.notEqual(blank.code, 0);
    assert.equal(errorCode(blank), 'NO_FACE');
    const nobody = await facekit(['find', '--person', 'Nobody', '--db', db, '--json']);
    assert.notEqual(nobody.code, 0);
    assert.equal(errorCode(nobody), 'PERSON_NOT_FOUND');
    const neither = await facekit(['find', '--db', db, '--json']);
    assert.equal(errorCode(neither), 'INVALID_ARGUMENT');
    const both = await facekit(['find', 'alice.jpg', '--person', 'Alice', '--db', db, '--json']);
    assert.equal(errorCode(both), 'INVALID_ARGUMENT');
    const badDb = await facekit(['index', 'archive', '--db', 'notes.txt', '--json']);
    assert.notEqual(badDb.code, 0);
    assert.equal(errorCode(badDb), 'GALLERY_CORRUPT');
    const badFindDb = await facekit(['find', 'alice.jpg', '--db', 'notes.txt']);
    assert.notEqual(badFindDb.code, 0);
    assert.match(badFindDb.stderr, /notes\.txt/);
    assert.doesNotMatch(badFindDb.stderr, NO_STACK);
    const badQueue = await facekit(['index', 'archive', '--db', db, '--queue', 'http://127.0.0.1:1', '--json']);
    assert.notEqual(badQueue.code, 0);
    assert.equal(errorCode(badQueue), 'INVALID_ARGUMENT');
    assert.match(badQueue.stdout, /redis:\/\//);
    const noPhotos = await facekit(['index', 'nowhere', '--db', db, '--json']);
    assert.notEqual(noPhotos.code, 0);
    const fresh = join(root, 'fresh.db');
    assert.equal((await facekit(['enroll', '--name', 'Alice', 'alice.jpg', '--db', fresh])).code, 0);
    const empty = await facekit(['find', '--person', 'Alice', '--db', fresh, '--json']);
    assert.equal(errorCode(empty), 'INVALID_ARGUMENT');
    assert.match(empty.stdout, /facekit index/);
  });
});
