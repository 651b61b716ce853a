import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { FaceKitError } from '../../src/errors.js';
import { openGallery } from '../../src/gallery/gallery.js';
import { createFaceKit } from '../../src/pipeline/kit.js';
import { reencodeGallery } from '../../src/pipeline/reencode.js';
import { readDataset } from '../../src/train/dataset.js';
import { evaluateFolder, writeRocPlot } from '../../src/train/evaluate.js';
import { loadImage } from '../../src/image/decode.js';
import { stockTail } from '../../src/train/network.js';
import { trainFromFolder } from '../../src/train/run.js';
import { trainTail } from '../../src/train/trainer.js';
import { cliRunner } from '../helpers/cli.js';
import { samplePath } from '../helpers/photos.js';
import { tempDir } from '../helpers/temp.js';

/**
 * `facekit train` and `facekit eval` end to end on a small folder made from face-api's demo
 * photos: five women's faces, each cut out three ways (as is, mirrored, darker and smaller), one
 * folder per person. Training a few epochs on it takes seconds.
 */
const root = tempDir('facekit-train-cli-');
const cache = join(root, 'models');
const run = cliRunner(root, { FACEKIT_CACHE_DIR: cache });

type FaceBox = readonly [sample: number, x: number, y: number, w: number, h: number];
const PEOPLE: Record<string, FaceBox> = {
  blonde: [3, 585, 329, 199, 271],
  purple: [1, 838, 421, 186, 228],
  paint: [1, 414, 355, 177, 240],
  tilted: [4, 664, 53, 187, 258],
  tied: [5, 787, 109, 156, 212],
};

async function facePhotos(dir: string, [sample, x, y, w, h]: FaceBox): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const meta = await sharp(samplePath(sample)).metadata();
  const side = Math.round(Math.max(w, h) * 1.8);
  const left = Math.max(0, Math.round(x + w / 2 - side / 2));
  const top = Math.max(0, Math.round(y + h / 2 - side / 2));
  const region = {
    left,
    top,
    width: Math.min(side, (meta.width ?? 0) - left),
    height: Math.min(side, (meta.height ?? 0) - top),
  };
  const crop = () => sharp(samplePath(sample)).extract(region);
  await crop().jpeg().toFile(join(dir, 'a.jpg'));
  await crop().flop().jpeg().toFile(join(dir, 'b.jpg'));
  await crop().resize({ width: 200 }).modulate({ brightness: 0.8 }).jpeg().toFile(join(dir, 'c.jpg'));
}

before(async () => {
  for (const [name, box] of Object.entries(PEOPLE)) await facePhotos(join(root, 'people', name), box);
  mkdirSync(join(root, 'empty'));
  mkdirSync(join(root, 'one', 'solo'), { recursive: true });
  writeFileSync(join(root, 'one', 'solo', 'x.jpg'), readFileSync(join(root, 'people', 'blonde', 'a.jpg')));
});

test('train saves an embedder that eval, a kit and --json then use by name', async () => {
  const t = await run(['train', 'people', '--out', 'mine', '--model', 'tiny', '--epochs', '3', '--seed', '2']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /mine: dlib128\+mine, 15\/15 photos with a face/);
  assert.match(t.stderr, /epoch 1\/3 {2}loss [\d.]+ {2}active \d+% {2}a-p [\d.]+ {2}a-n [\d.]+ {2}validation/);
  assert.ok(existsSync(join(cache, 'embedders', 'mine.onnx')));
  const spec = JSON.parse(readFileSync(join(cache, 'embedders', 'mine.json'), 'utf8'));
  assert.equal(spec.modelId, 'dlib128+mine');
  assert.ok(spec.thresholds.match > 0);

  const again = await run(['train', 'people', '--out', 'mine', '--model', 'tiny', '--epochs', '1']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /exists already/);

  const e = await run([
    'eval',
    'people',
    '--embedder',
    'dlib128,mine',
    '--model',
    'tiny',
    '--roc',
    'roc.png',
    '--json',
  ]);
  assert.equal(e.code, 0, e.stderr);
  const results = JSON.parse(e.stdout);
  assert.deepEqual(
    results.map((r: { modelId: string }) => r.modelId),
    ['dlib_resnet128', 'dlib128+mine'],
  );
  for (const r of results) {
    assert.equal(r.facesFound, 15);
    assert.equal(r.samePairs, 15);
    assert.equal(r.otherPairs, 90);
    assert.ok(r.bestAccuracy > 0.8);
    assert.equal(r.tarAtFar1e3, null);
  }
  // The PNG is the SVG plot rendered: a 640×480 image with the curves' colours in it.
  const png = await sharp(join(root, 'roc.png')).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([png.info.width, png.info.height], [640, 480]);
  let red = 0;
  for (let i = 0; i < png.data.length; i += png.info.channels)
    if (png.data[i] > 180 && png.data[i + 1] < 90 && png.data[i + 2] < 90) red++;
  assert.ok(red > 100, `the second curve (red) is drawn: ${red} red pixels`);
  await writeRocPlot(join(root, 'roc.svg'), []);
  assert.match(readFileSync(join(root, 'roc.svg'), 'utf8'), /^<svg/);
  // The other commands encode with it by name; a gallery keeps to one embedder.
  const enrol = await run(['enroll', 'people', '--db', 'tuned.db', '--embedder', 'mine', '--model', 'tiny']);
  assert.equal(enrol.code, 0, enrol.stderr);
  const ident = await run([
    'identify',
    '--db',
    'tuned.db',
    '--embedder',
    'mine',
    '--model',
    'tiny',
    'people/paint/a.jpg',
  ]);
  assert.equal(ident.code, 0, ident.stderr);
  assert.match(ident.stdout, /people\/paint\/a\.jpg,paint/);
  const mixed = await run(['identify', '--db', 'tuned.db', '--model', 'tiny', 'people/paint/a.jpg']);
  assert.equal(mixed.code, 1);
  assert.match(mixed.stderr, /holds dlib128\+mine descriptors.*--embedder mine/);
  const folder = await run(['identify', 'people', 'people/tied/b.jpg', '--embedder', 'mine', '--model', 'tiny']);
  assert.equal(folder.code, 0, folder.stderr);
  assert.match(folder.stdout, /b\.jpg,tied/);
  const verify = await run([
    'verify',
    'people/tied/a.jpg',
    'people/tied/c.jpg',
    '--embedder',
    'mine',
    '--model',
    'tiny',
    '--json',
  ]);
  assert.equal(verify.code, 0, verify.stderr);
  assert.equal(JSON.parse(verify.stdout).threshold.value, spec.thresholds.match);
});

test('train and eval failure paths: empty folder, one person, bad flags, unknown embedder', async () => {
  // In-process where the library decides; a few runs of the command for what the CLI adds.
  await assert.rejects(
    readDataset(join(root, 'empty')),
    (e: unknown) => e instanceof FaceKitError && e.code === 'EMPTY_INPUT',
  );
  await assert.rejects(readDataset(join(root, 'nowhere')), /is not a folder/);
  await assert.rejects(
    trainFromFolder(join(root, 'one'), 'x', { modelsDir: cache, kit: { detector: 'tiny' } }),
    /needs at least 4 people with 2 or more photos.*found 0/,
  );
  await assert.rejects(
    evaluateFolder(join(root, 'people'), ['dlib128', 'nobody'], { kit: { cacheDir: cache } }),
    /unknown embedder "nobody" \(use 'dlib128'/,
  );
  const empty = await run(['train', 'empty', '--out', 'x']);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /empty: holds no person folders with photos/);
  const badName = await run(['train', 'people', '--out', '../x', '--mining', 'hardest']);
  assert.match(badName.stderr, /Allowed choices are batch-hard, semi-hard, dlib-pair/);
  const unknown = await run(['eval', 'people', '--embedder', 'dlib128,nobody', '--roc', 'roc.gif']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /roc: .*ending in \.svg or \.png, got "roc\.gif"/);
  await assert.rejects(
    writeRocPlot(join(root, 'no-such-folder', 'roc.png'), []),
    (e: unknown) => e instanceof FaceKitError && e.code === 'FILE_UNWRITABLE' && /ENOENT/.test(e.message),
  );
  const unknownEnrol = await run(['enroll', 'people', '--db', 'x.db', '--embedder', 'nobody']);
  assert.equal(unknownEnrol.code, 1);
  assert.match(unknownEnrol.stderr, /unknown embedder "nobody"/);
});

test('train refuses bad names and epochs before reading anything', async () => {
  await assert.rejects(
    trainFromFolder(join(root, 'people'), '../x', { modelsDir: cache }),
    /out: "\.\.\/x" is not a model name/,
  );
  await assert.rejects(
    trainFromFolder(join(root, 'people'), 'x', { modelsDir: cache, epochs: 0 }),
    /epochs: must be a positive integer/,
  );
  await assert.rejects(
    trainFromFolder(join(root, 'people'), 'x', { modelsDir: cache, mining: 'hardest' as never }),
    /mining: unknown mining "hardest"/,
  );
});

test('people reencode: a tuned gallery encoded again with dlib128 into a new one; moved photos, refusals', async () => {
  // Needs tuned.db (dlib128+mine, all 15 photos) from the first test.
  const r = await run([
    'people',
    'reencode',
    '--db',
    'tuned.db',
    '--into',
    'back.db',
    '--embedder',
    'dlib128',
    '--model',
    'tiny',
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.modelId, 'dlib_resnet128');
  assert.deepEqual(out.failures, []);
  assert.equal(out.people.length, 5);
  assert.ok(out.people.every((p: { moved: boolean; faces: number; added: number }) => p.moved && p.added === 3));
  const ident = await run(['identify', '--db', 'back.db', '--model', 'tiny', 'people/paint/a.jpg']);
  assert.equal(ident.code, 0, ident.stderr);
  assert.match(ident.stdout, /people\/paint\/a\.jpg,paint/);
  const same = await run(['people', 'reencode', '--db', 'tuned.db', '--into', 'tuned.db', '--embedder', 'dlib128']);
  assert.equal(same.code, 1);
  assert.match(same.stderr, /--into: name a new gallery/);
  const unknown = await run(['people', 'reencode', '--db', 'tuned.db', '--into', 'x.db', '--embedder', 'nobody']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown embedder "nobody"/);

  // In-process: a photo that moved away fails its person only, and is found again by content.
  const tiedB = join(root, 'people', 'tied', 'b.jpg');
  const moved = join(root, 'moved', 'renamed.jpg');
  mkdirSync(join(root, 'moved'), { recursive: true });
  renameSync(tiedB, moved);
  const source = await openGallery({ path: join(root, 'tuned.db'), modelId: 'dlib128+mine', create: false });
  const target = await openGallery({ path: join(root, 'partial.db') });
  const kit = createFaceKit({ detector: 'tiny', cacheDir: cache });
  try {
    const first = await reencodeGallery(source, target, kit, { people: ['tied', 'paint'] });
    assert.deepEqual(
      first.people.map((p) => [p.person, p.moved]),
      [
        ['tied', false],
        ['paint', true],
      ],
    );
    assert.equal(first.failures.length, 1);
    assert.equal(first.failures[0].code, 'FILE_NOT_FOUND');
    assert.equal(first.failures[0].sourceFile, tiedB);
    assert.deepEqual(
      (await target.people()).map((p) => p.name),
      ['paint'],
      'nothing of tied is written',
    );
    const second = await reencodeGallery(source, target, kit, { people: ['tied', 'paint'], photos: [moved] });
    assert.deepEqual(second.failures, []);
    assert.deepEqual(
      second.people.map((p) => [p.person, p.added]),
      [
        ['tied', 3],
        ['paint', 0],
      ],
    );
    assert.equal((await target.faces('tied')).filter((f) => f.sourceFile === moved).length, 1);
    await assert.rejects(
      reencodeGallery(target, target, kit),
      (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === 'embedder',
    );
    await assert.rejects(
      reencodeGallery(source, target, kit, { people: ['nobody'] }),
      (e: unknown) => e instanceof FaceKitError && e.code === 'PERSON_NOT_FOUND',
    );
  } finally {
    renameSync(moved, tiedB);
    await kit.dispose();
    await source.close();
    await target.close();
  }
  const empty = await run(['people', 'reencode', '--db', 'empty.db', '--into', 'y.db', '--embedder', 'dlib128']);
  assert.equal(empty.code, 1);
});

test('train --train last-stage --flip: the block and the mirror images end to end; missing inputs refused', async () => {
  const r = await trainFromFolder(join(root, 'people'), 'staged', {
    part: 'last-stage',
    flip: true,
    epochs: 2,
    seed: 3,
    modelsDir: cache,
    kit: { detector: 'tiny' },
  });
  assert.equal(r.facesFound, 15);
  assert.ok(r.history.length >= 1);
  const spec = JSON.parse(readFileSync(join(cache, 'embedders', 'staged.json'), 'utf8'));
  assert.equal(spec.training.part, 'last-stage');
  assert.equal(spec.training.flip, true);
  const kit = createFaceKit({ embedder: 'staged', detector: 'tiny', cacheDir: cache });
  try {
    const image = await loadImage(join(root, 'people', 'paint', 'a.jpg'));
    const [face] = await kit.analyze(image);
    assert.equal(face.modelId, 'dlib128+staged');
    assert.equal(face.descriptor.length, 128);
  } finally {
    await kit.dispose();
  }
  // The trainer names what a part or augmentation needs and the samples lack.
  const stock = await stockTail({ lastStage: true });
  const rows = Array.from({ length: 8 }, (_, i) => new Float32Array(256).fill(i / 8));
  const samples = { features: rows, labels: Int32Array.from([0, 0, 1, 1, 2, 2, 3, 3]) };
  await assert.rejects(
    trainTail(samples, samples, stock, { part: 'last-stage' }),
    (e: unknown) => e instanceof FaceKitError && e.field === 'train.stage',
  );
  await assert.rejects(
    trainTail(samples, samples, stock, { flip: true }),
    (e: unknown) => e instanceof FaceKitError && e.field === 'train.flipFeatures',
  );
});
