/**
 * Makes test/fixtures/dlib/mmod-*.json with dlib's own MMOD detector (./mmod_reference, built as
 * MMOD.md says): writes the inputs as PNG, runs the tool, keeps its output.
 *   npx tsx tools/dlib-export/mmod-fixtures.ts <mmod_human_face_detector.dat>
 * Single-threaded BLAS, so the timings are dlib's one-thread C++ times (bench:speed's ratio).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import {
  MMOD_BENCH_WIDTH,
  MMOD_FIXTURE_WIDTH,
  mmodDetectionInputs,
  mmodPatternImage,
} from '../../test/helpers/mmod-inputs.js';
import type { Image } from '../../src/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', '..', 'test', 'fixtures', 'dlib');
const tool = join(here, 'mmod_reference');
const model = process.argv[2];
if (!model) throw new Error('usage: mmod-fixtures.ts <mmod_human_face_detector.dat> [detect|tensors|bench]...');
const parts = process.argv.length > 3 ? process.argv.slice(3) : ['tensors', 'detect', 'bench'];
/** Timing runs per photo and upsample (the best is kept): one, as dlib takes 10-30 s a photo at upsample 1. */
const BENCH_REPEAT = 1;
const ONE_THREAD = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };

async function writePng(image: Image, path: string): Promise<void> {
  await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toFile(path);
}

/** Runs the tool, which writes JSON to `toolOut`; keeps it under `fixture` (re-indented when `indent`, so diffs stay readable). */
function run(args: string[], toolOut: string, fixture: string, indent?: number): void {
  execFileSync(tool, args, { env: ONE_THREAD, stdio: ['ignore', 'inherit', 'inherit'] });
  writeFileSync(fixture, `${JSON.stringify(JSON.parse(readFileSync(toolOut, 'utf8')), null, indent)}\n`);
}

async function detections(width: number, repeat: number, out: string, dir: string): Promise<void> {
  const paths: string[] = [];
  for (const { name, image } of await mmodDetectionInputs(width)) {
    const path = join(dir, `${name}.png`);
    await writePng(image, path);
    paths.push(path);
  }
  const toolOut = join(dir, 'out.json');
  run(['detect', model, toolOut, String(repeat), ...paths], toolOut, out, 1);
}

const dir = mkdtempSync(join(tmpdir(), 'facekit-mmod-'));
try {
  if (parts.includes('tensors')) {
    const path = join(dir, 'pattern.png');
    await writePng(mmodPatternImage(), path);
    const toolOut = join(dir, 'tensors.json');
    run(['tensors', model, toolOut, path], toolOut, join(fixtures, 'mmod-tensors.json'));
  }
  if (parts.includes('detect')) await detections(MMOD_FIXTURE_WIDTH, 1, join(fixtures, 'mmod-detections.json'), dir);
  if (parts.includes('bench'))
    await detections(MMOD_BENCH_WIDTH, BENCH_REPEAT, join(fixtures, 'mmod-detections-640.json'), dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
