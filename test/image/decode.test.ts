import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { DEFAULT_MAX_PIXELS, imageFromRaw, loadImage } from '../../src/image/decode.js';
import { FaceKitError, type FaceKitErrorCode } from '../../src/errors.js';
import type { Image } from '../../src/types.js';
import { faceApiSample } from '../helpers/faceapi-reference.js';

/** A 3×2 grid of distinct colours: every one of the 8 EXIF orientations gives a different picture. */
const BLOCK = 8;
const GRID_COLORS = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [255, 255, 0],
  [0, 255, 255],
  [255, 0, 255],
] as const;
const GRID_W = 3 * BLOCK;
const GRID_H = 2 * BLOCK;

function gridPixels(): Uint8Array {
  const data = new Uint8Array(GRID_W * GRID_H * 3);
  for (let y = 0; y < GRID_H; y++) {
    for (let x = 0; x < GRID_W; x++) {
      const c = GRID_COLORS[Math.floor(y / BLOCK) * 3 + Math.floor(x / BLOCK)];
      data.set(c, (y * GRID_W + x) * 3);
    }
  }
  return data;
}

/**
 * What a viewer shows for stored pixels `s` (w×h) tagged with EXIF orientation n, written from the
 * tag's definition (where stored row 0 and column 0 end up), independently of sharp.
 */
function orientReference(s: Uint8Array, w: number, h: number, n: number): Image {
  const swap = n >= 5;
  const W = swap ? h : w;
  const H = swap ? w : h;
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let sx: number;
      let sy: number;
      switch (n) {
        case 1:
          [sx, sy] = [x, y];
          break;
        case 2:
          [sx, sy] = [w - 1 - x, y];
          break;
        case 3:
          [sx, sy] = [w - 1 - x, h - 1 - y];
          break;
        case 4:
          [sx, sy] = [x, h - 1 - y];
          break;
        case 5:
          [sx, sy] = [y, x];
          break;
        case 6:
          [sx, sy] = [y, h - 1 - x];
          break;
        case 7:
          [sx, sy] = [w - 1 - y, h - 1 - x];
          break;
        case 8:
          [sx, sy] = [w - 1 - y, x];
          break;
        default:
          throw new Error(`orientation ${n}`);
      }
      data.set(s.subarray((sy * w + sx) * 3, (sy * w + sx) * 3 + 3), (y * W + x) * 3);
    }
  }
  return { width: W, height: H, data };
}

const px = (img: Image, x: number, y: number): number[] =>
  Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

function assertNear(actual: number[], expected: readonly number[], tolerance: number, what: string): void {
  assert.ok(
    actual.every((v, i) => Math.abs(v - expected[i]) <= tolerance),
    `${what}: got [${actual}], expected [${expected}] ±${tolerance}`,
  );
}

async function assertFails(p: Promise<unknown>, code: FaceKitErrorCode, file?: string): Promise<FaceKitError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof FaceKitError, `expected FaceKitError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (file !== undefined) {
      assert.equal(e.file, file);
      assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
    }
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'facekit-decode-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A valid PNG header claiming w×h with no pixel data: only a header-first limit check can refuse it cheaply. */
function pngHeaderOnly(w: number, h: number): Buffer {
  const chunk = (type: string, body: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([len, typed, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(0))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const raw = (data: Uint8Array, width: number, height: number, channels: 1 | 2 | 3 | 4) =>
  sharp(data, { raw: { width, height, channels } });

test('a real JPEG decodes to RGB of its header size', async () => {
  const path = faceApiSample(1);
  const { width, height } = await sharp(path).metadata();
  const img = await loadImage(path);
  assert.equal(img.width, width);
  assert.equal(img.height, height);
  assert.ok(img.data instanceof Uint8Array);
  assert.equal(img.data.length, width * height * 3);
  const bytes = await readFile(path);
  assert.deepEqual(await loadImage(bytes), img);
  assert.deepEqual(await loadImage(new Uint8Array(bytes)), img, 'a plain Uint8Array works too');
});

for (let n = 1; n <= 8; n++) {
  test(`EXIF orientation ${n} is applied`, async () => {
    const stored = gridPixels();
    const jpeg = await raw(stored, GRID_W, GRID_H, 3)
      .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
      .withMetadata({ orientation: n })
      .toBuffer();
    assert.equal((await sharp(jpeg).metadata()).orientation, n, 'fixture carries the tag');
    const img = await loadImage(jpeg);
    const expected = orientReference(stored, GRID_W, GRID_H, n);
    assert.equal(img.width, expected.width);
    assert.equal(img.height, expected.height);
    if (n >= 5) assert.equal(img.width, GRID_H, 'dimensions swap for 5-8');
    for (let y = BLOCK / 2; y < img.height; y += BLOCK) {
      for (let x = BLOCK / 2; x < img.width; x += BLOCK)
        assertNear(px(img, x, y), px(expected, x, y), 12, `orientation ${n} at (${x},${y})`);
    }
  });
}

test('PNG alpha is flattened onto white', async () => {
  // Opaque red; fully transparent with hidden blue; half-transparent black; opaque green.
  const rgba = Uint8Array.from([255, 0, 0, 255, 0, 0, 255, 0, 0, 0, 0, 128, 0, 255, 0, 255]);
  const img = await loadImage(await raw(rgba, 2, 2, 4).png().toBuffer());
  assert.equal(img.data.length, 12);
  assert.deepEqual(px(img, 0, 0), [255, 0, 0]);
  assert.deepEqual(px(img, 1, 0), [255, 255, 255]);
  assertNear(px(img, 0, 1), [127, 127, 127], 1, 'half alpha over white');
  assert.deepEqual(px(img, 1, 1), [0, 255, 0]);
});

test('greyscale and greyscale+alpha become RGB', async () => {
  const grey = await raw(Uint8Array.from([0, 64, 128, 255]), 2, 2, 1)
    .toColourspace('b-w')
    .png()
    .toBuffer();
  assert.equal((await sharp(grey).metadata()).channels, 1, 'fixture is one-channel');
  const img = await loadImage(grey);
  assert.deepEqual(Array.from(img.data), [0, 0, 0, 64, 64, 64, 128, 128, 128, 255, 255, 255]);

  const greyAlpha = await raw(Uint8Array.from([10, 255, 200, 0]), 2, 1, 2)
    .toColourspace('b-w')
    .png()
    .toBuffer();
  const ga = await loadImage(greyAlpha);
  assert.deepEqual(Array.from(ga.data), [10, 10, 10, 255, 255, 255]);
});

test('16-bit PNG is reduced to 8 bits', async () => {
  const png16 = await sharp({ create: { width: 3, height: 2, channels: 3, background: { r: 200, g: 100, b: 50 } } })
    .toColourspace('rgb16')
    .png()
    .toBuffer();
  assert.equal((await sharp(png16).metadata()).depth, 'ushort', 'fixture is 16-bit');
  const img = await loadImage(png16);
  assert.equal(img.data.length, 18);
  assertNear(px(img, 2, 1), [200, 100, 50], 1, '16-bit colour');
});

test('GIF gives its first frame only', async () => {
  const red = await sharp({ create: { width: 6, height: 4, channels: 3, background: '#ff0000' } })
    .png()
    .toBuffer();
  const blue = await sharp({ create: { width: 6, height: 4, channels: 3, background: '#0000ff' } })
    .png()
    .toBuffer();
  const gif = await sharp([red, blue], { join: { animated: true } })
    .gif()
    .toBuffer();
  assert.equal((await sharp(gif).metadata()).pages, 2, 'fixture is animated');
  const img = await loadImage(gif);
  assert.equal(img.width, 6);
  assert.equal(img.height, 4);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) assertNear(px(img, x, y), [255, 0, 0], 2, `gif (${x},${y})`);
});

test('lossless WebP and TIFF decode exactly; AVIF and CMYK JPEG approximately', async () => {
  const stored = gridPixels();
  const webp = await loadImage(await raw(stored, GRID_W, GRID_H, 3).webp({ lossless: true }).toBuffer());
  assert.deepEqual(webp, { width: GRID_W, height: GRID_H, data: stored });
  // sharp's TIFF default is JPEG compression; LZW keeps the fixture lossless.
  const tiff = await loadImage(await raw(stored, GRID_W, GRID_H, 3).tiff({ compression: 'lzw' }).toBuffer());
  assert.deepEqual(tiff, { width: GRID_W, height: GRID_H, data: stored });

  const avif = await loadImage(
    await raw(stored, GRID_W, GRID_H, 3).avif({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer(),
  );
  assert.equal(avif.width, GRID_W);
  assertNear(px(avif, 4, 4), [255, 0, 0], 24, 'avif red block');
  assertNear(px(avif, 20, 12), [255, 0, 255], 24, 'avif magenta block');

  const cmyk = await raw(stored, GRID_W, GRID_H, 3).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer();
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk', 'fixture is CMYK');
  const fromCmyk = await loadImage(cmyk);
  assert.equal(fromCmyk.data.length, GRID_W * GRID_H * 3);
});

test('an embedded ICC profile is converted to sRGB', async () => {
  const srgb = [200, 100, 50];
  const p3 = await sharp({
    create: { width: 2, height: 2, channels: 3, background: { r: srgb[0], g: srgb[1], b: srgb[2] } },
  })
    .withIccProfile('p3')
    .png()
    .toBuffer();
  const storedValues = await sharp(p3, { ignoreIcc: true }).raw().toBuffer();
  assert.ok(
    Math.abs(storedValues[0] - srgb[0]) + Math.abs(storedValues[2] - srgb[2]) > 10,
    'fixture stores Display P3 numbers',
  );
  const img = await loadImage(p3);
  assertNear(px(img, 0, 0), srgb, 2, 'P3 back to sRGB');
});

test('missing, directory, empty, non-image and corrupt inputs each get their code and name the file', async () => {
  await withTempDir(async (dir) => {
    const missing = join(dir, 'nope.jpg');
    await assertFails(loadImage(missing), 'FILE_NOT_FOUND', missing);
    await assertFails(loadImage(join(dir, 'nope', 'a.jpg')), 'FILE_NOT_FOUND');
    await assertFails(loadImage(dir), 'FILE_UNREADABLE', dir);

    const empty = join(dir, 'empty.jpg');
    await writeFile(empty, '');
    await assertFails(loadImage(empty), 'EMPTY_INPUT', empty);

    const text = join(dir, 'notes.jpg');
    await writeFile(text, 'these are not the pixels you are looking for\n');
    await assertFails(loadImage(text), 'NOT_AN_IMAGE', text);

    const jpeg = await readFile(faceApiSample(1));
    const truncated = join(dir, 'half.jpg');
    await writeFile(truncated, jpeg.subarray(0, jpeg.length >> 1));
    await assertFails(loadImage(truncated), 'CORRUPT_IMAGE', truncated);
  });

  await assertFails(loadImage(new Uint8Array(0)), 'EMPTY_INPUT', '<buffer>');
  await assertFails(
    loadImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')),
    'NOT_AN_IMAGE',
    '<buffer>',
  );
  await assertFails(loadImage(Buffer.from('%PDF-1.4\n')), 'NOT_AN_IMAGE');

  const jpeg = await readFile(faceApiSample(2));
  await assertFails(
    loadImage(jpeg.subarray(0, jpeg.length >> 1), { name: 'upload.jpg' }),
    'CORRUPT_IMAGE',
    'upload.jpg',
  );
  await assertFails(loadImage(jpeg.subarray(0, 10)), 'CORRUPT_IMAGE', '<buffer>');
  const png = await sharp(jpeg).png().toBuffer();
  await assertFails(loadImage(png.subarray(0, png.length >> 1)), 'CORRUPT_IMAGE');
});

test('a device file is refused rather than read forever', {
  skip: process.platform === 'win32' && 'no /dev on Windows',
}, async () => {
  await assertFails(loadImage('/dev/zero'), 'FILE_UNREADABLE', '/dev/zero');
});

test('a bad argument is INVALID_ARGUMENT', async () => {
  await assertFails(loadImage(42 as unknown as string), 'INVALID_ARGUMENT');
  await assertFails(loadImage(''), 'INVALID_ARGUMENT');
  for (const maxPixels of [-1, 1.5, Number.NaN])
    await assertFails(loadImage(faceApiSample(1), { maxPixels }), 'INVALID_ARGUMENT');
});

test('the pixel limit is checked from the header before decoding', async () => {
  const small = await raw(gridPixels(), GRID_W, GRID_H, 3).png().toBuffer();
  const area = GRID_W * GRID_H;
  await assertFails(loadImage(small, { maxPixels: area - 1, name: 'small.png' }), 'IMAGE_TOO_LARGE', 'small.png');
  assert.equal((await loadImage(small, { maxPixels: area })).width, GRID_W);

  // A header claiming 110 MP and no pixel data: the default limit refuses it as too large; with
  // the limit off the decoder gets to run and finds no pixels, proving the check came first.
  const bomb = pngHeaderOnly(11_000, 10_000);
  assert.ok(11_000 * 10_000 > DEFAULT_MAX_PIXELS);
  const e = await assertFails(loadImage(bomb), 'IMAGE_TOO_LARGE', '<buffer>');
  assert.match(e.message, /11000×10000/);
  await assertFails(loadImage(bomb, { maxPixels: 0 }), 'CORRUPT_IMAGE');
  await assertFails(loadImage(bomb, { maxPixels: Infinity }), 'CORRUPT_IMAGE');
});

test('imageFromRaw spreads grey, flattens RGBA, copies RGB and validates', () => {
  assert.deepEqual(Array.from(imageFromRaw(Uint8Array.from([7, 9]), 2, 1, 1).data), [7, 7, 7, 9, 9, 9]);

  const rgba = Uint8ClampedArray.from([10, 20, 30, 255, 0, 0, 0, 0, 0, 0, 0, 51]);
  assert.deepEqual(Array.from(imageFromRaw(rgba, 3, 1, 4).data), [10, 20, 30, 255, 255, 255, 204, 204, 204]);

  const rgb = Uint8Array.from([1, 2, 3, 4, 5, 6]);
  const img = imageFromRaw(rgb, 1, 2, 3);
  rgb[0] = 99;
  assert.deepEqual(Array.from(img.data), [1, 2, 3, 4, 5, 6], 'a later change to the caller buffer does not leak in');

  const bad = (f: () => unknown, field: string) =>
    assert.throws(f, (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === field);
  bad(() => imageFromRaw(rgb, 2, 2, 3), 'data');
  bad(() => imageFromRaw(rgb, 0, 2, 3), 'width');
  bad(() => imageFromRaw(rgb, 1, 1.5, 3), 'height');
  bad(() => imageFromRaw(rgb, 1, 3, 2 as 3), 'channels');
  bad(() => imageFromRaw([1, 2, 3] as unknown as Uint8Array, 1, 1, 3), 'data');
});
