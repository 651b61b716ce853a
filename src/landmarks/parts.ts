import { invalidArgument } from '../errors.js';
import type { Point } from '../types.js';

/**
 * INVALID_ARGUMENT naming `field` unless `points` is an array of one of the `counts` lengths: the
 * index-based helpers would otherwise read past a short list and answer with undefined points.
 */
export function checkPointCount(points: readonly Point[], field: string, counts: readonly number[]): void {
  if (!Array.isArray(points))
    throw invalidArgument(field, `expected an array of points, got ${points === null ? 'null' : typeof points}`);
  if (!counts.includes(points.length))
    throw invalidArgument(field, `expected ${counts.join(' or ')} points, got ${points.length}`);
}

/** How many points the iBUG 300-W scheme (and every 68-point helper here) has. */
export const LANDMARK_COUNT_68 = 68;

/** The iBUG 300-W regions of the 68 points, named as face_recognition names them. */
export const LANDMARK_PARTS_68 = {
  chin: [0, 17],
  leftEyebrow: [17, 22],
  rightEyebrow: [22, 27],
  noseBridge: [27, 31],
  noseTip: [31, 36],
  leftEye: [36, 42],
  rightEye: [42, 48],
  topLip: [48, 55],
  bottomLip: [54, 60],
} as const;

export type LandmarkPart = keyof typeof LANDMARK_PARTS_68;

/** Splits 68 points into named parts. face_recognition's lips also include inner-lip points; so do ours. */
export function landmarkParts(points: readonly Point[]): Record<LandmarkPart, Point[]> {
  checkPointCount(points, 'points', [LANDMARK_COUNT_68]);
  const out = {} as Record<LandmarkPart, Point[]>;
  for (const [name, [from, to]] of Object.entries(LANDMARK_PARTS_68) as [LandmarkPart, readonly [number, number]][]) {
    out[name] = points.slice(from, to);
  }
  // face_recognition's lips wrap around: top lip = outer 48-54 + inner 64-60, bottom = outer 54-59,48 + inner 60-64.
  out.topLip = [...points.slice(48, 55), points[64], points[63], points[62], points[61], points[60]];
  out.bottomLip = [...points.slice(54, 60), points[48], points[60], points[67], points[66], points[65], points[64]];
  return out;
}
