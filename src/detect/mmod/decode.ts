/**
 * loss_mmod's to_label: every score above the threshold is an 80×80 window centred on its input
 * pixel, mapped from the tiled pyramid back to the image (tensor_space_to_image_space); then
 * dlib's greedy NMS, best score first.
 */
import { MMOD_OFFSET, MMOD_STRIDE } from '../../models/mmodFaceDetector.js';
import { type DlibRect, dlibNms, pointUp6Levels, roundEdge } from '../dlib-geometry.js';
import type { MmodOptions } from './options.js';
import type { TiledLayout } from './pyramid.js';

export interface MmodDetection {
  /** In pixels of the image the pyramid was made of (dlib's inclusive rectangle). */
  readonly rect: DlibRect;
  /** dlib's detection_confidence: the raw window score (above the threshold, often above 1). */
  readonly score: number;
}

/** dlib's nearest_rect: the first level containing `p`, else the nearest one (first of equals). */
function nearestLevel(levels: readonly DlibRect[], x: number, y: number): number {
  let best = 0;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (let i = 0; i < levels.length; i++) {
    const r = levels[i] as DlibRect;
    if (x >= r.left && x <= r.right && y >= r.top && y <= r.bottom) return i;
    const dx = x - Math.min(Math.max(x, r.left), r.right);
    const dy = y - Math.min(Math.max(y, r.top), r.bottom);
    const distance = Math.hypot(dx, dy);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = i;
    }
  }
  return best;
}

/** Windows scoring above `threshold` (dlib's adjust_threshold, strictly above), in image pixels, unsorted. */
export function scoreMapWindows(
  scores: Float32Array,
  rows: number,
  cols: number,
  layout: TiledLayout,
  options: MmodOptions,
  threshold: number,
): MmodDetection[] {
  const found: MmodDetection[] = [];
  if (layout.levels.length === 0) return found;
  // centered_drect(p, w, h): p ± (w − 1)/2.
  const halfW = (options.windowWidth - 1) / 2;
  const halfH = (options.windowHeight - 1) / 2;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const score = scores[r * cols + c] as number;
      if (!(score > threshold)) continue;
      const px = MMOD_STRIDE * c + MMOD_OFFSET;
      const py = MMOD_STRIDE * r + MMOD_OFFSET;
      const level = nearestLevel(layout.levels, px, py);
      const origin = layout.levels[level] as DlibRect;
      const x = px - origin.left;
      const y = py - origin.top;
      found.push({
        rect: {
          left: roundEdge(pointUp6Levels(x - halfW, level)),
          top: roundEdge(pointUp6Levels(y - halfH, level)),
          right: roundEdge(pointUp6Levels(x + halfW, level)),
          bottom: roundEdge(pointUp6Levels(y + halfH, level)),
        },
        score,
      });
    }
  }
  return found;
}

/** dlib's NMS for loss_mmod: best first, a window is dropped when it overlaps one kept (test_box_overlap). */
export function mmodNms(found: readonly MmodDetection[], options: MmodOptions): MmodDetection[] {
  // dlib sorts with std::sort (not stable); equal scores keep the scan order here.
  const sorted = [...found].sort((a, b) => b.score - a.score);
  return dlibNms(sorted, options.nmsIouThreshold, options.nmsPercentCoveredThreshold);
}
