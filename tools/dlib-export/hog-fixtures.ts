/**
 * Makes test/fixtures/dlib/hog-*.json with dlib's own HOG detector (./hog_reference, built by
 * `make` here): writes the test images as PNG, runs the tool, and keeps its output.
 *   npx tsx tools/dlib-export/hog-fixtures.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { fhogTestImage, hogReferenceInputs } from '../../test/helpers/hog-inputs.js';
import type { Image } from '../../src/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', '..', 'test', 'fixtures', 'dlib');
const tool = join(here, 'hog_reference');

async function writePng(image: Image, path: string): Promise<void> {
  await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toFile(path);
}

const dir = mkdtempSync(join(tmpdir(), 'facekit-hog-'));
try {
  const args: string[] = [];
  for (const { name, image } of await hogReferenceInputs()) {
    const path = join(dir, `${name}.png`);
    await writePng(image, path);
    args.push(`${name}=${path}`);
  }
  const detections = execFileSync(tool, ['detect', ...args], { maxBuffer: 1 << 26 }).toString();
  writeFileSync(join(fixtures, 'hog-detections.json'), `${JSON.stringify(JSON.parse(detections), null, 1)}\n`);

  const fhogPath = join(dir, 'fhog.png');
  await writePng(fhogTestImage(), fhogPath);
  const fhog = execFileSync(tool, ['fhog', fhogPath], { maxBuffer: 1 << 26 }).toString();
  writeFileSync(join(fixtures, 'hog-fhog.json'), `${JSON.stringify(JSON.parse(fhog))}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
