/**
 * The images dlib's MMOD reference fixtures were made from (tools/dlib-export/mmod-fixtures.ts)
 * and the MMOD tests rebuild, by name: the npm-shipped sample photos scaled by sharp (same
 * package-lock, same pixels), a mirrored copy, and a small synthetic image whose tiled pyramid
 * and score map are compared value for value.
 */
import sharp, { type Sharp } from 'sharp';
import type { Image } from '../../src/types.js';
import { noiseImage } from './images.js';
import { samplePath } from './photos.js';

/** Width of the sample photos in the test fixtures: small enough for a fast suite, faces still 30+ px. */
export const MMOD_FIXTURE_WIDTH = 384;
/** Width of the benchmark's photos (bench:speed's "640-px photo"). */
export const MMOD_BENCH_WIDTH = 640;
export const MMOD_SAMPLES = [1, 2, 3, 4, 5, 6] as const;

export interface NamedImage {
  readonly name: string;
  readonly image: Image;
}

async function raw(pipeline: Sharp): Promise<Image> {
  const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Sample photo `n` scaled to `width` px (EXIF orientation applied, Lanczos as sharp does by default). */
export function scaledSampleImage(n: number, width: number, mirrored = false): Promise<Image> {
  const pipeline = sharp(samplePath(n)).rotate().resize({ width });
  return raw(mirrored ? pipeline.flop() : pipeline);
}

/** Noise over per-channel ramps: an odd-sized image with edges everywhere for the tensor comparison. */
export function mmodPatternImage(width = 57, height = 43): Image {
  const noise = noiseImage(width, height, 11);
  const data = new Uint8Array(noise.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let ch = 0; ch < 3; ch++) {
        const i = (y * width + x) * 3 + ch;
        const ramp = ch === 0 ? (x * 255) / width : ch === 1 ? (y * 255) / height : ((x + y) * 255) / (width + height);
        data[i] = Math.min(255, Math.round(0.75 * ramp + 0.25 * (noise.data[i] as number)));
      }
    }
  }
  return { width, height, data };
}

/** The detection fixtures' inputs: the six samples at `width`, and a mirrored sample 1 (an image the tests make). */
export async function mmodDetectionInputs(width: number): Promise<NamedImage[]> {
  const samples = await Promise.all(
    MMOD_SAMPLES.map(async (n) => ({ name: `sample${n}`, image: await scaledSampleImage(n, width) })),
  );
  return [...samples, { name: 'sample1-mirrored', image: await scaledSampleImage(1, width, true) }];
}
