/**
 * dlib's object_detector<scan_fhog_pyramid<pyramid_down<6>>> run on one image: FHOG on every
 * pyramid level, each filter applied as dlib applies it (the sum of its separable terms), windows
 * at or above threshold + adjustThreshold mapped back to image pixels, then dlib's non-max
 * suppression across the filters.
 */
import type { Image } from '../../types.js';
import { extractFhog, type FhogImage } from './fhog.js';
import type { HogFilter, HogModel } from './model.js';
import { pointUp6, pyramidDown6, pyramidLevelCount, roundEdge } from './pyramid.js';

/** A dlib rectangle: inclusive pixel edges. */
export interface DlibRect {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

export interface HogDetection {
  readonly rect: DlibRect;
  /** dlib's detection_confidence: the filter response minus the filter's threshold. */
  readonly score: number;
  /** Which of the model's filters fired (dlib's weight_index). */
  readonly filter: number;
}

/** A filter's taps as typed arrays, one entry per (plane, term), in dlib's order. */
interface PreparedFilter {
  readonly threshold: number;
  readonly planeOf: Int32Array;
  readonly rows: readonly Float64Array[];
  readonly cols: readonly Float64Array[];
}

const prepared = new WeakMap<HogModel, readonly PreparedFilter[]>();

function prepare(model: HogModel): readonly PreparedFilter[] {
  let filters = prepared.get(model);
  if (filters === undefined) {
    filters = model.filters.map((filter: HogFilter): PreparedFilter => {
      const planeOf: number[] = [];
      const rows: Float64Array[] = [];
      const cols: Float64Array[] = [];
      filter.planes.forEach((terms, plane) => {
        for (const term of terms) {
          planeOf.push(plane);
          rows.push(Float64Array.from(term.row));
          cols.push(Float64Array.from(term.col));
        }
      });
      return { threshold: filter.threshold, planeOf: Int32Array.from(planeOf), rows, cols };
    });
    prepared.set(model, filters);
  }
  return filters;
}

/**
 * Σ over the filter's separable terms of col ⋆ (row ⋆ plane), over the positions where the whole
 * filter fits (dlib's non-border area); `out` holds rows×cols, only that area is written.
 */
function applyFilter(
  fhog: FhogImage,
  filter: PreparedFilter,
  width: number,
  height: number,
  scratch: Float64Array,
  out: Float64Array,
): void {
  const { rows, cols, planes } = fhog;
  const planeSize = rows * cols;
  const firstRow = Math.floor(height / 2);
  const firstCol = Math.floor(width / 2);
  const lastRow = rows - Math.floor((height - 1) / 2);
  const lastCol = cols - Math.floor((width - 1) / 2);
  for (let r = firstRow; r < lastRow; r++) out.fill(0, r * cols + firstCol, r * cols + lastCol);
  for (let t = 0; t < filter.planeOf.length; t++) {
    const base = (filter.planeOf[t] as number) * planeSize;
    const rowTaps = filter.rows[t] as Float64Array;
    const colTaps = filter.cols[t] as Float64Array;
    // Row pass over every row (the column pass needs the rows above and below the area).
    for (let r = 0; r < rows; r++) {
      const line = base + r * cols - firstCol;
      const dst = r * cols;
      for (let c = firstCol; c < lastCol; c++) {
        let sum = 0;
        const at = line + c;
        for (let n = 0; n < width; n++) sum += (rowTaps[n] as number) * (planes[at + n] as number);
        scratch[dst + c] = sum;
      }
    }
    for (let r = firstRow; r < lastRow; r++) {
      const dst = r * cols;
      for (let m = 0; m < height; m++) {
        const tap = colTaps[m] as number;
        const src = (r - firstRow + m) * cols;
        for (let c = firstCol; c < lastCol; c++) out[dst + c] += tap * (scratch[src + c] as number);
      }
    }
  }
}

/** fhog_to_image for one coordinate: to the centre of the cell, away from zero for negatives. */
function fhogToImage(p: number, pad: number, cellSize: number): number {
  const q = (p + 1 - Math.floor((pad - 1) / 2)) * cellSize + 1;
  const half = Math.floor(cellSize / 2);
  return q >= 0 ? q + half : q - half;
}

/** pyramid_down<6>::rect_up(rect, levels), rounded back to a dlib rectangle. */
function levelUp(v: number, level: number): number {
  let x = v;
  for (let i = 0; i < level; i++) x = pointUp6(x);
  return roundEdge(x);
}

function area(r: DlibRect): number {
  const w = r.right - r.left + 1;
  const h = r.bottom - r.top + 1;
  return w > 0 && h > 0 ? w * h : 0;
}

/** dlib's test_box_overlap. */
export function boxesOverlap(a: DlibRect, b: DlibRect, iouThreshold: number, coveredThreshold: number): boolean {
  const inner = area({
    left: Math.max(a.left, b.left),
    top: Math.max(a.top, b.top),
    right: Math.min(a.right, b.right),
    bottom: Math.min(a.bottom, b.bottom),
  });
  if (inner === 0) return false;
  const outer = area({
    left: Math.min(a.left, b.left),
    top: Math.min(a.top, b.top),
    right: Math.max(a.right, b.right),
    bottom: Math.max(a.bottom, b.bottom),
  });
  return inner / outer > iouThreshold || inner / area(a) > coveredThreshold || inner / area(b) > coveredThreshold;
}

/** The detector on `image` (no upsampling), after NMS, best first. */
export function scanImage(model: HogModel, image: Image, adjustThreshold: number): HogDetection[] {
  const filters = prepare(model);
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
  const perFilter: HogDetection[][] = filters.map(() => []);
  let level = image;
  for (let l = 0; l < levels; l++) {
    if (l > 0) level = pyramidDown6(level);
    const fhog = extractFhog(level, model.cellSize, fh, fw);
    if (fhog.rows === 0) continue;
    const size = fhog.rows * fhog.cols;
    const scratch = new Float64Array(size);
    const saliency = new Float64Array(size);
    const firstRow = Math.floor(fh / 2);
    const firstCol = Math.floor(fw / 2);
    const lastRow = fhog.rows - Math.floor((fh - 1) / 2);
    const lastCol = fhog.cols - Math.floor((fw - 1) / 2);
    filters.forEach((filter, i) => {
      applyFilter(fhog, filter, fw, fh, scratch, saliency);
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
  if (filters.length > 1) all.sort((a, b) => b.score - a.score);
  const kept: HogDetection[] = [];
  for (const det of all) {
    const hit = kept.some((k) =>
      boxesOverlap(k.rect, det.rect, model.nmsIouThreshold, model.nmsPercentCoveredThreshold),
    );
    if (!hit) kept.push(det);
  }
  return kept;
}
