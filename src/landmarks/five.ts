import type { Point } from '../types.js';
import { checkPointCount, LANDMARK_COUNT_68 } from './parts.js';

/** The five points, in the order MTCNN gives them and `landmarks5` holds them (image-left first). */
export const LANDMARKS5_NAMES = ['leftEye', 'rightEye', 'noseTip', 'mouthLeft', 'mouthRight'] as const;
export type Landmark5Name = (typeof LANDMARKS5_NAMES)[number];

/**
 * Which of the 68 iBUG points stand for each of the five: an eye is the mean of its six contour
 * points (MTCNN marks the eye's centre), the nose tip is 30, the mouth corners 48 and 54.
 */
export const LANDMARKS5_FROM_68: readonly (readonly number[])[] = [
  [36, 37, 38, 39, 40, 41],
  [42, 43, 44, 45, 46, 47],
  [30],
  [48],
  [54],
];

/** The five points made from 68 (for faces whose detector gave no landmarks5, and for the chip template). */
export function landmarks5From68(points: readonly Point[]): Point[] {
  checkPointCount(points, 'points', [LANDMARK_COUNT_68]);
  return LANDMARKS5_FROM_68.map((indices) => ({
    x: indices.reduce((s, i) => s + points[i].x, 0) / indices.length,
    y: indices.reduce((s, i) => s + points[i].y, 0) / indices.length,
  }));
}
