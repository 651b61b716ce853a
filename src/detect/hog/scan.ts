/**
 * dlib's object_detector<scan_fhog_pyramid<pyramid_down<6>>> run on one image: FHOG on every
 * pyramid level, each filter applied as dlib applies it (the sum of its separable terms: see
 * filter-engine.ts), windows at or above threshold + adjustThreshold mapped back to image pixels,
 * then dlib's non-max suppression across the filters.
 */
import type { Image } from '../../types.js';
import { extractFhog } from './fhog.js';
import { type FilterEngine, filterEngine, scoreArea } from './filter-engine.js';
import type { HogModel } from './model.js';
import { type DlibRect, dlibNms, pointUp6Levels, roundEdge } from '../dlib-geometry.js';
import { pyramidDown6, pyramidLevelCount } from './pyramid.js';

export interface HogDetection {
  readonly rect: DlibRect;
  /** dlib's detection_confidence: the filter response minus the filter's threshold. */
  readonly score: number;
  /** Which of the model's filters fired (dlib's weight_index). */
  readonly filter: number;
}

/** fhog_to_image for one coordinate: to the centre of the cell, away from zero for negatives. */
function fhogToImage(p: number, pad: number, cellSize: number): number {
  const q = (p + 1 - Math.floor((pad - 1) / 2)) * cellSize + 1;
  const half = Math.floor(cellSize / 2);
  return q >= 0 ? q + half : q - half;
}

/** pyramid_down<6>::rect_up(rect, levels), rounded back to a dlib rectangle. */
function levelUp(v: number, level: number): number {
  return roundEdge(pointUp6Levels(v, level));
}

/** The detector on `image` (no upsampling), after NMS, best first. */
export function scanImage(
  model: HogModel,
  image: Image,
  adjustThreshold: number,
  engine: FilterEngine = filterEngine(model),
): HogDetection[] {
  const levels = pyramidLevelCount(
    image.width,
    image.height,
    model.minPyramidLayerWidth,
    model.minPyramidLayerHeight,
    model.maxPyramidLevels,
  );
  const fw = model.filterWidth;
  const fh = model.filterHeight;
  // Per filter, its windows from every level, found level by level as dlib's scanner does.
  const perFilter: HogDetection[][] = model.filters.map(() => []);
  let level = image;
  for (let l = 0; l < levels; l++) {
    if (l > 0) level = pyramidDown6(level);
    const fhog = extractFhog(level, model.cellSize, fh, fw);
    if (fhog.rows === 0) continue;
    engine.load(fhog);
    const { firstRow, lastRow, firstCol, lastCol } = scoreArea(fhog.rows, fhog.cols, fw, fh);
    model.filters.forEach((filter, i) => {
      const saliency = engine.score(i);
      const cut = filter.threshold + adjustThreshold;
      for (let r = firstRow; r < lastRow; r++) {
        for (let c = firstCol; c < lastCol; c++) {
          const s = saliency[r * fhog.cols + c] as number;
          if (!(s >= cut)) continue;
          // centered_rect(point(c, r), fw, fh) in feature space, to level pixels, to image pixels.
          const left = c - Math.floor(fw / 2);
          const top = r - Math.floor(fh / 2);
          const rect: DlibRect = {
            left: levelUp(fhogToImage(left, fw, model.cellSize), l),
            top: levelUp(fhogToImage(top, fh, model.cellSize), l),
            right: levelUp(fhogToImage(left + fw - 1, fw, model.cellSize), l),
            bottom: levelUp(fhogToImage(top + fh - 1, fh, model.cellSize), l),
          };
          (perFilter[i] as HogDetection[]).push({ rect, score: s - filter.threshold, filter: i });
        }
      }
    });
  }
  // dlib sorts each filter's windows by response, then (with several filters) all of them by
  // confidence; a stable sort keeps the filters' order for equal scores.
  const all = perFilter.flatMap((dets) => dets.sort((a, b) => b.score - a.score));
  if (model.filters.length > 1) all.sort((a, b) => b.score - a.score);
  return dlibNms(all, model.nmsIouThreshold, model.nmsPercentCoveredThreshold);
}
