import { DLIB128 } from '../embed/spec.js';
import { FaceKitError } from '../errors.js';

/** face_recognition's default tolerance: the dlib embedder's match threshold (see src/embed/spec.ts). */
export const DEFAULT_TOLERANCE = DLIB128.thresholds.match;

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>, field: string): void {
  if (a.length !== b.length) {
    throw new FaceKitError(
      'INVALID_ARGUMENT',
      `descriptors have different lengths (${a.length} vs ${b.length}): they come from different models`,
      { field },
    );
  }
  if (a.length === 0) throw new FaceKitError('INVALID_ARGUMENT', 'descriptor is empty', { field });
}

export function euclideanDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength(a, b, 'descriptor');
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return Math.sqrt(s);
}

/** Distance from `probe` to each known descriptor, in order (face_recognition's face_distance). */
export function faceDistance(known: readonly ArrayLike<number>[], probe: ArrayLike<number>): number[] {
  return known.map((k, i) => {
    try {
      return euclideanDistance(k, probe);
    } catch (e) {
      throw new FaceKitError('INVALID_ARGUMENT', `known[${i}]: ${(e as Error).message}`, { field: `known[${i}]` });
    }
  });
}

/** For each known descriptor, whether `probe` is within `tolerance` of it (face_recognition's compare_faces). */
export function compareFaces(
  known: readonly ArrayLike<number>[],
  probe: ArrayLike<number>,
  tolerance = DEFAULT_TOLERANCE,
): boolean[] {
  if (!(tolerance > 0) || !Number.isFinite(tolerance)) {
    throw new FaceKitError('INVALID_ARGUMENT', `tolerance must be a positive number, got ${tolerance}`, {
      field: 'tolerance',
    });
  }
  return faceDistance(known, probe).map((d) => d <= tolerance);
}
