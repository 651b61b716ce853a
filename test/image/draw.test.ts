import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { annotate, escapeXml, saveImage } from '../../src/image/draw.js';
import { loadImage } from '../../src/image/decode.js';
import { FaceKitError } from '../../src/errors.js';
import type { Image } from '../../src/types.js';

const W = 200;
const H = 150;
const GREY = 128;
const plain = (): Image => ({ width: W, height: H, data: new Uint8Array(W * H * 3).fill(GREY) });
const px = (img: Image, x: number, y: number): number[] =>
  Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
const box = { x: 40, y: 50, width: 80, height: 60 };
const isInvalid = (e: unknown): boolean => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT';

test('annotate returns a JPEG of the same size, changed on the box and nowhere far from it', async () => {
  const jpeg = await annotate(plain(), [{ box, color: '#ff0000' }]);
  assert.equal((await sharp(jpeg).metadata()).format, 'jpeg');
  const out = await loadImage(jpeg);
  assert.equal(out.width, W);
  assert.equal(out.height, H);
  const onEdge = px(out, 40, 80);
  assert.ok(onEdge[0] > 200 && onEdge[1] < 80 && onEdge[2] < 80, `left edge is red: ${onEdge}`);
  for (const [x, y] of [
    [80, 80],
    [5, 5],
    [190, 140],
    [80, 130],
  ]) {
    assert.ok(
      px(out, x, y).every((v) => Math.abs(v - GREY) <= 4),
      `(${x},${y}) untouched: ${px(out, x, y)}`,
    );
  }
});

test('PNG output draws box, landmark dots and label backdrop exactly where asked', async () => {
  const png = await annotate(plain(), [{ box, color: '#0000ff', landmarks: [{ x: 70, y: 75 }], label: 'Ada' }], {
    format: 'png',
  });
  assert.equal((await sharp(png).metadata()).format, 'png');
  const out = await loadImage(png);
  assert.deepEqual(px(out, 40, 80), [0, 0, 255], 'box edge');
  assert.deepEqual(px(out, 80, 50), [0, 0, 255], 'top edge');
  assert.deepEqual(px(out, 70, 75), [0, 0, 255], 'landmark dot');
  assert.deepEqual(px(out, 90, 90), [GREY, GREY, GREY], 'inside the box, away from the dot');
  assert.deepEqual(px(out, 150, 20), [GREY, GREY, GREY], 'far away');
  // The label sits above the box, its backdrop in the face colour starting at the box's left edge.
  assert.deepEqual(px(out, 50, 34), [0, 0, 255], 'label backdrop, above the glyphs');
  assert.deepEqual(px(out, 41, 20), [GREY, GREY, GREY], 'above the label');
});

test('labels are escaped: markup in a name is drawn as text, not obeyed', async () => {
  assert.equal(escapeXml(`<b> & "q" 'a'\u0001`), '&lt;b&gt; &amp; &quot;q&quot; &apos;a&apos;');
  const hostile = `</text><rect x="0" y="0" width="${W}" height="${H}" fill="#ff00ff"/><text>\u0007&`;
  const out = await loadImage(await annotate(plain(), [{ box, label: hostile }], { format: 'png' }));
  assert.deepEqual(px(out, 190, 140), [GREY, GREY, GREY], 'the injected full-image rect was not drawn');
});

test('annotate validates faces, colours and options', async () => {
  await assert.rejects(annotate(plain(), [{ box, color: '"/><rect' }]), isInvalid);
  await assert.rejects(annotate(plain(), [{ box, color: 'red;stroke:blue' }]), isInvalid);
  await assert.rejects(annotate(plain(), [{ box: { ...box, width: Number.NaN } }]), isInvalid);
  await assert.rejects(annotate(plain(), [{ box, landmarks: [{ x: 1, y: Infinity }] }]), isInvalid);
  await assert.rejects(annotate(plain(), [], { quality: 0 }), isInvalid);
  await assert.rejects(annotate(plain(), [], { format: 'bmp' as 'png' }), isInvalid);
  await assert.rejects(annotate({ width: 2, height: 2, data: new Uint8Array(3) }, []), isInvalid);
  // Accepted colour syntaxes and an empty face list.
  await annotate(plain(), [
    { box, color: 'rgb(10, 20, 30)' },
    { box, color: 'hsla(120, 50%, 50%, 0.5)' },
    { box, color: 'orange' },
    { box, color: '#abc' },
  ]);
  assert.equal((await loadImage(await annotate(plain(), []))).width, W);
});

test('saveImage writes the format its extension names', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'facekit-draw-'));
  try {
    const img = plain();
    img.data.fill(200, 0, 3 * W * 10);
    const png = join(dir, 'a.PNG');
    await saveImage(img, png);
    assert.deepEqual(await loadImage(png), img, 'PNG round-trips exactly');
    for (const [file, format] of [
      ['b.jpg', 'jpeg'],
      ['c.webp', 'webp'],
      ['d.tiff', 'tiff'],
    ] as const) {
      const path = join(dir, file);
      await saveImage(img, path, { quality: 80 });
      const meta = await sharp(path).metadata();
      assert.equal(meta.format, format);
      assert.equal(meta.width, W);
    }
    await assert.rejects(saveImage(img, join(dir, 'e.bmp')), isInvalid);
    await assert.rejects(saveImage(img, join(dir, 'noext')), isInvalid);
    await assert.rejects(
      saveImage(img, join(dir, 'missing', 'f.png')),
      (e: unknown) => e instanceof FaceKitError && e.code === 'FILE_UNWRITABLE',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
