/**
 * The images dlib's HOG reference fixtures were made from (tools/dlib-export/hog-fixtures.ts) and
 * the HOG tests rebuild: the npm-shipped sample photos box-averaged to 640 px wide (integer
 * arithmetic, so the pixels are the same on every machine once the JPEG is decoded), a mirrored
 * and a smaller copy, and synthetic ones.
 */
import { loadImage } from '../../src/image/decode.js';
import type { Image } from '../../src/types.js';
import { noiseImage } from './images.js';
import { samplePath } from './photos.js';

export interface NamedImage {
  readonly name: string;
  readonly image: Image;
}

/** Mean of each k×k block (rounded half up); the last partial row/column of blocks is dropped. */
export function boxDownscale(src: Image, k: number): Image {
  const width = Math.floor(src.width / k);
  const height = Math.floor(src.height / k);
  const data = new Uint8Array(width * height * 3);
  const area = k * k;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let ch = 0; ch < 3; ch++) {
        let sum = 0;
        for (let dy = 0; dy < k; dy++) {
          const row = (y * k + dy) * src.width;
          for (let dx = 0; dx < k; dx++) sum += src.data[(row + x * k + dx) * 3 + ch] as number;
        }
        data[(y * width + x) * 3 + ch] = Math.floor((2 * sum + area) / (2 * area));
      }
    }
  }
  return { width, height, data };
}

export function mirror(src: Image): Image {
  const data = new Uint8Array(src.data.length);
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < src.width; x++) {
      const from = (y * src.width + x) * 3;
      const to = (y * src.width + (src.width - 1 - x)) * 3;
      data[to] = src.data[from] as number;
      data[to + 1] = src.data[from + 1] as number;
      data[to + 2] = src.data[from + 2] as number;
    }
  }
  return { width: src.width, height: src.height, data };
}

/** A small image whose FHOG planes the unit test compares value by value: noise over a ramp. */
export function fhogTestImage(): Image {
  const noise = noiseImage(45, 38, 7);
  const data = new Uint8Array(noise.data.length);
  for (let y = 0; y < noise.height; y++) {
    for (let x = 0; x < noise.width; x++) {
      for (let ch = 0; ch < 3; ch++) {
        const i = (y * noise.width + x) * 3 + ch;
        // A ramp per channel plus a quarter of the noise: real edges in all directions, and
        // pixels where two channels' gradients tie (dlib picks among them in a fixed order).
        const ramp = ch === 0 ? x * 5 : ch === 1 ? y * 6 : (x + y) * 3;
        data[i] = Math.min(255, ramp + ((noise.data[i] as number) >> 2));
      }
    }
  }
  return { width: noise.width, height: noise.height, data };
}

/** The sample photos' 640-px versions (1920 px wide JPEGs averaged over 3×3 blocks). */
export async function sample640(n: number): Promise<Image> {
  return boxDownscale(await loadImage(samplePath(n)), 3);
}

export async function hogReferenceInputs(): Promise<NamedImage[]> {
  const inputs: NamedImage[] = [];
  for (let n = 1; n <= 6; n++) inputs.push({ name: `sample${n}-640`, image: await sample640(n) });
  inputs.push({ name: 'sample1-640-mirrored', image: mirror(await sample640(1)) });
  inputs.push({ name: 'sample2-320', image: boxDownscale(await loadImage(samplePath(2)), 6) });
  inputs.push({ name: 'noise-200x150', image: noiseImage(200, 150, 3) });
  return inputs;
}
