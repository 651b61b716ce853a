/**
 * Scores a pyramid level's FHOG planes with each of a model's filters: Σ over the filter's
 * separable terms of col ⋆ (row ⋆ plane), at the positions where the whole filter fits (dlib's
 * non-border area). Two engines, same sums: WebAssembly SIMD (4 columns at a time, float32 like
 * dlib) where the runtime has it and the filters are 10×10 cells, else plain typed-array loops.
 */
import type { FhogImage } from './fhog.js';
import { type HogKernels, hogKernels, reserveStatic, Workspace } from './kernels.js';
import type { HogFilter, HogModel } from './model.js';
import { align16 } from './wasm.js';

/** The taps filter.wat is unrolled for. */
const WASM_TAPS = 10;
/** Room past each buffer for the kernels' last group of 4 columns, which may run 3 floats over. */
const OVERRUN_BYTES = 64;
const F32 = 4;

/** The positions a filterWidth×filterHeight filter scores in a rows×cols plane (dlib's non_border). */
export interface ScoreArea {
  readonly firstRow: number;
  readonly lastRow: number;
  readonly firstCol: number;
  readonly lastCol: number;
}

export function scoreArea(rows: number, cols: number, width: number, height: number): ScoreArea {
  return {
    firstRow: Math.floor(height / 2),
    lastRow: rows - Math.floor((height - 1) / 2),
    firstCol: Math.floor(width / 2),
    lastCol: cols - Math.floor((width - 1) / 2),
  };
}

export interface FilterEngine {
  /** Takes a level's planes; score() then reads them. */
  load(fhog: FhogImage): void;
  /** Filter i's responses, rows×cols row-major; only the score area holds values. Valid until the next call. */
  score(filter: number): Float32Array | Float64Array;
}

interface Term {
  readonly plane: number;
  readonly row: readonly number[];
  readonly col: readonly number[];
}

function termsOf(filter: HogFilter): Term[] {
  return filter.planes.flatMap((terms, plane) => terms.map((t) => ({ plane, row: t.row, col: t.col })));
}

/** Plain loops in double precision (scores within ~2e-6 of dlib's float sums): where WebAssembly SIMD is missing. */
class JsEngine implements FilterEngine {
  private readonly terms: { plane: number; row: Float64Array; col: Float64Array }[][];
  private fhog: FhogImage = { rows: 0, cols: 0, planes: new Float32Array(0) };
  private scratch = new Float64Array(0);
  private out = new Float64Array(0);

  constructor(private readonly model: HogModel) {
    this.terms = model.filters.map((f) =>
      termsOf(f).map((t) => ({ plane: t.plane, row: Float64Array.from(t.row), col: Float64Array.from(t.col) })),
    );
  }

  load(fhog: FhogImage): void {
    this.fhog = fhog;
    const size = fhog.rows * fhog.cols;
    if (this.out.length < size) {
      this.scratch = new Float64Array(size);
      this.out = new Float64Array(size);
    }
  }

  score(filter: number): Float64Array {
    const { rows, cols, planes } = this.fhog;
    const width = this.model.filterWidth;
    const height = this.model.filterHeight;
    const { firstRow, lastRow, firstCol, lastCol } = scoreArea(rows, cols, width, height);
    const { scratch, out } = this;
    for (let r = firstRow; r < lastRow; r++) out.fill(0, r * cols + firstCol, r * cols + lastCol);
    for (const term of this.terms[filter] ?? []) {
      const base = term.plane * rows * cols;
      for (let r = 0; r < rows; r++) {
        const line = base + r * cols - firstCol;
        for (let c = firstCol; c < lastCol; c++) {
          let sum = 0;
          for (let n = 0; n < width; n++) sum += (term.row[n] as number) * (planes[line + c + n] as number);
          scratch[r * cols + c] = sum;
        }
      }
      for (let r = firstRow; r < lastRow; r++) {
        for (let m = 0; m < height; m++) {
          const tap = term.col[m] as number;
          const src = (r - firstRow + m) * cols;
          for (let c = firstCol; c < lastCol; c++) out[r * cols + c] += tap * (scratch[src + c] as number);
        }
      }
    }
    return out;
  }
}

/** Bytes of scratch WasmEngine.loadInMemory needs for rows×cols planes: a row-pass image and the output. */
export function filterScratchBytes(rows: number, cols: number): number {
  return 2 * align16(rows * cols * F32 + OVERRUN_BYTES);
}

/**
 * WebAssembly SIMD, float32 sums as dlib's: all five filters on every level of sample1 at 640 px,
 * upsample 1, took 35 ms of CPU against 1067 ms for the plain loops above. The taps live in the
 * kernels' static data; the planes, a scratch image and the output in their workspace.
 */
export class WasmEngine implements FilterEngine {
  /** Per filter, its terms as (plane, byte offset of its 10 row then 10 column taps). */
  private readonly terms: { plane: number; taps: number }[][];
  private rows = 0;
  private cols = 0;
  private planesAt = 0;
  private scratchAt = 0;
  private outAt = 0;
  private featureRows = 0;
  private firstFeatureRow = 0;

  constructor(
    readonly kernels: HogKernels,
    model: HogModel,
  ) {
    const taps: number[] = [];
    const offsets = model.filters.map((f) =>
      termsOf(f).map((t) => {
        const term = { plane: t.plane, taps: taps.length * F32 };
        taps.push(...t.row, ...t.col);
        return term;
      }),
    );
    const tapsAt = reserveStatic(kernels, taps.length * F32);
    new Float32Array(kernels.memory.buffer, tapsAt, taps.length).set(taps);
    this.terms = offsets.map((terms) => terms.map((t) => ({ plane: t.plane, taps: tapsAt + t.taps })));
  }

  /** Copies the planes into the workspace. */
  load(fhog: FhogImage): void {
    const ws = new Workspace(this.kernels);
    const planesAt = ws.take(fhog.planes.length * F32);
    const scratchAt = ws.take(filterScratchBytes(fhog.rows, fhog.cols));
    new Float32Array(ws.ready(), planesAt, fhog.planes.length).set(fhog.planes);
    this.loadInMemory(planesAt, fhog.rows, fhog.cols, scratchAt, 0, fhog.rows);
  }

  /**
   * Takes planes already in the kernels' memory at `planesAt`, with filterScratchBytes of scratch
   * at `scratchAt`. Only rows [firstFeatureRow, + featureRows) may hold non-zero features (FHOG's
   * padding is zero): the row passes skip the others, whose sums are zero (±0 adds nothing to the
   * column sums, so the responses are the same bits).
   */
  loadInMemory(
    planesAt: number,
    rows: number,
    cols: number,
    scratchAt: number,
    firstFeatureRow: number,
    featureRows: number,
  ): void {
    this.rows = rows;
    this.cols = cols;
    this.planesAt = planesAt;
    this.scratchAt = scratchAt;
    this.outAt = scratchAt + align16(rows * cols * F32 + OVERRUN_BYTES);
    this.firstFeatureRow = firstFeatureRow;
    this.featureRows = featureRows;
    const scratch = new Float32Array(this.kernels.memory.buffer, scratchAt, rows * cols);
    scratch.fill(0, 0, firstFeatureRow * cols);
    scratch.fill(0, (firstFeatureRow + featureRows) * cols);
  }

  score(filter: number): Float32Array {
    const { rows, cols } = this;
    const { firstRow, lastRow, firstCol, lastCol } = scoreArea(rows, cols, WASM_TAPS, WASM_TAPS);
    const out = new Float32Array(this.kernels.memory.buffer, this.outAt, rows * cols);
    // Whole rows: the kernels' last group of 4 may add into up to 3 columns past lastCol.
    out.fill(0, firstRow * cols, lastRow * cols);
    const planeBytes = rows * cols * F32;
    const skip = this.firstFeatureRow * cols * F32;
    for (const term of this.terms[filter] ?? []) {
      const plane = this.planesAt + term.plane * planeBytes;
      this.kernels.rowPass(plane + skip, this.scratchAt + skip, this.featureRows, cols, firstCol, lastCol, term.taps);
      this.kernels.colPassAdd(this.scratchAt, this.outAt, rows, cols, firstCol, lastCol, term.taps + WASM_TAPS * F32);
    }
    return out;
  }
}

const engines = new WeakMap<HogModel, FilterEngine>();

/** One engine per model, reused (scanning is synchronous, so no two scans share it at once). */
export function filterEngine(model: HogModel, allowWasm = true): FilterEngine {
  if (!allowWasm) return new JsEngine(model);
  let engine = engines.get(model);
  if (engine === undefined) {
    const kernels = model.filterWidth === WASM_TAPS && model.filterHeight === WASM_TAPS ? hogKernels() : null;
    engine = kernels ? new WasmEngine(kernels, model) : new JsEngine(model);
    engines.set(model, engine);
  }
  return engine;
}
