import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
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
    'roc.svg',
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
  assert.match(readFileSync(join(root, 'roc.svg'), 'utf8'), /<svg[^>]*>[\s\S]*polyline[\s\S]*mine/);
});

test('train and eval failure paths: empty folder, one person, bad flags, unknown embedder', async () => {
  const empty = await run(['train', 'empty', '--out', 'x']);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /empty: holds no person folders with photos/);
  const missing = await run(['train', 'nowhere', '--out', 'x']);
  assert.match(missing.stderr, /nowhere: is not a folder/);
  const one = await run(['train', 'one', '--out', 'x', '--model', 'tiny']);
  assert.equal(one.code, 1);
  assert.match(one.stderr, /needs at least 4 people with 2 or more photos.*found 0/);
  const noOut = await run(['train', 'people']);
  assert.match(noOut.stderr, /required option '--out <name>'/);
  const badName = await run(['train', 'people', '--out', '../x']);
  assert.match(badName.stderr, /out: "\.\.\/x" is not a model name/);
  const badMining = await run(['train', 'people', '--out', 'x', '--mining', 'hardest']);
  assert.match(badMining.stderr, /Allowed choices are batch-hard, semi-hard, dlib-pair/);
  const badPart = await run(['train', 'people', '--out', 'x', '--train', 'everything']);
  assert.match(badPart.stderr, /Allowed choices are fc, fc\+head/);
  const badEpochs = await run(['train', 'people', '--out', 'x', '--epochs', '0']);
  assert.match(badEpochs.stderr, /--epochs must be a positive integer/);
  const unknown = await run(['eval', 'people', '--embedder', 'dlib128,nobody']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown embedder "nobody" \(use 'dlib128'/);
  const badRoc = await run(['eval', 'people', '--roc', 'roc.png']);
  assert.match(badRoc.stderr, /--roc: .*ending in \.svg/);
  const emptyEval = await run(['eval', 'empty']);
  assert.match(emptyEval.stderr, /empty: holds no person folders/);
});
