import type { Box } from '../types.js';

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
export function nms(boxes: readonly Box[], scores: ArrayLike<number>, threshold: number, mode: OverlapMode = 'union', maxKeep = Infinity, laterFirst = false): number[] {
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
