import type { Affine } from './similarity.js';

/** Fixed seed so that jittered descriptors are reproducible run to run. */
export const JITTER_SEED = 0x5eed;
/** dlib's jitter ranges (jitter_image): ±3° rotation, 97-100% scale, ±2% shift. */
const JITTER_MAX_DEGREES = 3;
const JITTER_MIN_SCALE = 0.97;
const JITTER_SHIFT = 0.02;

/** mulberry32: a tiny seeded PRNG in [0, 1); Math.random would make descriptors irreproducible. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** chip → image map of the mirrored chip: chip pixel u reads where the plain chip's (size − 1 − u) does. */
export function mirrorTransform(m: Affine, size: number): Affine {
  const w = size - 1;
  return [-m[0], m[1], m[0] * w + m[2], -m[3], m[4], m[3] * w + m[5]];
}

/** A small random rotation/scale/shift about the chip centre, applied before `m`. */
export function jitterTransform(m: Affine, size: number, rnd: () => number): Affine {
  const angle = ((rnd() * 2 - 1) * JITTER_MAX_DEGREES * Math.PI) / 180;
  const scale = 1 / (JITTER_MIN_SCALE + rnd() * (1 - JITTER_MIN_SCALE));
  const tx = (rnd() * 2 - 1) * JITTER_SHIFT * size;
  const ty = (rnd() * 2 - 1) * JITTER_SHIFT * size;
  const c = (size - 1) / 2;
  const cos = Math.cos(angle) * scale,
    sin = Math.sin(angle) * scale;
  // p(u) = R·(u − c) + c + t, then m: the composition m∘p.
  const p: Affine = [cos, -sin, c - cos * c + sin * c + tx, sin, cos, c - sin * c - cos * c + ty];
  return [
    m[0] * p[0] + m[1] * p[3],
    m[0] * p[1] + m[1] * p[4],
    m[0] * p[2] + m[1] * p[5] + m[2],
    m[3] * p[0] + m[4] * p[3],
    m[3] * p[1] + m[4] * p[4],
    m[3] * p[2] + m[4] * p[5] + m[5],
  ];
}
