/**
 * The slice of the WebAssembly API the HOG kernels use. The project's TypeScript libs (ES2023,
 * Node types) do not declare it, though Node and every browser have it.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

declare const WebAssembly:
  | {
      validate(bytes: Uint8Array): boolean;
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object, imports?: object) => { readonly exports: unknown };
      Memory: new (descriptor: { initial: number }) => WasmMemory;
    }
  | undefined;

export const WASM_PAGE_BYTES = 65536;

/**
 * A new instance's exports of the module in `base64`, or null where WebAssembly (or a feature it
 * uses, e.g. SIMD) is missing. `imports`: what the module imports (e.g. a shared memory).
 */
export function instantiate<T>(base64: string, imports?: object): T | null {
  if (typeof WebAssembly !== 'object' || WebAssembly === undefined || typeof atob !== 'function') return null;
  const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
  if (!WebAssembly.validate(bytes)) return null;
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports as T;
}

/** A new WebAssembly memory of `pages` 64-KiB pages, or null without WebAssembly. */
export function newMemory(pages: number): WasmMemory | null {
  if (typeof WebAssembly !== 'object' || WebAssembly === undefined) return null;
  return new WebAssembly.Memory({ initial: pages });
}

/** Grows `memory` to at least `bytes`. Typed-array views made before a growth are detached: make them after. */
export function ensureBytes(memory: WasmMemory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (have < bytes) memory.grow(Math.ceil((bytes - have) / WASM_PAGE_BYTES));
}

export function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}
