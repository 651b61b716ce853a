/**
 * `facekit detect --model cnn` as face_recognition's `face_detection --model cnn`: the built CLI
 * on a fixture photo (PNG, so the pixels are those dlib read) prints dlib's own boxes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { CLI, cliRunner } from '../helpers/cli.js';
import { MMOD_BENCH_WIDTH, MMOD_FIXTURE_WIDTH, mmodDetectionInputs } from '../helpers/mmod-inputs.js';

const root = mkdtempSync(join(tmpdir(), 'facekit-mmod-cli-'));
const facekit = cliRunner(root, { FACEKIT_CACHE_DIR: join(root, 'cache') });

interface DlibBox {
  left: number;
  top: number;
  right: number;
  bottom: number;
}
interface Fixture {
  images: { file: string; width: number; height: number; runs: { upsample: number; detections: DlibBox[] }[] }[];
}
const readFixture = (name: string): Fixture =>
  JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'dlib', name), 'utf8')) as Fixture;

/** sample1 at each fixture width, written where the CLI runs: at 384 px dlib finds its faces only upsampled, at 640 px also without. */
const CASES = [
  { width: MMOD_FIXTURE_WIDTH, upsample: 1, fixture: 'mmod-detections.json' },
  { width: MMOD_BENCH_WIDTH, upsample: 0, fixture: 'mmod-detections-640.json' },
] as const;

before(async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  for (const { width } of CASES) {
    const [first] = await mmodDetectionInputs(width);
    assert.ok(first);
    await sharp(first.image.data, { raw: { width: first.image.width, height: first.image.height, channels: 3 } })
      .png()
      .toFile(join(root, `sample1-${width}.png`));
  }
});

after(() => rmSync(root, { recursive: true, force: true }));

/** face_recognition's line for a dlib box: css (top, right, bottom, left) trimmed to the image. */
function cssLine(file: string, b: DlibBox, width: number, height: number): string {
  return [file, Math.max(b.top, 0), Math.min(b.right, width), Math.min(b.bottom, height), Math.max(b.left, 0)].join(
    ',',
  );
}

for (const { width, upsample, fixture } of CASES) {
  test(`detect --model cnn --upsample ${upsample} on a ${width}-px photo prints dlib's boxes as face_detection does`, async () => {
    const ref = readFixture(fixture).images.find((i) => i.file === 'sample1.png');
    assert.ok(ref);
    const run = ref.runs.find((r) => r.upsample === upsample);
    assert.ok(run && run.detections.length > 0, 'dlib found faces here');
    const file = `sample1-${width}.png`;
    const args = ['detect', '--model', 'cnn', ...(upsample === 1 ? [] : ['--upsample', '0']), file];
    const { code, stdout, stderr } = await facekit(args);
    assert.equal(code, 0, stderr);
    const want = run.detections.map((b) => cssLine(file, b, ref.width, ref.height));
    assert.deepEqual(stdout.trim().split('\n').sort(), want.sort());
  });
}

test('--upsample needs --model cnn; a bad count or model is a usage error', async () => {
  const wrongModel = await facekit(['detect', '--upsample', '1', 'sample1-384.png']);
  assert.notEqual(wrongModel.code, 0);
  assert.match(wrongModel.stderr, /--upsample needs --model hog or cnn/);
  const badCount = await facekit(['detect', '--model', 'cnn', '--upsample', 'two', 'sample1-384.png']);
  assert.notEqual(badCount.code, 0);
  assert.match(badCount.stderr, /--upsample/);
  const badModel = await facekit(['detect', '--model', 'cnnn', 'sample1-384.png']);
  assert.notEqual(badModel.code, 0);
  assert.match(badModel.stderr, /cnn/);
});
