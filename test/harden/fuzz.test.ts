/**
 * Generated abuse (issue 16): corrupt, truncated, bit-flipped and polyglot images, absurd headers,
 * and hostile names. Every input must end in a decoded image or a FaceKitError: no other error
 * type, no crash, no hang. Seeded, so a failure reproduces; a few hundred small inputs, a few seconds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { seededRandom } from '../../src/align/jitter.js';
import { FaceKitError } from '../../src/errors.js';
import { checkMetadata, checkName } from '../../src/gallery/validate.js';
import { loadImage } from '../../src/image/decode.js';
import { forTerminal } from '../../src/util/terminal-text.js';

const rnd = seededRandom(16);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];

/** A decoded image, or the FaceKitError it was refused with; anything else fails the test. */
async function decodeOrRefuse(bytes: Uint8Array, what: string): Promise<string> {
  try {
    const img = await loadImage(bytes, { maxPixels: 4_000_000 });
    assert.equal(img.data.length, img.width * img.height * 3, what);
    return 'decoded';
  } catch (e) {
    if (!(e instanceof FaceKitError)) throw new Error(`${what}: ${String(e)}`, { cause: e });
    return e.code;
  }
}

async function seeds(): Promise<Record<string, Buffer>> {
  const base = sharp({
    create: {
      width: 96,
      height: 64,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 50 },
    },
  });
  return {
    jpeg: await base.clone().jpeg().toBuffer(),
    progressive: await base.clone().jpeg({ progressive: true }).toBuffer(),
    png: await base.clone().png().toBuffer(),
    webp: await base.clone().webp().toBuffer(),
    gif: await base.clone().gif().toBuffer(),
    tiff: await base.clone().tiff().toBuffer(),
  };
}

/** A PNG whose header declares `width`×`height` but whose data holds one row of it. */
function pngDeclaring(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    return Buffer.concat([head, data, Buffer.alloc(4)]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1 + Math.min(width, 1000) * 3))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('images', () => {
  test('truncated at 40 points per format: decoded or refused with a FaceKitError', async () => {
    const outcomes = new Map<string, number>();
    for (const [format, bytes] of Object.entries(await seeds())) {
      for (let i = 1; i <= 40; i++) {
        const at = Math.floor((bytes.length * i) / 41);
        const code = await decodeOrRefuse(bytes.subarray(0, at), `${format} cut at ${at}`);
        outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
      }
    }
    // Every cut loses at least 1/41 of the file, so pixel data: refused, never padded with grey.
    assert.deepEqual([...outcomes], [['CORRUPT_IMAGE', 240]]);
  });

  test('40 bit-flipped copies per format: decoded or refused with a FaceKitError', async () => {
    for (const [format, bytes] of Object.entries(await seeds())) {
      for (let i = 0; i < 40; i++) {
        const copy = Buffer.from(bytes);
        const flips = 1 + Math.floor(rnd() * 8);
        for (let f = 0; f < flips; f++) {
          const at = Math.floor(rnd() * copy.length);
          copy[at] ^= 1 << Math.floor(rnd() * 8);
        }
        await decodeOrRefuse(copy, `${format} flip ${i}`);
      }
    }
  });

  test('polyglots, documents and odd headers', async () => {
    const { jpeg, png } = await seeds();
    const cases: Record<string, Buffer> = {
      empty: Buffer.alloc(0),
      oneByte: Buffer.from([0xff]),
      jpegMagicOnly: Buffer.from([0xff, 0xd8, 0xff]),
      svg: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999"/>'),
      pdf: Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\n%%EOF'),
      html: Buffer.from('<!doctype html><script>alert(1)</script>'),
      jpegThenZip: Buffer.concat([jpeg, Buffer.from('PK\u0003\u0004'), Buffer.alloc(64, 7)]),
      pngThenHtml: Buffer.concat([png, Buffer.from('<script>alert(1)</script>')]),
      gifHeaderThenJs: Buffer.from('GIF89a/*\u0000\u0000*/=alert(1)//'),
      riffNotWebp: Buffer.from('RIFF\u0010\u0000\u0000\u0000WAVEfmt '),
      ftypNoBrand: Buffer.concat([Buffer.from([0, 0, 0, 16]), Buffer.from('ftypxxxx'), Buffer.alloc(8)]),
      bigDeclaredPng: pngDeclaring(60_000, 60_000),
      zeroSizePng: pngDeclaring(0, 0),
      tallPng: pngDeclaring(1, 4_000_001),
    };
    const outcomes: Record<string, string> = {};
    for (const [name, bytes] of Object.entries(cases)) outcomes[name] = await decodeOrRefuse(bytes, name);
    assert.equal(outcomes.empty, 'EMPTY_INPUT');
    assert.equal(outcomes.svg, 'NOT_AN_IMAGE');
    assert.equal(outcomes.pdf, 'NOT_AN_IMAGE');
    assert.equal(outcomes.bigDeclaredPng, 'IMAGE_TOO_LARGE');
    assert.equal(outcomes.tallPng, 'IMAGE_TOO_LARGE');
  });
});

describe('names', () => {
  const NASTY = [
    '\u0000',
    '\u001b[31m',
    '\n',
    '\r',
    '\t',
    '\u007f',
    '\u009b',
    '\u202e',
    '\u2066',
    '\u0301',
    'e',
    'é',
    ' ',
    '__proto__',
    '😀',
    '\ud800',
  ];

  test('1000 generated person names: accepted (printable, NFC) or INVALID_ARGUMENT; terminal text never carries controls', () => {
    for (let i = 0; i < 1000; i++) {
      const name = Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => pick(NASTY)).join('');
      try {
        const stored = checkName(name);
        assert.equal(stored, stored.normalize('NFC'));
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the point of the check.
        assert.doesNotMatch(stored, /[\u0000-\u001f\u007f]/);
      } catch (e) {
        assert.ok(e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT', String(e));
      }
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the point of the check.
      assert.doesNotMatch(forTerminal(name), /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    }
  });

  test('generated metadata keys: accepted or INVALID_ARGUMENT, never a silently dropped key', () => {
    for (let i = 0; i < 300; i++) {
      const key = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(NASTY)).join('');
      const meta = JSON.parse(JSON.stringify({ [key]: 'v' })) as Record<string, unknown>;
      try {
        const checked = checkMetadata(meta);
        assert.deepEqual(Object.keys(checked), [key]);
      } catch (e) {
        assert.ok(e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT', String(e));
      }
    }
  });
});
