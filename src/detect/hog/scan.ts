/**
 * dlib's object_detector<scan_fhog_pyramid<pyramid_down<6>>> run on one image: FHOG on every
 * pyramid level, each filter applied as dlib applies it (the sum of its separable terms: see
 * filter-engine.ts), windows at or above threshold + adjustThreshold mapped back to image pixels,
 * then dlib's non-max suppression across the filters.
 */
import type { Image } from '../../types.js';
import { type DlibRect, dlibNms, pointUp6Levels, roundEdge } from '../dlib-geometry.js';
import { extractFhog, fhogInMemory, fhogPlan, fhogScratchBytes, planeBytes } from './fhog.js';
import { type FilterEngine, filterEngine, filterScratchBytes, scoreArea, WasmEngine } from './filter-engine.js';
import { type MemoryImage, Workspace } from './kernels.js';
import type { HogModel } from './model.js';
import {
  pyramidDown6,
  pyramidDown6Size,
  pyramidLevelCount,
  pyramidUp2,
  pyramidUp2Size,
  resizeInMemory,
  resizeScratchBytes,
} from './pyramid.js';

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

/**
 * The detector on `image` doubled `upsample` times with pyramid_up (boxes in pixels of the doubled
 * image), after NMS, best first. With the WebAssembly engine the pyramid, the FHOG planes and the
 * responses are made in place in the kernels' memory (scanInMemory); with another engine each
 * step returns arrays. Both give the same windows.
 */
export function scanImage(
  model: HogModel,
  image: Image,
  adjustThreshold: number,
  engine: FilterEngine = filterEngine(model),
  upsample = 0,
): HogDetection[] {
  // Per filter, its windows from every level, found level by level as dlib's scanner does.
  const perFilter: HogDetection[][] = model.filters.map(() => []);
  const collect = (level: number, rows: number, cols: number): void =>
    collectWindows(model, engine, adjustThreshold, level, rows, cols, perFilter);
  if (engine instanceof WasmEngine) scanInMemory(model, engine, image, upsample, collect);
  else scanArrays(model, engine, image, upsample, collect);
  // dlib sorts each filter's windows by response, then (with several filters) all of them by
  // confidence; a stable sort keeps the filters' order for equal scores.
  const all = perFilter.flatMap((dets) => dets.sort((a, b) => b.score - a.score));
  if (model.filters.length > 1) all.sort((a, b) => b.score - a.score);
  return dlibNms(all, model.nmsIouThreshold, model.nmsPercentCoveredThreshold);
}

/** Called once per pyramid level with features, after the engine has loaded its planes. */
type LevelVisitor = (level: number, rows: number, cols: number) => void;

function levelCount(model: HogModel, width: number, height: number): number {
  return pyramidLevelCount(
    width,
    height,
    model.minPyramidLayerWidth,
    model.minPyramidLayerHeight,
    model.maxPyramidLevels,
  );
}

/** The levels as arrays: each resize and FHOG returns new ones (the engine copies the planes in). */
function scanArrays(model: HogModel, engine: FilterEngine, image: Image, upsample: number, visit: LevelVisitor): void {
  let level = image;
  for (let i = 0; i < upsample; i++) level = pyramidUp2(level);
  const levels = levelCount(model, level.width, level.height);
  for (let l = 0; l < levels; l++) {
    if (l > 0) level = pyramidDown6(level);
    const fhog = extractFhog(level, model.cellSize, model.filterHeight, model.filterWidth);
    if (fhog.rows === 0) continue;
    engine.load(fhog);
    visit(l, fhog.rows, fhog.cols);
  }
}

/**
 * The levels in the kernels' memory: the image copied in once, each pyramid_up and pyramid_down
 * level resized from the last into the other of two image buffers, its planes written where the
 * engine reads them. Every buffer is sized for the largest level (the first) and laid out before
 * the memory grows, so nothing is allocated per level and no view is detached.
 */
function scanInMemory(model: HogModel, engine: WasmEngine, image: Image, upsample: number, visit: LevelVisitor): void {
  const k = engine.kernels;
  let [width, height] = [image.width, image.height];
  for (let i = 0; i < upsample; i++) [width, height] = pyramidUp2Size(width, height);
  const largest = fhogPlan(width, height, model.cellSize, model.filterHeight, model.filterWidth);
  // Each level is smaller than the first: without features there, there are none anywhere.
  if (largest === null) return;
  const levels = levelCount(model, width, height);
  const ws = new Workspace(k);
  const sourceAt = ws.take(image.data.length);
  const images = [ws.take(width * height * 3), ws.take(width * height * 3)] as const;
  const resizeScratchAt = ws.take(resizeScratchBytes(width, height));
  const planesAt = ws.take(planeBytes(largest));
  const fhogScratchAt = ws.take(fhogScratchBytes(largest));
  const filterScratchAt = ws.take(filterScratchBytes(largest.layout.rows, largest.layout.cols));
  new Uint8Array(ws.ready(), sourceAt, image.data.length).set(image.data);

  let level: MemoryImage = { width: image.width, height: image.height, at: sourceAt };
  let next = 0;
  const resizeTo = ([w, h]: [number, number]): void => {
    const out = { width: w, height: h, at: images[next] as number };
    resizeInMemory(k, level, out, resizeScratchAt);
    level = out;
    next = 1 - next;
  };
  for (let i = 0; i < upsample; i++) resizeTo(pyramidUp2Size(level.width, level.height));
  for (let l = 0; l < levels; l++) {
    if (l > 0) resizeTo(pyramidDown6Size(level.width, level.height));
    const plan = fhogPlan(level.width, level.height, model.cellSize, model.filterHeight, model.filterWidth);
    if (plan === null) continue;
    fhogInMemory(k, plan, level, planesAt, fhogScratchAt);
    const { rows, cols, offR, hogR } = plan.layout;
    engine.loadInMemory(planesAt, rows, cols, filterScratchAt, offR, hogR);
    visit(l, rows, cols);
  }
}

/** Each filter's windows on a loaded level at or above its threshold + adjustThreshold, in image pixels. */
function collectWindows(
  model: HogModel,
  engine: FilterEngine,
  adjustThreshold: number,
  l: number,
  rows: number,
  cols: number,
  perFilter: HogDetection[][],
): void {
  const fw = model.filterWidth;
  const fh = model.filterHeight;
  const { firstRow, lastRow, firstCol, lastCol } = scoreArea(rows, cols, fw, fh);
  model.filters.forEach((filter, i) => {
    const saliency = engine.score(i);
    const cut = filter.threshold + adjustThreshold;
    for (let r = firstRow; r < lastRow; r++) {
      for (let c = firstCol; c < lastCol; c++) {
        const s = saliency[r * cols + c] as number;
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
