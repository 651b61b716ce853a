import { invalidArgument } from '../errors.js';
import type { Box, Detection } from '../types.js';

/** A score threshold every detector accepts: [0, 1), since no score exceeds 1 and "above 1" would find nothing. */
export function checkMinConfidence(value: number): number {
  if (!(value >= 0 && value < 1)) throw invalidArgument('minConfidence', `must be in [0, 1), got ${value}`);
  return value;
}

/** How many faces to keep: a non-negative integer, or Infinity for all. */
export function checkMaxFaces(value: number): number {
  if (!(value === Infinity || (Number.isInteger(value) && value >= 0)))
    throw invalidArgument('maxFaces', `must be a non-negative integer, got ${value}`);
  return value;
}

export function area(b: Box): number {
  return Math.max(0, b.width) * Math.max(0, b.height);
}

export function intersection(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

export function iou(a: Box, b: Box): number {
  const inter = intersection(a, b);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Overlap over the smaller box: MTCNN's "min" mode, which removes boxes nested in others. */
export function iom(a: Box, b: Box): number {
  const inter = intersection(a, b);
  const smaller = Math.min(area(a), area(b));
  return smaller > 0 ? inter / smaller : 0;
}

export type OverlapMode = 'union' | 'min';

/**
 * Greedy non-maximum suppression: indices of kept boxes, best score first. A box is dropped when it
 * overlaps an already kept one by more than `threshold`. Among equal scores the earlier box goes
 * first, or the later one with `laterFirst` (face-api's MTCNN pops its picks off an ascending sort,
 * and saturated P-Net scores of exactly 1 tie often enough for the order to matter).
 */
export function nms(
  boxes: readonly Box[],
  scores: ArrayLike<number>,
  threshold: number,
  mode: OverlapMode = 'union',
  maxKeep = Infinity,
  laterFirst = false,
): number[] {
  const order = Array.from(boxes.keys()).sort((a, b) => scores[b] - scores[a] || (laterFirst ? b - a : a - b));
  const overlap = mode === 'union' ? iou : iom;
  const keep: number[] = [];
  for (const i of order) {
    if (keep.length >= maxKeep) break;
    if (keep.every((k) => overlap(boxes[i], boxes[k]) <= threshold)) keep.push(i);
  }
  return keep;
}

/** Clips a box to the image; may return zero width/height for boxes fully outside. */
export function clipBox(b: Box, width: number, height: number): Box {
  const x0 = Math.min(Math.max(b.x, 0), width);
  const y0 = Math.min(Math.max(b.y, 0), height);
  const x1 = Math.min(Math.max(b.x + b.width, 0), width);
  const y1 = Math.min(Math.max(b.y + b.height, 0), height);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/**
 * The first `maxFaces` of `found` (best first, after NMS) whose box, clipped to the image, still
 * covers some of it. Clipping comes first: a box lying wholly outside the photo (in the padding a
 * detector adds) must not take the place of a real face below it.
 */
export function facesInImage(
  found: readonly Detection[],
  width: number,
  height: number,
  maxFaces: number,
): Detection[] {
  const out: Detection[] = [];
  for (const d of found) {
    if (out.length >= maxFaces) break;
    const box = clipBox(d.box, width, height);
    if (box.width > 0 && box.height > 0) out.push({ ...d, box });
  }
  return out;
}
