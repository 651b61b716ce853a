/**
 * The gallery commands, run as users run them (`node dist/cli/main.js`, built by `npm test`):
 * enroll, people, identify --db, verify, calibrate, cluster, on portraits cropped here from
 * face-api's sample photos. Every run names its gallery (--db or FACEKIT_DB): the user's own
 * default gallery is never touched.
 */
import { openSetThreshold } from '../../src/match/open-set.js';
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { openGallery } from '../../src/gallery/gallery.js';
import { openSqliteStore } from '../../src/gallery/sqlite.js';
import { blankJpeg, samplePath } from '../helpers/photos.js';
import { CLI, cliRunner, type Run } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'facekit-gallery-cli-'));
const cacheDir = join(root, 'cache');
const NO_STACK = /^\s+at /m;

// FACEKIT_DB points into the test folder, so a run that forgets --db still cannot reach the user's gallery.
const facekit = cliRunner(root, { FACEKIT_CACHE_DIR: cacheDir, FACEKIT_DB: join(root, 'default.db') });

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');
const json = <T>(r: Run): T => {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
};

/** Face boxes (x, y, w, h) the tiny detector finds in the samples; crops add 150 px around them. */
const FACES = {
  alice: [1, 1422, 215, 307, 283],
  bob: [2, 1403, 173, 277, 264],
  stranger: [4, 925, 225, 268, 231],
  dora: [1, 776, 445, 313, 256],
  ed: [1, 337, 397, 305, 251],
  fay: [4, 625, 98, 253, 229],
  gus: [5, 1346, 417, 305, 283],
  hal: [5, 734, 134, 237, 196],
} as const;

async function portrait(who: keyof typeof FACES, variant: 'plain' | 'mirror' | 'moved' = 'plain'): Promise<Buffer> {
  const [sample, x, y, w, h] = FACES[who];
  const meta = await sharp(samplePath(sample)).metadata();
  const pad = variant === 'moved' ? 220 : 150;
  const left = Math.max(0, x - pad),
    top = Math.max(0, y - (variant === 'moved' ? 60 : 150));
  const region = {
    left,
    top,
    width: Math.min((meta.width as number) - left, w + 2 * pad),
    height: Math.min((meta.height as number) - top, h + 300),
  };
  let img = sharp(samplePath(sample)).extract(region);
  if (variant === 'mirror') img = img.flop();
  if (variant === 'moved') img = img.resize({ width: Math.round(region.width * 0.7) });
  return img.jpeg({ quality: 92 }).toBuffer();
}

function write(path: string, bytes: Buffer | string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), bytes);
}

before(async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  write('known/alice/a1.jpg', await portrait('alice'));
  write('known/alice/a2.jpg', await portrait('alice', 'mirror'));
  write('known/bob.jpg', await portrait('bob'));
  write('known/group/group.jpg', await sharp(samplePath(1)).resize({ width: 960 }).jpeg().toBuffer());
  write('known/blank/blank.jpg', await blankJpeg());
  write('copies/carol.jpg', readFileSync(join(root, 'known/alice/a1.jpg')));
  write('unknown/alice_moved.jpg', await portrait('alice', 'moved'));
  write(
    'unknown/grey.png',
    await sharp(await blankJpeg(400, 300))
      .png()
      .toBuffer(),
  );
  write('unknown/stranger.jpg', await portrait('stranger'));
  for (const who of ['alice', 'bob', 'dora', 'ed', 'fay', 'gus', 'hal'] as const) {
    write(`labelled/${who}/1.jpg`, await portrait(who));
    write(`labelled/${who}/2.jpg`, await portrait(who, 'mirror'));
  }
  write('photos/a1.jpg', await portrait('alice'));
  write('photos/a2.jpg', await portrait('alice', 'mirror'));
  write('photos/a3.jpg', await portrait('alice', 'moved'));
  write('photos/b1.jpg', await portrait('bob'));
  write('photos/b2.jpg', await portrait('bob', 'mirror'));
  write('photos/s1.jpg', await portrait('stranger'));
  write('notes.txt', 'not a gallery');
  const built = await facekit(['models', 'build']);
  assert.equal(built.code, 0, built.stderr);
});

after(() => rmSync(root, { recursive: true, force: true }));

interface EnrollDoc {
  db: string;
  people: {
    name: string;
    created: boolean;
    added: { file: string; faceId: number }[];
    duplicates: { file: string; person: string }[];
  }[];
  rejected: { file: string; code: string }[];
  errors: { file: string; code: string }[];
}

/** The main gallery: alice (2 photos) and bob, enrolled once by the first test and copied by later ones. */
const MAIN = join(root, 'main.db');
let enrolled: Promise<void>;

function copyGallery(name: string): Promise<string> {
  return enrolled.then(() => {
    const to = join(root, name);
    copyFileSync(MAIN, to);
    return to;
  });
}

describe('facekit enroll and people', () => {
  test('enrols known/<person>/ folders and <person>.jpg files; reports photos with no face or several; skips what is stored already', async () => {
    let release!: () => void;
    enrolled = new Promise((r) => (release = r));
    const first = await facekit(['enroll', '--db', MAIN, '--json', '--cpus', '1', '--one-face-only', 'known']);
    assert.equal(first.code, 1, 'rejected photos make the exit code 1');
    const doc = json<EnrollDoc>(first);
    assert.equal(doc.db, MAIN);
    assert.deepEqual(
      doc.people.map((p) => [p.name, p.created, p.added.map((a) => a.file)]),
      [
        ['alice', true, ['known/alice/a1.jpg', 'known/alice/a2.jpg']],
        ['bob', true, ['known/bob.jpg']],
      ],
    );
    assert.deepEqual(
      doc.rejected.map((r) => [r.file, r.code]),
      [
        ['known/blank/blank.jpg', 'NO_FACE'],
        ['known/group/group.jpg', 'MULTIPLE_FACES'],
      ],
    );
    assert.match(
      first.stderr,
      /known\/group\/group\.jpg: 3 faces found: give a photo of one person \(without --one-face-only/,
    );
    assert.doesNotMatch(first.stderr, NO_STACK);
    release();

    const again = await facekit(['enroll', '--db', MAIN, 'known/alice', '--name', 'alice']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(lines(again.stdout), ['alice: 0 faces enrolled, 2 already in the gallery']);
    const copy = await facekit(['enroll', '--db', join(root, 'copy.db'), '--json', 'known/bob.jpg']);
    assert.equal(copy.code, 0);
    const carol = await facekit(['enroll', '--db', MAIN, '--json', 'copies/carol.jpg']);
    assert.equal(carol.code, 0, carol.stderr);
    assert.deepEqual(json<EnrollDoc>(carol).people, [
      {
        name: 'carol',
        created: false,
        added: [],
        duplicates: [{ file: 'copies/carol.jpg', person: 'alice', faceId: 1 }],
      },
    ]);
  });

  test('people list, show, rename, merge, remove, remove-face, and their failures', async () => {
    const db = await copyGallery('people.db');
    const largest = await facekit(['enroll', '--db', db, '--largest', '--name', 'group', 'known/group/group.jpg']);
    assert.equal(largest.code, 0, largest.stderr);
    assert.match(
      largest.stderr,
      /More than one face found in known\/group\/group\.jpg\. Only considering the largest face\./,
    );
    const list = await facekit(['people', '--db', db]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(lines(list.stdout), [
      'alice\t2 faces',
      'bob\t1 face',
      'group\t1 face',
      `3 people, 4 faces in ${db}`,
    ]);
    const show = json<{
      person: { name: string };
      faces: { id: number; sourceFile: string; contentHash: string; quality: number; box: object }[];
    }>(await facekit(['people', 'show', 'alice', '--db', db, '--json']));
    assert.equal(show.faces.length, 2);
    assert.equal(show.faces[0].sourceFile, join(root, 'known/alice/a1.jpg'));
    assert.match(show.faces[0].contentHash, /^[0-9a-f]{64}$/);
    assert.ok(show.faces[0].quality > 0 && show.faces[0].quality <= 1);

    const runs = [
      await facekit(['people', 'rename', 'group', 'Gina', '--db', db]),
      await facekit(['people', 'merge', 'bob', 'Gina', '--db', db, '--json']),
      await facekit(['people', 'remove-face', String(show.faces[1].id), '--db', db]),
    ];
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    assert.equal(lines(runs[0].stdout)[0], 'renamed group to Gina');
    assert.equal(json<{ person: { faces: number } }>(runs[1]).person.faces, 2);
    const after = json<{ people: { name: string; faces: number }[] }>(
      await facekit(['people', 'list', '--db', db, '--json']),
    );
    assert.deepEqual(
      after.people.map((p) => [p.name, p.faces]),
      [
        ['Gina', 2],
        ['alice', 1],
      ],
    );

    const failures = await Promise.all([
      facekit(['people', 'rename', 'nobody', 'x', '--db', db]),
      facekit(['people', 'rename', 'alice', 'Gina', '--db', db]),
      facekit(['people', 'merge', 'alice', 'alice', '--db', db]),
      facekit(['people', 'remove', 'alice', 'nobody', '--db', db]),
      facekit(['people', 'remove-face', 'abc', '--db', db]),
      facekit(['people', 'remove-face', '99999', '--db', db]),
      facekit(['people', 'show', 'nobody', '--db', db]),
    ]);
    for (const r of failures) {
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /^facekit: /);
      assert.doesNotMatch(r.stderr, NO_STACK);
    }
    assert.match(failures[0].stderr, /no person named "nobody"/);
    assert.match(failures[1].stderr, /"Gina" is already a person in the gallery: merge instead/);
    assert.match(failures[4].stderr, /not a face id: "abc"/);
    assert.match(failures[5].stderr, /no face with id 99999/);
    const kept = json<{ people: { name: string }[] }>(await facekit(['people', '--db', db, '--json']));
    assert.deepEqual(
      kept.people.map((p) => p.name),
      ['Gina', 'alice'],
      'a remove naming an unknown person removed nobody',
    );
    const removed = await facekit(['people', 'remove', 'alice', '--db', db]);
    assert.deepEqual(lines(removed.stdout), ['removed alice and 1 face']);
  });

  test('enroll checks names before analysing, sets --meta, and stops at the first failed commit, listing who was not enrolled', async () => {
    const long = 'n'.repeat(201);
    write(`longname/${long}/1.jpg`, readFileSync(join(root, 'labelled/dora/1.jpg')));
    write('longname/ok/1.jpg', readFileSync(join(root, 'labelled/ed/1.jpg')));
    const db = join(root, 'names.db');
    const [blankName, badMeta] = await Promise.all([
      facekit(['enroll', '--db', db, '--name', ' ', 'known/bob.jpg']),
      facekit(['enroll', '--db', db, '--meta', 'novalue', 'known/bob.jpg']),
    ]);
    assert.equal(blankName.code, 1);
    assert.match(blankName.stderr, /^facekit: --name: a person name cannot be empty$/m);
    assert.match(
      badMeta.stderr,
      /option '--meta <key=value>' argument 'novalue' is invalid\. "novalue" is not key=value/,
    );
    for (const r of [blankName, badMeta]) assert.doesNotMatch(r.stderr, NO_STACK);
    assert.equal(existsSync(db), false, 'refused before the gallery was opened');

    const run = await facekit([
      'enroll',
      '--db',
      db,
      '--json',
      '--meta',
      'team=x',
      '--meta',
      'city=Big Town',
      'longname',
    ]);
    assert.equal(run.code, 1, 'a skipped folder makes the exit code 1');
    const doc = json<EnrollDoc & { notEnrolled: unknown[] }>(run);
    assert.deepEqual(
      doc.errors.map((e) => [e.file, e.code]),
      [[`longname/${long}`, 'INVALID_ARGUMENT']],
    );
    assert.match(
      run.stderr,
      new RegExp(
        `^longname/${long}: cannot be a person's name: a person name is at most 200 characters \\(this one has 201\\)$`,
        'm',
      ),
    );
    assert.deepEqual([doc.people.map((p) => p.name), doc.notEnrolled], [['ok'], []]);
    const show = await facekit(['people', 'show', 'ok', '--db', db]);
    assert.deepEqual(lines(show.stdout).slice(0, 3), ['ok: 1 face', '  team=x', '  city=Big Town']);

    // A gallery whose descriptors are shorter than this model's: every commit fails in the store.
    const short = join(root, 'short.db');
    const g = await openGallery({ path: short });
    await g.enroll('zed', [{ descriptor: new Float32Array(64).fill(0.01) }]);
    await g.close();
    write('stopped/ann/1.jpg', readFileSync(join(root, 'labelled/alice/1.jpg')));
    write('stopped/ben/1.jpg', readFileSync(join(root, 'labelled/bob/1.jpg')));
    write('stopped/cy/blank.jpg', await blankJpeg());
    const [stopped, text] = await Promise.all([
      facekit(['enroll', '--db', short, '--json', '--cpus', '1', 'stopped']),
      facekit(['enroll', '--db', short, '--cpus', '1', 'stopped']),
    ]);
    assert.equal(stopped.code, 1);
    const d = json<
      EnrollDoc & { notEnrolled: { name: string; files: string[] }[]; error: { code: string; file: string } }
    >(stopped);
    assert.deepEqual([d.error.code, d.error.file], ['MODEL_MISMATCH', short]);
    assert.deepEqual(d.people, []);
    assert.deepEqual(d.notEnrolled, [
      { name: 'ann', files: ['stopped/ann/1.jpg'] },
      { name: 'ben', files: ['stopped/ben/1.jpg'] },
      { name: 'cy', files: ['stopped/cy/blank.jpg'] },
    ]);
    assert.deepEqual(d.rejected, [], 'analysis stopped before the blank photo of the last person');
    assert.doesNotMatch(stopped.stderr, /blank\.jpg/);
    assert.equal(text.code, 1);
    assert.match(text.stderr, /WARNING: not enrolled, as the run stopped: ann, ben, cy/);
    assert.match(text.stderr, /^facekit: .*short\.db: .*64/m);
    assert.doesNotMatch(text.stderr, NO_STACK);
    assert.equal(text.stdout, '');
    const s = openSqliteStore(short);
    try {
      assert.deepEqual(
        (await s.people()).map((p) => p.name),
        ['zed'],
        'nothing else was written',
      );
    } finally {
      await s.close();
    }
  });

  test('people set and show metadata; --json for rename, remove, remove-face; failures under --json print one error object', async () => {
    const db = await copyGallery('meta.db');
    const set = await facekit(['people', 'set', 'alice', 'team=a', 'desk=3 B', '--db', db]);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(lines(set.stdout), ['alice: metadata updated', '  team=a', '  desk=3 B']);
    const unset = json<{ person: { metadata: object } }>(
      await facekit(['people', 'set', 'alice', 'room=7', '--unset', 'team', '--db', db, '--json']),
    );
    assert.deepEqual(unset.person.metadata, { desk: '3 B', room: '7' });
    const show = json<{ person: { metadata: object } }>(
      await facekit(['people', 'show', 'alice', '--db', db, '--json']),
    );
    assert.deepEqual(show.person.metadata, { desk: '3 B', room: '7' });

    const failures = await Promise.all([
      facekit(['people', 'set', 'nobody', 'a=b', '--db', db]),
      facekit(['people', 'set', 'alice', 'team', '--db', db]),
      facekit(['people', 'set', 'alice', '--db', db]),
      facekit(['people', 'set', 'alice', 'a=1', '--unset', 'a', '--db', db]),
      facekit(['people', 'merge', 'nobody', 'alice', '--db', db]),
    ]);
    for (const r of failures) {
      assert.equal(r.code, 1, r.stdout);
      assert.doesNotMatch(r.stderr, NO_STACK);
    }
    assert.match(failures[0].stderr, /no person named "nobody"/);
    assert.match(failures[1].stderr, /^facekit: metadata: "team" is not key=value/m);
    assert.match(failures[2].stderr, /nothing to change/);
    assert.match(failures[3].stderr, /"a" is both set and unset/);
    assert.match(failures[4].stderr, /no person named "nobody"/);
    const after = json<{ person: { metadata: object } }>(
      await facekit(['people', 'show', 'alice', '--db', db, '--json']),
    );
    assert.deepEqual(after.person.metadata, { desk: '3 B', room: '7' }, 'refused changes changed nothing');

    const jsonFailures = await Promise.all([
      facekit(['people', 'merge', 'nobody', 'alice', '--db', db, '--json']),
      facekit(['people', 'show', 'alice', '--db', join(root, 'missing.db'), '--json']),
      facekit(['people', 'remove', 'bob', 'nobody', '--db', db, '--json']),
    ]);
    const errors = jsonFailures.map((r) => {
      assert.equal(r.code, 1);
      return json<{ error: { code: string; message: string; file?: string; field?: string } }>(r).error;
    });
    assert.deepEqual(
      errors.map((e) => [e.code, e.field]),
      [
        ['PERSON_NOT_FOUND', 'from'],
        ['FILE_NOT_FOUND', 'db'],
        ['PERSON_NOT_FOUND', 'person'],
      ],
    );
    assert.deepEqual([errors[0].file, errors[1].file], [db, join(root, 'missing.db')]);
    assert.match(errors[0].message, /no person named "nobody"/);
    assert.match(
      jsonFailures[0].stderr,
      /^facekit: .*no person named "nobody"/m,
      'people still read the message on stderr',
    );

    const faces = json<{ faces: { id: number }[] }>(
      await facekit(['people', 'show', 'alice', '--db', db, '--json']),
    ).faces;
    const renamed = json<{ person: { name: string; faces: number } }>(
      await facekit(['people', 'rename', 'bob', 'Robert', '--db', db, '--json']),
    );
    assert.deepEqual([renamed.person.name, renamed.person.faces], ['Robert', 1]);
    const removedFace = json<{ removed: number[] }>(
      await facekit(['people', 'remove-face', String(faces[0].id), '--db', db, '--json']),
    );
    assert.deepEqual(removedFace.removed, [faces[0].id]);
    const removed = json<{ removed: { name: string; faces: number }[] }>(
      await facekit(['people', 'remove', 'alice', 'Robert', 'alice', '--db', db, '--json']),
    );
    assert.deepEqual(removed.removed, [
      { name: 'alice', faces: 1 },
      { name: 'Robert', faces: 1 },
    ]);
    assert.deepEqual(json<{ people: unknown[] }>(await facekit(['people', '--db', db, '--json'])).people, []);
  });

  test('bad gallery files are refused with a clear message and left as they were', async () => {
    const corrupt = join(root, 'corrupt.db');
    writeFileSync(corrupt, 'x'.repeat(8192));
    const runs = await Promise.all([
      facekit(['people', '--db', join(root, 'nothing-here.db')]),
      facekit(['people', '--db', join(root, 'known')]),
      facekit(['people', '--db', corrupt]),
      facekit(['enroll', '--db', corrupt, 'known/bob.jpg']),
      facekit(['enroll', '--db', join(root, 'notes.txt', 'g.db'), 'known/bob.jpg']),
      facekit(['enroll', '--db', join(root, 'x.db'), 'notes.txt']),
      facekit(['enroll', '--db', join(root, 'x.db')]),
    ]);
    for (const r of runs) {
      assert.equal(r.code, 1, r.stderr);
      assert.doesNotMatch(r.stderr, NO_STACK);
    }
    assert.match(runs[0].stderr, /nothing-here\.db: no gallery here: enrol people first/);
    assert.match(runs[1].stderr, /known: is a folder/);
    assert.match(runs[2].stderr, /corrupt\.db: is damaged or not a facekit gallery/);
    assert.match(runs[3].stderr, /corrupt\.db: is damaged or not a facekit gallery/);
    assert.match(runs[4].stderr, /cannot create the gallery's folder/);
    assert.match(runs[5].stderr, /notes\.txt: not an image name: give --name/);
    assert.match(runs[6].stderr, /missing required argument 'paths'/);
    assert.equal(readFileSync(corrupt, 'utf8'), 'x'.repeat(8192));
  });

  test('a gallery of another model is refused with MODEL_MISMATCH naming the file', async () => {
    const other = join(root, 'other-model.db');
    const g = await openGallery({ path: other, modelId: 'arcface_r100' });
    await g.enroll('zed', [{ descriptor: new Float32Array(512).fill(0.01) }]);
    await g.close();
    const runs = await Promise.all([
      facekit(['identify', '--db', other, 'unknown/stranger.jpg']),
      facekit(['enroll', '--db', other, 'known/bob.jpg']),
    ]);
    for (const r of runs) {
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(
          `^facekit: ${other.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: gallery holds arcface_r100 descriptors`,
          'm',
        ),
      );
    }
  });

  test('an enrol killed mid-run keeps every person it reported, each complete', async () => {
    const db = join(root, 'killed.db');
    for (let i = 0; i < 8; i++) {
      write(
        `many/person${i}/1.jpg`,
        readFileSync(join(root, `labelled/${['alice', 'bob', 'dora', 'ed', 'fay', 'gus', 'hal', 'alice'][i]}/1.jpg`)),
      );
      // Distinct bytes per person (a re-encode), so nothing is a duplicate of anything.
      write(
        `many/person${i}/2.jpg`,
        await sharp(join(root, `labelled/${['alice', 'bob', 'dora', 'ed', 'fay', 'gus', 'hal', 'bob'][i]}/2.jpg`))
          .jpeg({ quality: 80 + i })
          .toBuffer(),
      );
    }
    const { reported, signal } = await new Promise<{ reported: string[]; signal: NodeJS.Signals | null }>((done) => {
      const child = spawn(process.execPath, [CLI, 'enroll', '--db', db, '--cpus', '1', 'many'], {
        cwd: root,
        env: { ...process.env, FACEKIT_CACHE_DIR: cacheDir },
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (lines(out).length >= 2) child.kill('SIGKILL');
      });
      child.on('exit', (_code, sig) => done({ reported: lines(out).map((l) => l.split(':')[0]), signal: sig }));
    });
    // A child that finished before the kill would prove nothing about crash safety.
    assert.equal(signal, 'SIGKILL', 'the enrolment was killed mid-run');
    assert.ok(reported.length >= 2);
    const s = openSqliteStore(db);
    try {
      assert.equal(await s.integrityCheck(), 'ok');
      const people = await s.people();
      for (const name of reported)
        assert.ok(
          people.some((p) => p.name === name),
          name,
        );
      for (const p of people) assert.equal(p.faces, 2, `${p.name} is complete`);
      assert.ok(people.length < 8, 'killed before the last person');
    } finally {
      await s.close();
    }
  });
});

describe('facekit identify --db, verify, calibrate', () => {
  test('identify --db: the gallery names people like a known folder does, in input order with two workers; --gallery uses FACEKIT_DB', async () => {
    await enrolled;
    const [r, viaEnv, doc] = await Promise.all([
      facekit(['identify', '--db', MAIN, '--show-distance', '--cpus', '2', 'unknown']),
      facekit(['identify', '--gallery', 'unknown/alice_moved.jpg'], { FACEKIT_DB: MAIN }),
      facekit([
        'identify',
        '--db',
        MAIN,
        '--json',
        '--aggregate',
        'mean',
        '--k',
        '5',
        'unknown/alice_moved.jpg',
        'unknown/stranger.jpg',
      ]),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.match(out[0], /^unknown\/alice_moved\.jpg,alice,0\.\d{6}$/);
    assert.equal(out[1], 'unknown/grey.png,no_persons_found,None');
    assert.match(out[2], /^unknown\/stranger\.jpg,unknown_person,\d\.\d{6}$/);
    assert.match(
      r.stderr,
      /facekit: the gallery is not calibrated: using the built-in calibration, threshold 0\.\d+ for a false-accept rate of 0\.02 over the gallery's people/,
    );
    assert.deepEqual(lines(viaEnv.stdout), ['unknown/alice_moved.jpg,alice']);
    const d = json<{
      threshold: { value: number; source: string };
      aggregate: string;
      index: string;
      results: {
        faces: { name: string | null; nearest: string; confidence: null; runnerUp: { name: string } | null }[];
      }[];
    }>(doc);
    assert.deepEqual([d.threshold.source, d.aggregate, d.index], ['builtin', 'mean', 'exact']);
    // An uncalibrated gallery of 2 people searches with the built-in threshold for 2 people at 0.02.
    assert.ok(Math.abs(d.threshold.value - openSetThreshold('dlib_resnet128', 2).value) < 1e-6, `${d.threshold.value}`);
    assert.deepEqual(
      d.results.map((x) => x.faces.map((f) => f.name)),
      [['alice'], [null]],
    );
    assert.equal(d.results[0].faces[0].runnerUp?.name, 'bob');
    const strict = await facekit(['identify', '--db', MAIN, '--tolerance', '0.05', 'unknown/alice_moved.jpg']);
    assert.deepEqual(lines(strict.stdout), ['unknown/alice_moved.jpg,unknown_person']);
  });

  test('identify --db failures: empty gallery, missing photos, unknown calibration; gallery options without a gallery', async () => {
    await enrolled;
    const empty = join(root, 'empty.db');
    await (await openGallery({ path: empty })).close();
    const runs = await Promise.all([
      facekit(['identify', '--db', empty, 'unknown/stranger.jpg']),
      facekit(['identify', '--db', MAIN]),
      facekit(['identify', '--db', MAIN, '--tolerance', '60', 'unknown/stranger.jpg']),
      facekit(['identify', '--db', MAIN, '--far', '7', 'unknown/stranger.jpg']),
      facekit(['identify', '--db', MAIN, '--aggregate', 'max', 'unknown/stranger.jpg']),
      facekit(['identify', 'known']),
      facekit(['identify', 'known', 'unknown/stranger.jpg', '--far', '0.01', '--k', '3']),
      facekit(['identify', 'known', 'unknown/stranger.jpg', '--aggregate', 'vote']),
    ]);
    for (const r of runs) {
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.doesNotMatch(r.stderr, NO_STACK);
    }
    assert.match(runs[0].stderr, /empty\.db: the gallery holds nobody yet/);
    assert.match(runs[1].stderr, /missing required argument 'paths'/);
    assert.match(runs[2].stderr, /option '--tolerance <n>' argument '60' is invalid/);
    assert.match(runs[3].stderr, /option '--far <rate>' argument '7' is invalid/);
    assert.match(runs[4].stderr, /argument 'max' is invalid/);
    assert.match(runs[5].stderr, /missing required argument 'paths'/);
    assert.match(runs[6].stderr, /--k needs a gallery: add --db <file> or --gallery/);
    assert.match(runs[7].stderr, /--aggregate needs a gallery/);
  });

  test('verify: same or different with distance and threshold; --json; a photo without a face fails', async () => {
    const [same, different, doc, noFace, missing] = await Promise.all([
      facekit(['verify', 'known/alice/a1.jpg', 'unknown/alice_moved.jpg']),
      facekit(['verify', 'known/alice/a1.jpg', 'unknown/stranger.jpg', '--tolerance', '0.5']),
      facekit(['verify', '--json', 'known/bob.jpg', 'known/group/group.jpg']),
      facekit(['verify', 'known/bob.jpg', 'known/blank/blank.jpg']),
      facekit(['verify', 'known/bob.jpg', 'nope.jpg']),
    ]);
    assert.equal(same.code, 0, same.stderr);
    assert.match(lines(same.stdout)[0], /^known\/alice\/a1\.jpg,unknown\/alice_moved\.jpg,same,0\.\d{6},0\.6$/);
    assert.match(lines(different.stdout)[0], /^known\/alice\/a1\.jpg,unknown\/stranger\.jpg,different,\d\.\d{6},0\.5$/);
    const d = json<{
      same: boolean;
      distance: number;
      threshold: { value: number; source: string };
      confidence: null;
      b: { box: object };
    }>(doc);
    assert.equal(d.threshold.source, 'default');
    assert.equal(typeof d.same, 'boolean');
    assert.match(doc.stderr, /More than one face found in known\/group\/group\.jpg/);
    assert.equal(noFace.code, 1);
    assert.match(noFace.stderr, /^known\/blank\/blank\.jpg: no face found$/m);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^nope\.jpg: /m);
  });

  test('calibrate: too few pairs is refused; --from a labelled folder stores thresholds that identify and verify then use', async () => {
    const db = await copyGallery('calibrated.db');
    const [few, bad, badFrom, noGallery] = await Promise.all([
      facekit(['calibrate', '--db', db, '--far', '0.001']),
      facekit(['calibrate', '--db', db, '--far', '0.001,x']),
      facekit(['calibrate', '--db', db, '--far', '0.1', '--from', 'nowhere']),
      facekit(['calibrate', '--db', join(root, 'none.db'), '--far', '0.1']),
    ]);
    assert.equal(few.code, 1);
    assert.match(
      few.stderr,
      /^facekit: a false-accept rate of 0\.001 needs at least 5000 impostor pairs; there are 2/m,
    );
    assert.match(bad.stderr, /option '--far <rates>' argument '0\.001,x' is invalid/);
    assert.match(badFrom.stderr, /nowhere: labelled folder does not exist/);
    assert.match(noGallery.stderr, /no gallery here/);
    for (const r of [few, bad, badFrom, noGallery]) assert.doesNotMatch(r.stderr, NO_STACK);

    const cal = await facekit(['calibrate', '--db', db, '--far', '0.2,0.1', '--from', 'labelled', '--json']);
    assert.equal(cal.code, 0, cal.stderr);
    const c = json<{
      calibrations: {
        far: number;
        pairThreshold: number;
        searchThreshold: number | null;
        impostorPairs: number;
        genuinePairs: number;
        searchProbes: number;
      }[];
    }>(cal);
    assert.deepEqual(
      c.calibrations.map((x) => [x.far, x.impostorPairs, x.genuinePairs, x.searchProbes]),
      [
        [0.2, 84, 7, 14],
        [0.1, 84, 7, 14],
      ],
    );
    assert.ok(c.calibrations[1].pairThreshold < c.calibrations[0].pairThreshold);
    assert.equal(c.calibrations[0].searchThreshold, null, '14 probes are too few for a search FAR of 0.2 (25 needed)');
    assert.match(cal.stderr, /too few search probes/);

    const [ident, ver] = await Promise.all([
      facekit(['identify', '--db', db, '--json', 'unknown/alice_moved.jpg']),
      facekit(['verify', '--db', db, '--far', '0.1', '--json', 'known/alice/a1.jpg', 'unknown/alice_moved.jpg']),
    ]);
    const i = json<{
      threshold: { value: number; source: string; far: number; level: string };
      results: { faces: { confidence: number }[] }[];
    }>(ident);
    assert.deepEqual([i.threshold.source, i.threshold.far, i.threshold.level], ['calibration', 0.2, 'pair']);
    assert.ok(Math.abs(i.threshold.value - c.calibrations[0].pairThreshold) < 1e-6);
    assert.match(ident.stderr, /too few probes for a search threshold: using its pair threshold/);
    assert.equal(typeof i.results[0].faces[0].confidence, 'number');
    const v = json<{ threshold: { value: number; source: string; far: number }; confidence: number }>(ver);
    assert.deepEqual([v.threshold.source, v.threshold.far], ['calibration', 0.1]);
    assert.ok(v.confidence >= 0 && v.confidence <= 1);
  });
});

describe("facekit verify and calibrate failures; calibration on the gallery's own faces", () => {
  test('verify --db of a missing gallery, calibrate --from a file: clear errors, no stack; verify --far on a gallery never calibrated: the built-in calibration', async () => {
    await enrolled;
    const runs = await Promise.all([
      facekit(['verify', '--db', join(root, 'missing.db'), 'known/bob.jpg', 'known/bob.jpg']),
      facekit(['verify', '--db', MAIN, '--far', '0.01', 'known/bob.jpg', 'known/bob.jpg']),
      facekit(['calibrate', '--db', MAIN, '--far', '0.1', '--from', 'notes.txt']),
      facekit(['verify', '--db', MAIN, '--far', '0.01', '--json', 'known/bob.jpg', 'known/bob.jpg']),
    ]);
    for (const r of [runs[0], runs[2]]) {
      assert.equal(r.code, 1, r.stderr);
      assert.doesNotMatch(r.stderr, NO_STACK);
      assert.equal(r.stdout, '');
    }
    assert.match(runs[0].stderr, /missing\.db: no gallery here/);
    assert.equal(runs[1].code, 0, runs[1].stderr);
    assert.match(
      runs[1].stderr,
      /the gallery is not calibrated: using the built-in calibration, threshold 0\.\d+ for a false-accept rate of 0\.01/,
    );
    assert.match(runs[2].stderr, /notes\.txt: is not a folder: give a folder of <person>\/ sub-folders/);
    assert.equal(runs[3].code, 0, runs[3].stderr);
    assert.equal(json<{ threshold: { source: string; far: number } }>(runs[3]).threshold.source, 'builtin');
  });

  test("calibrate --far on the gallery's own faces; identify --far R, --aggregate vote, and a warning for mean with a calibrated threshold", async () => {
    const db = join(root, 'own.db');
    const enrol = await facekit(['enroll', '--db', db, '--cpus', '2', 'labelled']);
    assert.equal(enrol.code, 0, enrol.stderr);
    const cal = await facekit(['calibrate', '--db', db, '--far', '0.1', '--json']);
    assert.equal(cal.code, 0, cal.stderr);
    const [c] = json<{
      calibrations: {
        far: number;
        pairThreshold: number;
        impostorPairs: number;
        genuinePairs: number;
        searchProbes: number;
        source: string;
      }[];
    }>(cal).calibrations;
    assert.deepEqual([c.far, c.impostorPairs, c.genuinePairs, c.searchProbes, c.source], [0.1, 84, 7, 14, 'gallery']);
    const again = await facekit(['calibrate', '--db', db, '--far', '0.1']);
    assert.equal(again.code, 0, again.stderr);
    const s = openSqliteStore(db);
    try {
      assert.equal(
        (await s.calibrations('dlib_resnet128')).length,
        1,
        'calibrating the same rate again replaced the calibration',
      );
    } finally {
      await s.close();
    }

    const [far, vote, mean] = await Promise.all([
      facekit(['identify', '--db', db, '--far', '0.1', '--json', 'unknown/alice_moved.jpg', 'unknown/stranger.jpg']),
      facekit(['identify', '--db', db, '--aggregate', 'vote', '--json', 'unknown/alice_moved.jpg']),
      facekit(['identify', '--db', db, '--aggregate', 'mean', 'unknown/alice_moved.jpg']),
    ]);
    type Doc = {
      threshold: { value: number; source: string; far: number; level: string };
      aggregate: string;
      results: { faces: { name: string | null; votes: number; confidence: number }[] }[];
    };
    const f = json<Doc>(far);
    assert.deepEqual([f.threshold.source, f.threshold.far, f.threshold.level], ['calibration', 0.1, 'pair']);
    assert.ok(Math.abs(f.threshold.value - c.pairThreshold) < 1e-6);
    assert.equal(f.results[0].faces[0].name, 'alice');
    // At a pair rate of 0.1 a stranger meets 7 people: accepted or not, the answer must carry the calibration's confidence.
    for (const r of f.results) assert.ok(r.faces[0].confidence >= 0 && r.faces[0].confidence <= 1);
    const v = json<Doc>(vote);
    assert.equal(v.aggregate, 'vote');
    assert.equal(v.results[0].faces[0].name, 'alice');
    assert.ok(v.results[0].faces[0].votes >= 1 && v.results[0].faces[0].votes <= 2);
    assert.doesNotMatch(vote.stderr, /--aggregate mean/);
    assert.equal(mean.code, 0, mean.stderr);
    assert.match(
      mean.stderr,
      /WARNING: --aggregate mean compares a mean of distances with a threshold calibrated on nearest-face distances/,
    );
  });
});

describe('facekit cluster', () => {
  test('groups unknown faces, saves the run, names a cluster in one step, then leaves known faces out', async () => {
    const db = join(root, 'cluster.db');
    const out = join(root, 'crops');
    const first = await facekit(['cluster', '--db', db, '--json', '--out', out, '--cpus', '1', 'photos']);
    assert.equal(first.code, 0, first.stderr);
    const doc = json<{
      run: number;
      clusters: { cluster: number; size: number; person: null; faces: { file: string }[] }[];
      known: unknown[];
    }>(first);
    assert.deepEqual(
      doc.clusters.map((c) => [c.cluster, c.faces.map((f) => f.file).sort()]),
      [
        [1, ['photos/a1.jpg', 'photos/a2.jpg', 'photos/a3.jpg']],
        [2, ['photos/b1.jpg', 'photos/b2.jpg']],
        [3, ['photos/s1.jpg']],
      ],
    );
    assert.deepEqual(readdirSync(out).sort(), ['cluster-1', 'cluster-2', 'cluster-3']);
    assert.equal(readdirSync(join(out, 'cluster-1')).length, 3);
    assert.equal(
      (await sharp(join(out, 'cluster-2', readdirSync(join(out, 'cluster-2'))[0])).metadata()).format,
      'jpeg',
    );

    const named = await facekit(['cluster', 'name', '1', 'Alice', '--db', db]);
    assert.equal(named.code, 0, named.stderr);
    assert.deepEqual(lines(named.stdout), ['Alice: 3 faces of cluster 1 enrolled (new person)']);
    const list = json<{ run: number; clusters: { cluster: number; person: string | null }[] }>(
      await facekit(['cluster', 'list', '--db', db, '--json']),
    );
    assert.deepEqual(
      list.clusters.map((c) => [c.cluster, c.person]),
      [
        [1, 'Alice'],
        [2, null],
        [3, null],
      ],
    );

    const second = await facekit(['cluster', '--db', db, '--json', 'photos']);
    const doc2 = json<{ run: number; clusters: { size: number }[]; known: { person: string }[] }>(second);
    assert.equal(doc2.run, doc.run + 1);
    assert.deepEqual(
      doc2.known.map((k) => k.person),
      ['Alice', 'Alice', 'Alice'],
    );
    assert.deepEqual(
      doc2.clusters.map((c) => c.size),
      [2, 1],
    );
    const text = await facekit(['cluster', '--db', db, '--include-known', 'photos']);
    assert.match(text.stdout, /^run 3: 6 unknown faces in 2 clusters of 2 or more and 1 single faces$/m);
    // Run 3's cluster 1 is Alice's faces again: a new name for them is refused, naming her; her own name links it.
    const renaming = await facekit(['cluster', 'name', '1', 'Zed', '--db', db, '--json']);
    assert.equal(renaming.code, 1);
    const refused = json<{ error: { code: string; message: string } }>(renaming).error;
    assert.equal(refused.code, 'INVALID_ARGUMENT');
    assert.match(
      refused.message,
      /every face of cluster 1 is in the gallery already, as "Alice": nothing to enrol as "Zed"/,
    );
    assert.doesNotMatch(renaming.stderr, NO_STACK);
    const relinked = json<{
      cluster: number;
      person: string;
      created: boolean;
      added: number[];
      duplicates: unknown[];
    }>(await facekit(['cluster', 'name', '1', 'Alice', '--db', db, '--json']));
    assert.deepEqual(
      [relinked.cluster, relinked.person, relinked.created, relinked.added.length, relinked.duplicates.length],
      [1, 'Alice', false, 0, 3],
    );
    const people = json<{ people: { name: string }[] }>(await facekit(['people', '--db', db, '--json'])).people;
    assert.deepEqual(
      people.map((p) => p.name),
      ['Alice'],
      'no "Zed" was left behind',
    );

    const failures = await Promise.all([
      facekit(['cluster', 'name', '9', 'X', '--db', db]),
      facekit(['cluster', 'name', 'one', 'X', '--db', db]),
      facekit(['cluster', 'list', '--run', '99', '--db', db]),
      facekit(['cluster', 'list', '--db', join(root, 'empty-clusters.db')]),
      facekit(['cluster', '--db', db]),
      facekit(['cluster', '--db', db, '--threshold', '-1', 'photos']),
      facekit(['cluster', '--db', db, 'no-such-folder']),
      facekit(['cluster', '--db', db, '--out', join(root, 'notes.txt', 'crops'), 'photos']),
    ]);
    for (const r of failures) {
      assert.equal(r.code, 1, r.stderr);
      assert.doesNotMatch(r.stderr, NO_STACK);
    }
    assert.match(failures[0].stderr, /no cluster 9 in cluster run/);
    assert.match(failures[1].stderr, /value 'one' is invalid for argument 'cluster'/);
    assert.match(failures[2].stderr, /no cluster run 99/);
    assert.match(failures[3].stderr, /no gallery here/);
    assert.match(failures[4].stderr, /missing photos/);
    assert.match(failures[6].stderr, /no-such-folder: no such file or directory/);
    assert.match(failures[7].stderr, /notes\.txt\/crops: cannot create the folder for face crops \(ENOTDIR\)/);
  });
});
