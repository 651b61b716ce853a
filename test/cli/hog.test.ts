/**
 * `facekit detect --model hog [--upsample n]`, run as users run it (the built CLI): face_detection's
 * lines hold dlib's own boxes (the fixture made by tools/dlib-export/hog_reference).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { CLI, cliRunner } from '../helpers/cli.js';
import { sample640 } from '../helpers/hog-inputs.js';
import { tempDir } from '../helpers/temp.js';

const root = tempDir('facekit-cli-hog-');
const facekit = cliRunner(root, { FACEKIT_CACHE_DIR: join(root, 'cache') });
const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

interface Fixture {
  readonly images: readonly {
    name: string;
    upsample0: { detections: { left: number; top: number; right: number; bottom: number }[] };
  }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/dlib/hog-detections.json', import.meta.url), 'utf8'),
) as Fixture;

before(async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  const image = await sample640(1);
  // PNG: lossless, so the CLI reads the very pixels dlib read for the fixture.
  await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toFile(join(root, 'sample1-640.png'));
});

describe('facekit detect --model hog', { concurrency: true }, () => {
  test('watch picks its detector from the same list as every other command (hog and cnn included)', async () => {
    const help = await facekit(['watch', '--help']);
    assert.equal(help.code, 0, help.stderr);
    for (const name of ['hog', 'cnn', 'mmod']) assert.match(help.stdout, new RegExp(`"${name}"`));
    const bad = await facekit(['watch', 'missing.mp4', '--model', 'hug']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--model.*'hug' is invalid/);
  });

  test("--upsample 0 prints dlib's boxes as face_detection does (top,right,bottom,left)", async () => {
    const run = await facekit(['detect', '--model', 'hog', '--upsample', '0', 'sample1-640.png']);
    assert.equal(run.code, 0, run.stderr);
    const ref = fixture.images.find((i) => i.name === 'sample1-640')?.upsample0.detections ?? [];
    assert.deepEqual(
      lines(run.stdout),
      ref.map((d) => `sample1-640.png,${d.top},${d.right},${d.bottom},${d.left}`),
    );
  });

  test('a bad --upsample is refused before any work, naming the option', async () => {
    for (const value of ['-1', '4', '1.5', 'two']) {
      const run = await facekit(['detect', '--model', 'hog', '--upsample', value, 'sample1-640.png']);
      assert.notEqual(run.code, 0, value);
      assert.match(run.stderr, /--upsample/, value);
      assert.match(run.stderr, /integer from 0 to 3/, value);
      assert.equal(run.stdout, '', value);
    }
  });
});
