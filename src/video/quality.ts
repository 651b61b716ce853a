/**
 * How good a view of a face is, for choosing which frames of a track to embed: size (against the
 * encoder's 150-px chip), sharpness (variance of the Laplacian over the face) and frontalness
 * (the nose tip's place between the eyes, from the 68 landmarks). Each in [0, 1].
 */
import type { Box, Image, Point } from '../index.js';

/** The encoder's chip side: a face this wide loses nothing to upscaling. */
const CHIP_SIDE = 150;
/** The face is resampled to this grid before the Laplacian, so sharpness does not depend on its size. */
const SHARPNESS_GRID = 48;
/**
 * Laplacian variance (grey levels²) at which a face counts as fully sharp on the 48-px grid:
 * in-focus faces of face-api's demo photos measured 300–900 there; a 3-px blur drops them under 60.
 */
const SHARP_VARIANCE = 300;
/** Even a full profile view still carries some identity: frontalness never zeroes the quality. */
const PROFILE_FLOOR = 0.25;

export function sizeScore(box: Box): number {
  return Math.max(0, Math.min(1, Math.min(box.width, box.height) / CHIP_SIDE));
}

export function sharpnessScore(image: Image, box: Box): number {
  const { width, height, data } = image;
  const n = SHARPNESS_GRID;
  const grey = new Float32Array(n * n);
  for (let gy = 0; gy < n; gy++) {
    const y = Math.min(height - 1, Math.max(0, Math.floor(box.y + ((gy + 0.5) * box.height) / n)));
    for (let gx = 0; gx < n; gx++) {
      const x = Math.min(width - 1, Math.max(0, Math.floor(box.x + ((gx + 0.5) * box.width) / n)));
      const i = (y * width + x) * 3;
      grey[gy * n + gx] = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
    }
  }
  let sum = 0;
  let sumSq = 0;
  let count = 0;
  for (let y = 1; y < n - 1; y++)
    for (let x = 1; x < n - 1; x++) {
      const c = y * n + x;
      const lap = grey[c - 1] + grey[c + 1] + grey[c - n] + grey[c + n] - 4 * grey[c];
      sum += lap;
      sumSq += lap * lap;
      count++;
    }
  const variance = sumSq / count - (sum / count) ** 2;
  return Math.min(1, variance / SHARP_VARIANCE);
}

const mean = (points: readonly Point[]): Point => ({
  x: points.reduce((s, p) => s + p.x, 0) / points.length,
  y: points.reduce((s, p) => s + p.y, 0) / points.length,
});

/** 1 when the nose tip sits midway between the eyes (along the eye line), 0 when level with an eye. */
export function frontalScore(landmarks: readonly Point[]): number {
  const left = mean(landmarks.slice(36, 42));
  const right = mean(landmarks.slice(42, 48));
  const nose = landmarks[30];
  const ex = right.x - left.x;
  const ey = right.y - left.y;
  const span = ex * ex + ey * ey;
  if (span === 0) return 0;
  const t = ((nose.x - left.x) * ex + (nose.y - left.y) * ey) / span;
  return Math.max(0, 1 - 2 * Math.abs(t - 0.5));
}

/** Quality before landmarks are known: size and sharpness. */
export function roughQuality(image: Image, box: Box): number {
  return sizeScore(box) * sharpnessScore(image, box);
}

export function viewQuality(image: Image, box: Box, landmarks: readonly Point[]): number {
  return roughQuality(image, box) * (PROFILE_FLOOR + (1 - PROFILE_FLOOR) * frontalScore(landmarks));
}
