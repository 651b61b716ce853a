/** Photos for tests: face-api's shipped samples, and images the tests make from them. */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { tempDir } from './temp.js';

const require = createRequire(import.meta.url);

export function samplePath(n: number): string {
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', `sample${n}.jpg`);
}

/**
 * A private model cache per test file, so parallel test files never race on one cache; removed
 * when the file's process exits (each holds ~50 MB of models: a suite run must not leave them).
 */
export function isolatedCacheDir(): string {
  const dir = tempDir('facekit-test-cache-');
  process.env.FACEKIT_CACHE_DIR = dir;
  return dir;
}

/** Sample photo scaled to `width` px, as JPEG bytes. */
export function scaledSample(n: number, width: number): Promise<Buffer> {
  return sharp(samplePath(n)).resize({ width }).jpeg({ quality: 92 }).toBuffer();
}

/** A flat grey JPEG: a photo with no face in it. */
export function blankJpeg(width = 320, height = 240): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 128, g: 128, b: 128 } } })
    .jpeg()
    .toBuffer();
}
