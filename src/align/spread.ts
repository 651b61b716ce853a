import { invalidArgument } from '../errors.js';
import type { Image, Point } from '../types.js';

/**
 * Largest extent of a face's landmarks, in image diagonals. A face cut by the border may reach
 * past the photo, but one whose points span several photos is not a face in it (points scaled by
 * 1e5 made one chip take 5 s; larger ones never finished): refused before any pixel is sampled.
 */
export const MAX_LANDMARK_SPREAD = 4;

/** `points` as finite landmarks spanning at most MAX_LANDMARK_SPREAD image diagonals. */
export function checkLandmarkSpread(points: unknown, image: Image, field: string): readonly Point[] {
  if (!Array.isArray(points)) throw invalidArgument(field, 'must be an array of { x, y } points');
  let minX = Infinity,
    minY = Infinity,
    maxX = -Infinity,
    maxY = -Infinity;
  points.forEach((p: unknown, i) => {
    const { x, y } = (p ?? {}) as { x?: unknown; y?: unknown };
    if (!(typeof x === 'number' && typeof y === 'number' && Number.isFinite(x) && Number.isFinite(y)))
      throw invalidArgument(`${field}[${i}]`, `expected finite x and y, got ${JSON.stringify(p)}`);
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  });
  const spread = Math.hypot(maxX - minX, maxY - minY);
  const diagonal = Math.hypot(image.width, image.height);
  if (spread > MAX_LANDMARK_SPREAD * diagonal) {
    throw invalidArgument(
      field,
      `the points span ${Math.round(spread)} px, more than ${MAX_LANDMARK_SPREAD}× the image diagonal (${Math.round(diagonal)} px): not a face in this image`,
    );
  }
  return points as Point[];
}
