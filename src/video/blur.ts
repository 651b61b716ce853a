/**
 * Privacy blur: a face's box replaced by a coarse mosaic (cells of a tenth of the box side, at
 * least 8 px), which no one and no face recogniser can read back, unlike a light Gaussian blur.
 */
import type { Box, Image } from '../index.js';

const CELLS_ACROSS = 10;
const MIN_CELL = 8;

/** Pixelates `box` (clipped to the image) in place in `image.data`. */
export function pixelate(image: Image, box: Box): void {
  const { width, height, data } = image;
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(width, Math.ceil(box.x + box.width));
  const y1 = Math.min(height, Math.ceil(box.y + box.height));
  if (x1 <= x0 || y1 <= y0) return;
  const cell = Math.max(MIN_CELL, Math.ceil(Math.max(x1 - x0, y1 - y0) / CELLS_ACROSS));
  for (let cy = y0; cy < y1; cy += cell)
    for (let cx = x0; cx < x1; cx += cell) {
      const ex = Math.min(x1, cx + cell);
      const ey = Math.min(y1, cy + cell);
      const sum = [0, 0, 0];
      for (let y = cy; y < ey; y++)
        for (let x = cx; x < ex; x++) for (let c = 0; c < 3; c++) sum[c] += data[(y * width + x) * 3 + c];
      const n = (ex - cx) * (ey - cy);
      for (let y = cy; y < ey; y++)
        for (let x = cx; x < ex; x++)
          for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = Math.round(sum[c] / n);
    }
}
