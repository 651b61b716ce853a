/**
 * Issue 16 through the command line, as users run it (`node dist/cli/main.js`, built by `npm test`):
 * FIFOs, empty --db, read-only galleries, output folders (symlinks, existing files, same-named
 * photos, odd JPEGs), hostile file and person names, kernel file systems, a full stdout, and a
 * command line of ~70 KB (onnxruntime-node 1.30 segfaulted above ~29 KB).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { openGallery } from '../../src/gallery/gallery.js';
import { CLI, cliRunner, type Run } from '../helpers/cli.js';
import { Faces } from '../helpers/descriptors.js';
import { samplePath } from '../helpers/photos.js';
import { tempDir } from '../helpers/temp.js';

const root = tempDir('facekit-harden-cli-');
const cacheDir = join(root, 'cache');
const env = { FACEKIT_CACHE_DIR: cacheDir, FACEKIT_DB: join(root, 'default.db') };
const facekit = cliRunner(root, env);
const NO_STACK = /^\s+at /m;
/** Raw terminal controls that must never reach stderr or stdout unescaped. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is what is looked for.
const RAW_CONTROLS = /[\u001b\u009b\u202e\u2066-\u2069]/;
const SLOW = { timeout: 600_000 };

const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));

/** A JPEG with 4 stray bytes before its Huffman tables: libjpeg warns, every viewer opens it. */
function withExtraneousBytes(jpeg: Buffer): Buffer {
  const dht = jpeg.indexOf(Buffer.from([0xff, 0xc4]));
  return Buffer.concat([jpeg.subarray(0, dht), Buffer.from([0, 0, 0, 0]), jpeg.subarray(dht)]);
}

before(async () => {
  // Builds the models once for this file (the first command would, with a note on stderr).
  const r = await facekit(['models', 'build']);
  assert.equal(r.code, 0, r.stderr);
  const photo = await sharp(samplePath(2)).resize({ width: 640 }).jpeg().toBuffer();
  writeFileSync(join(root, 'photo.jpg'), photo);
});

describe('inputs', () => {
  test('a FIFO among the photos is refused at once; the other photos are still done', SLOW, async () => {
    execFileSync('mkfifo', [join(root, 'pipe.jpg')]);
    const r = await facekit(['detect', 'pipe.jpg', 'photo.jpg']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /pipe\.jpg: .*(named pipe|not a regular file)/);
    assert.match(r.stdout, /^photo\.jpg,\d+,\d+,\d+,\d+$/m);
    assert.doesNotMatch(r.stderr, NO_STACK);
  });

  test(
    'hostile file names are escaped on the terminal: no ESC, bidi override or split line gets through',
    SLOW,
    async () => {
      const name = 'evil\u001b[2J\u202egpj.exe\nphoto.jpg: fine.jpg';
      writeFileSync(join(root, name), 'not an image');
      const r = await facekit(['detect', name]);
      assert.equal(r.code, 1);
      assert.doesNotMatch(r.stderr, RAW_CONTROLS);
      const complaint = r.stderr.split('\n').filter((l) => l.includes('evil'));
      assert.equal(complaint.length, 1, r.stderr);
      assert.match(complaint[0], /evil\\x1b\[2J\\u202egpj\.exe\\nphoto\.jpg: fine\.jpg: not a supported image/);
    },
  );

  test('a command line of ~400 long paths (> 60 KB) runs without crashing', SLOW, async () => {
    const dir = join(root, `many-${'d'.repeat(100)}`);
    mkdirSync(dir);
    const blank = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#777' } })
      .jpeg()
      .toBuffer();
    const paths: string[] = [];
    for (let i = 0; i < 400; i++) {
      const file = join(dir, `${String(i).padStart(3, '0')}-${'p'.repeat(60)}.jpg`);
      writeFileSync(file, blank);
      paths.push(file);
    }
    assert.ok(paths.join(' ').length > 60_000);
    const r = await facekit(['detect', ...paths]);
    assert.equal(r.code, 0, r.stderr.slice(0, 2000));
    assert.doesNotMatch(r.stderr, NO_STACK);
  });
});

describe('galleries', () => {
  test('--db "" is refused by enroll and people list (it would store nothing and say "enrolled")', SLOW, async () => {
    for (const args of [
      ['enroll', '--db', '', '--name', 'Zico', 'photo.jpg'],
      ['people', 'list', '--db', ''],
    ]) {
      const r = await facekit(args);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /needs a gallery file path/);
      assert.doesNotMatch(r.stdout, /enrolled/);
    }
  });

  test('--db under /proc and a model cache under /proc are refused, not spun on', SLOW, async () => {
    const db = await facekit(['people', 'list', '--db', '/proc/facekit/gallery.db']);
    assert.equal(db.code, 1);
    assert.match(db.stderr, /procfs/);
    const cache = await facekit(['detect', 'photo.jpg'], { FACEKIT_CACHE_DIR: '/proc/facekit-cache' });
    assert.equal(cache.code, 1);
    assert.match(cache.stderr, /procfs/);
    assert.doesNotMatch(cache.stderr, NO_STACK);
  });

  test(
    'person names with controls are escaped; __proto__ is refused by people set and enroll --meta',
    SLOW,
    async () => {
      const db = join(root, 'names.db');
      const faces = new Faces(5);
      const g = await openGallery({ path: db });
      await g.enroll('Ana\u202eoJ', [{ descriptor: faces.photo(faces.person()) }]);
      await g.close();
      const list = await facekit(['people', 'list', '--db', db]);
      assert.equal(list.code, 0, list.stderr);
      assert.doesNotMatch(list.stdout, RAW_CONTROLS);
      assert.match(list.stdout, /Ana\\u202eoJ/);
      const set = await facekit(['people', 'set', 'Ana\u202eoJ', '__proto__=v', '--db', db]);
      assert.equal(set.code, 1);
      assert.match(set.stderr, /reserved/);
      assert.doesNotMatch(set.stdout, /updated/);
      const meta = await facekit(['enroll', '--db', db, '--name', 'Bo', '--meta', '__proto__=1', 'photo.jpg']);
      assert.equal(meta.code, 1);
      assert.match(meta.stderr, /reserved/);
    },
  );

  test(
    'people list and identify work on a gallery on a read-only mount (needs root; skipped otherwise)',
    SLOW,
    async (t) => {
      const mnt = join(root, 'mnt');
      mkdirSync(mnt);
      if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]).status !== 0) {
        t.skip('cannot mount a tmpfs here (not root)');
        return;
      }
      try {
        const db = join(mnt, 'gallery.db');
        const enrolled = await facekit(['enroll', '--db', db, '--name', 'Ana', '--largest', 'photo.jpg']);
        assert.equal(enrolled.code, 0, enrolled.stderr);
        assert.equal(spawnSync('mount', ['-o', 'remount,ro', mnt]).status, 0);
        const list = await facekit(['people', 'list', '--db', db]);
        assert.equal(list.code, 0, list.stderr);
        assert.match(list.stdout, /^Ana\t1 face$/m);
        const who = await facekit(['identify', '--db', db, 'photo.jpg']);
        assert.equal(who.code, 0, who.stderr);
        assert.match(who.stdout, /Ana/);
      } finally {
        spawnSync('umount', [mnt]);
      }
    },
  );
});

describe('output folders', () => {
  test(
    'cluster --out: a JPEG with stray bytes is cropped, same-named photos keep one crop each, existing crops need --force',
    SLOW,
    async () => {
      mkdirSync(join(root, 'a'));
      mkdirSync(join(root, 'b'));
      writeFileSync(join(root, 'a', 'x.jpg'), withExtraneousBytes(await sharp(samplePath(1)).jpeg().toBuffer()));
      copyFileSync(samplePath(3), join(root, 'b', 'x.jpg'));
      const db = join(root, 'cluster.db');
      const args = ['cluster', 'a', 'b', '--db', db, '--out', 'crops', '--include-known', '--json'];
      const r = await facekit(args);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { clusters: { faces: unknown[] }[] };
      const faces = doc.clusters.reduce((n, c) => n + c.faces.length, 0);
      assert.ok(faces >= 4, `faces: ${faces}`);
      assert.equal(files(join(root, 'crops')).length, faces, 'one crop per face, none overwritten');
      const again = await facekit(args);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /exists already/);
      const forced = await facekit([...args, '--force']);
      assert.equal(forced.code, 0, forced.stderr);
    },
  );

  test("demo --out: a symlink planted in the folder is never followed; '' is refused", SLOW, async () => {
    const out = join(root, 'demo-out');
    mkdirSync(out);
    writeFileSync(join(root, 'victim.txt'), 'precious');
    symlinkSync('../victim.txt', join(out, 'sample2.jpg'));
    const r = await facekit(['demo', '--out', out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /sample2\.jpg: exists already/);
    assert.equal(readFileSync(join(root, 'victim.txt'), 'utf8'), 'precious');
    const forced = await facekit(['demo', '--out', out, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(readFileSync(join(root, 'victim.txt'), 'utf8'), 'precious');
    assert.ok(lstatSync(join(out, 'sample2.jpg')).isFile());
    const empty = await facekit(['demo', '--out', '']);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /is empty/);
  });

  test('a full stdout (> /dev/full) is a one-line error and exit 1, not a stack', SLOW, async () => {
    const full = openSync('/dev/full', 'w');
    try {
      const r = await new Promise<Run>((done) => {
        const child = spawn(process.execPath, [CLI, 'detect', 'photo.jpg'], {
          cwd: root,
          env: { ...process.env, ...env },
          stdio: ['ignore', full, 'pipe'],
        });
        let stderr = '';
        child.stderr?.on('data', (d) => (stderr += d));
        child.on('close', (code) => done({ code: code ?? -1, stdout: '', stderr }));
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot write the output \(ENOSPC\)/);
      assert.doesNotMatch(r.stderr, NO_STACK);
    } finally {
      closeSync(full);
    }
  });
});
