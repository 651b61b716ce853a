/**
 * The HOG detector's WebAssembly kernels (resize.wat, fhog.wat, filter.wat) instantiated on one
 * shared memory, so a scan makes each pyramid level, its FHOG planes and the filters' responses in
 * place: with a memory per kernel, every level was copied in and out of three of them and got fresh
 * arrays, whose page faults and copies cost more CPU than the filters themselves.
 *
 * Memory layout: fhog.wat's orientation table at 0 (it reads it there), then static data reserved
 * once per process (each model's filter taps), then the workspace: one call's buffers, laid out
 * from workspaceStart() each time (calls are synchronous, so no two use it at once).
 */
import { HOG_FHOG_SCRATCH_AT, HOG_FHOG_WASM_BASE64 } from './fhog-wasm.js';
import { HOG_FILTER_WASM_BASE64 } from './filter-wasm.js';
import { HOG_RESIZE_WASM_BASE64 } from './resize-wasm.js';
import { align16, ensureBytes, instantiate, newMemory, type WasmMemory } from './wasm.js';

/** Bytes kept free after each workspace buffer: the kernels read or write up to 32 bytes past their data. */
const SLACK_BYTES = 64;

interface ResizeExports {
  resize(
    out: number,
    outW: number,
    outH: number,
    simdEnd: number,
    lefts: number,
    weights: number,
    tops: number,
    bottoms: number,
    rowWeights: number,
  ): void;
}

interface FhogExports {
  votes(
    img: number,
    stride: number,
    yEnd: number,
    simdEnd: number,
    xEnd: number,
    cols: number,
    w0: number,
    w1: number,
    ups: number,
    los: number,
    vy0s: number,
    vy1s: number,
  ): void;
  normalize(
    hist: number,
    histC: number,
    cellsR: number,
    cellsC: number,
    norm: number,
    planes: number,
    planeBytes: number,
    cols: number,
    hogR: number,
    hogC: number,
    offR: number,
    offC: number,
  ): void;
}

interface FilterExports {
  rowPass(src: number, dst: number, rows: number, cols: number, first: number, last: number, taps: number): void;
  colPassAdd(src: number, out: number, rows: number, cols: number, first: number, last: number, taps: number): void;
}

export interface HogKernels extends ResizeExports, FhogExports, FilterExports {
  readonly memory: WasmMemory;
}

/** An RGB image (3 bytes a pixel, row-major) held in the kernels' memory from byte `at`. */
export interface MemoryImage {
  readonly width: number;
  readonly height: number;
  readonly at: number;
}

let kernels: HogKernels | null | undefined;
/** End of the orientation table and the static data reserved so far. */
let staticEnd = HOG_FHOG_SCRATCH_AT;

/** The kernels on their shared memory, or null where WebAssembly SIMD is missing. */
export function hogKernels(): HogKernels | null {
  if (kernels === undefined) {
    const memory = newMemory(Math.ceil(HOG_FHOG_SCRATCH_AT / 65536));
    const imports = { hog: { memory } };
    const resize = memory && instantiate<ResizeExports>(HOG_RESIZE_WASM_BASE64, imports);
    const fhog = memory && instantiate<FhogExports>(HOG_FHOG_WASM_BASE64, imports);
    const filter = memory && instantiate<FilterExports>(HOG_FILTER_WASM_BASE64, imports);
    kernels =
      memory && resize && fhog && filter
        ? {
            memory,
            resize: resize.resize,
            votes: fhog.votes,
            normalize: fhog.normalize,
            rowPass: filter.rowPass,
            colPassAdd: filter.colPassAdd,
          }
        : null;
  }
  return kernels;
}

/** Reserves `bytes` of static data for the life of the process; its byte offset. */
export function reserveStatic(k: HogKernels, bytes: number): number {
  const at = staticEnd;
  staticEnd = align16(at + bytes);
  ensureBytes(k.memory, staticEnd);
  return at;
}

/**
 * One call's buffers, laid out one after another from the start of the workspace. Take them all,
 * then call ready() (it grows the memory once) before making any view of the memory: a growth
 * detaches views made before it.
 */
export class Workspace {
  private end = align16(staticEnd);

  constructor(readonly kernels: HogKernels) {}

  /** Byte offset of a new 16-byte-aligned buffer of `bytes` (plus slack for the kernels' overrun). */
  take(bytes: number): number {
    const at = this.end;
    this.end = align16(at + bytes + SLACK_BYTES);
    return at;
  }

  /** Grows the memory to hold every buffer taken; returns its (current) buffer. */
  ready(): ArrayBuffer {
    ensureBytes(this.kernels.memory, this.end);
    return this.kernels.memory.buffer;
  }
}
