/** Issue 16 items 2, 6, 9, 14, 15: what is read, what is written, and what reaches the terminal. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { hashFile } from '../../src/pipeline/enroll.js';
import { FaceKitError } from '../../src/errors.js';
import { openGallery } from '../../src/gallery/gallery.js';
import { DEFAULT_MAX_FILE_BYTES, loadImage } from '../../src/image/decode.js';
import { buildModel } from '../../src/models/cache.js';
import { makeOutputSubfolder, prepareOutputFolder, uniqueName, writeNewFile } from '../../src/util/output-folder.js';
import { checkNotPseudoFs } from '../../src/util/pseudo-fs.js';
import { readRegularFile } from '../../src/util/regular-file.js';
import { forTerminal, lineForTerminal } from '../../src/util/terminal-text.js';
import { Faces } from '../helpers/descriptors.js';
import { tempDir } from '../helpers/temp.js';

const root = tempDir('facekit-harden-files-');
const code = (c: string) => (e: unknown) => e instanceof FaceKitError && e.code === c;

/** JPEG bytes without the entropy-coded data: headers up to SOS, then the end marker. */
function cutAfterScanHeader(jpeg: Buffer): Buffer {
  for (let i = 2; i + 4 <= jpeg.length; ) {
    const length = jpeg.readUInt16BE(i + 2);
    if (jpeg[i + 1] === 0xda) return Buffer.concat([jpeg.subarray(0, i + 2 + length), Buffer.from([0xff, 0xd9])]);
    i += 2 + length;
  }
  throw new Error('no SOS');
}

describe('non-regular files are refused before a byte is read', () => {
  test('a FIFO with no writer: loadImage and the enrolment hash answer FILE_UNREADABLE at once', async () => {
    const fifo = join(root, 'pipe.jpg');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(loadImage(fifo), (e: unknown) => code('FILE_UNREADABLE')(e) && /named pipe/.test(String(e)));
    await assert.rejects(hashFile(fifo), code('FILE_UNREADABLE'));
  });

  test('a device and a folder are refused too', async () => {
    await assert.rejects(readRegularFile('/dev/zero'), code('FILE_UNREADABLE'));
    await assert.rejects(loadImage(root), code('FILE_UNREADABLE'));
  });

  test('a file over the size cap is refused from its size, before it is read', async () => {
    const big = join(root, 'big.jpg');
    writeFileSync(big, Buffer.alloc(4096));
    await assert.rejects(loadImage(big, { maxFileBytes: 1024 }), code('IMAGE_TOO_LARGE'));
    await assert.rejects(readRegularFile(big, { maxBytes: 4095 }), code('IMAGE_TOO_LARGE'));
    assert.equal((await readRegularFile(big, { maxBytes: 4096 })).length, 4096);
    assert.ok(DEFAULT_MAX_FILE_BYTES >= 300_000_000, 'the uncompressed RGB of a 100 MP photo fits');
  });
});

describe('truncated JPEGs', () => {
  test('a JPEG whose scan is cut short by its end marker is CORRUPT_IMAGE, not a photo of grey', async () => {
    const whole = await sharp({ create: { width: 1200, height: 900, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    await assert.rejects(loadImage(cutAfterScanHeader(whole)), code('CORRUPT_IMAGE'));
    await assert.rejects(loadImage(whole.subarray(0, whole.length >> 1)), code('CORRUPT_IMAGE'));
  });

  test('extraneous bytes before a marker (a benign libjpeg warning) are still accepted', async () => {
    const whole = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#406080' } })
      .jpeg()
      .toBuffer();
    // Before the Huffman tables: past the start marker, which must stay first for the file to be a JPEG at all.
    const dht = whole.indexOf(Buffer.from([0xff, 0xc4]));
    const odd = Buffer.concat([whole.subarray(0, dht), Buffer.from([0, 0, 0, 0]), whole.subarray(dht)]);
    await assert.rejects(sharp(odd).raw().toBuffer(), 'sharp on its own refuses it');
    assert.equal((await loadImage(odd)).width, 64);
  });
});

describe('output folders', () => {
  test("'' and kernel file systems are refused; an unwritable place fails before any work", async () => {
    await assert.rejects(prepareOutputFolder('', 'cannot write crops'), code('INVALID_ARGUMENT'));
    await assert.rejects(prepareOutputFolder('/proc/facekit-out', 'cannot write crops'), code('INVALID_ARGUMENT'));
    writeFileSync(join(root, 'a-file'), 'x');
    await assert.rejects(
      prepareOutputFolder(join(root, 'a-file', 'sub'), 'cannot write crops'),
      code('FILE_UNWRITABLE'),
    );
    await prepareOutputFolder(join(root, 'fine', 'deep'), 'cannot write crops');
    assert.ok(existsSync(join(root, 'fine', 'deep')));
  });

  test('a symlink in the way is never followed, with or without replace; an existing file needs replace', async () => {
    const dir = join(root, 'out');
    mkdirSync(dir);
    const victim = join(root, 'victim.txt');
    writeFileSync(victim, 'precious');
    symlinkSync('../victim.txt', join(dir, 'photo.jpg'));
    await assert.rejects(writeNewFile(join(dir, 'photo.jpg'), Buffer.from('jpeg'), false), code('FILE_EXISTS'));
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
    await writeNewFile(join(dir, 'photo.jpg'), Buffer.from('jpeg'), true);
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
    assert.equal(readFileSync(join(dir, 'photo.jpg'), 'utf8'), 'jpeg');
    await assert.rejects(writeNewFile(join(dir, 'photo.jpg'), Buffer.from('again'), false), code('FILE_EXISTS'));
  });

  test('a symlinked subfolder is refused; names are made unique', async () => {
    const dir = join(root, 'out2');
    mkdirSync(dir);
    symlinkSync(root, join(dir, 'cluster-1'));
    await assert.rejects(makeOutputSubfolder(join(dir, 'cluster-1')), code('FILE_UNWRITABLE'));
    await makeOutputSubfolder(join(dir, 'cluster-2'));
    await makeOutputSubfolder(join(dir, 'cluster-2'));
    const taken = new Set<string>();
    assert.deepEqual(
      ['x-face1.jpg', 'x-face1.jpg', 'x-face1.jpg', 'noext'].map((n) => uniqueName(n, taken)),
      ['x-face1.jpg', 'x-face1-2.jpg', 'x-face1-3.jpg', 'noext'],
    );
  });
});

describe('kernel file systems for the gallery and the model cache', () => {
  test('--db and the model cache under /proc or /sys are refused instead of looping', async () => {
    assert.throws(() => checkNotPseudoFs('/proc/self/facekit/x', 'db'), code('INVALID_ARGUMENT'));
    assert.throws(() => checkNotPseudoFs('/sys/facekit', 'db'), code('INVALID_ARGUMENT'));
    checkNotPseudoFs(join(root, 'not', 'yet', 'made'), 'db');
    await assert.rejects(openGallery({ path: '/proc/facekit/gallery.db' }), code('INVALID_ARGUMENT'));
    await assert.rejects(buildModel('mtcnn_pnet', '/proc/facekit-cache'), code('INVALID_ARGUMENT'));
  });
});

describe('names for the terminal and in the gallery', () => {
  test('ESC, newlines, C1 controls and bidi overrides are escaped; tabs and text are kept', () => {
    assert.equal(forTerminal('a\u001b[31mred\nb\u202egpj.exe\u009b\tc é'), 'a\\x1b[31mred\\nb\\u202egpj.exe\\x9b\tc é');
    assert.equal(lineForTerminal('\n\nsection\nline'), '\n\nsection\\nline');
  });

  test('"José" in NFC and NFD is one person, also in a gallery that stored the NFD spelling', async () => {
    const faces = new Faces(3);
    const nfc = 'Jos\u00e9';
    const nfd = 'Jose\u0301';
    const g = await openGallery({ path: join(root, 'names.db') });
    try {
      await g.enroll(nfd, [{ descriptor: faces.photo(faces.person()) }]);
      await g.enroll(nfc, [{ descriptor: faces.photo(faces.person()) }]);
      const people = await g.people();
      assert.equal(people.length, 1);
      assert.equal(people[0].name, nfc);
      assert.equal(people[0].faces, 2);
    } finally {
      await g.close();
    }
  });

  test('__proto__, constructor and prototype are refused as metadata keys, whichever way they come', async () => {
    const faces = new Faces(4);
    const g = await openGallery({ path: join(root, 'meta.db') });
    try {
      const proto = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
      await assert.rejects(
        g.enroll('Ana', [{ descriptor: faces.photo(faces.person()) }], proto),
        code('INVALID_ARGUMENT'),
      );
      await g.enroll('Ana', [{ descriptor: faces.photo(faces.person()) }]);
      await assert.rejects(g.setMetadata('Ana', proto), code('INVALID_ARGUMENT'));
      await assert.rejects(g.setMetadata('Ana', { constructor: 'x' }), code('INVALID_ARGUMENT'));
    } finally {
      await g.close();
    }
  });
});
