import type { Image } from '../../src/types.js';

/** Deterministic pseudo-random RGB image (a fixed LCG, so a failure reproduces). */
export function noiseImage(width: number, height: number, seed = 1): Image {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { width, height, data };
}
