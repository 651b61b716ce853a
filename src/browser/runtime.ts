import type * as Ort from 'onnxruntime-web/wasm';
import { FaceKitError } from '../errors.js';
import type { ModelId } from '../models/registry.js';
import type { RuntimeBackend } from '../runtime/model-session.js';

/**
 * The browser's onnxruntime backend: onnxruntime-web (WebAssembly SIMD, threads when the page is
 * cross-origin isolated) on the .onnx files `facekit serve` builds with facekit's own builders and
 * serves at /models/. Fetched once, then read from Cache Storage: the cache key carries the file's
 * SHA-256 from /models/index.json, so a rebuilt model is fetched again and never mixed up.
 *
 * Why served, not built here: the builders need the tfjs weight files (31 MB for the five networks)
 * plus the graph writer in the bundle, and the int8 builds calibrate with the Node pipeline; a
 * built fp32 .onnx is the same bytes Node runs, so the browser's descriptors equal Node's.
 */

export interface WebRuntimeOptions {
  /** Where the models are: a `facekit serve` origin's /models/ (default: this page's origin). */
  readonly modelUrl?: string;
  /** onnxruntime-web threads (1 unless the page is cross-origin isolated; default: min(4, cores − 1), at least 1). */
  readonly threads?: number;
  /** Keep fetched models in Cache Storage (default true). */
  readonly cache?: boolean;
  /** Where onnxruntime-web's .wasm is, when the bundler did not place it (ort.env.wasm.wasmPaths). */
  readonly wasmPaths?: string;
}

/** The cache every facekit page shares; the version names the key layout, not the models. */
export const MODEL_CACHE = 'facekit-models-v1';

/** /models/index.json: a model's hash and size, or `onRequest` for an int8 build the server makes when first fetched. */
type ModelIndex = Readonly<
  Record<string, { readonly sha256: string; readonly bytes: number } | { readonly onRequest: true }>
>;

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function baseUrl(options: WebRuntimeOptions): string {
  const base = options.modelUrl ?? new URL('/models/', globalThis.location?.href ?? 'http://localhost/').href;
  return base.endsWith('/') ? base : `${base}/`;
}

export async function fetchOk(url: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (cause) {
    throw new FaceKitError('MODEL_MISSING', `cannot fetch ${url}: ${(cause as Error).message}`, {
      field: 'modelUrl',
      cause,
    });
  }
  if (!response.ok)
    throw new FaceKitError('MODEL_MISSING', `${url} answered ${response.status} ${response.statusText}`, {
      field: 'modelUrl',
    });
  return response;
}

/**
 * How many threads onnxruntime-web may use: more than one only where SharedArrayBuffer exists.
 * The default leaves one core to the page (drawing, the camera), so 2 cores get 1 thread: on a busy
 * 2-core machine (load 3–7) bench:browser measured every model about twice as slow at 2 threads.
 * On an idle one 2 threads are faster (int8 pipeline 97.6 vs 158.0 ms a frame, 1.3× the CPU time),
 * which callers who own the machine can ask for.
 */
export function webThreads(requested?: number): number {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  if (!isolated) return 1;
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(requested ?? Math.min(4, cores - 1), cores));
}

/**
 * onnxruntime-web, imported on first use: a bundler then puts it in a chunk of its own, which is
 * also the script its thread workers load (a worker running the whole page's bundle would fail).
 */
let ortModule: Promise<typeof Ort> | undefined;
let ort: typeof Ort | undefined;
async function loadOrt(options: WebRuntimeOptions): Promise<typeof Ort> {
  ortModule ??= import('onnxruntime-web/wasm');
  ort = await ortModule;
  ort.env.wasm.numThreads = webThreads(options.threads);
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
  return ort;
}

/**
 * A model the server had not built when it wrote the index (an int8 build): this request makes it
 * (seconds, once per server). No hash to check it against beforehand, so its own hash, checked
 * against the server's ETag, becomes the cache key: the index lists that hash from now on, and the
 * next page load finds it in the cache.
 */
async function fetchBuiltOnRequest(base: string, id: ModelId, cache: Cache | undefined): Promise<Uint8Array> {
  const url = `${base}${id}.onnx`;
  const response = await fetchOk(url);
  const bytes = new Uint8Array(await response.clone().arrayBuffer());
  // Hashing needs a secure context (https or localhost, as the camera does); elsewhere it runs uncached.
  if (typeof crypto === 'undefined' || crypto.subtle === undefined) return bytes;
  const sha256 = await sha256Hex(bytes);
  const etag = response.headers.get('etag')?.replace(/^(W\/)?"|"$/g, '');
  if (etag && /^[0-9a-f]{64}$/.test(etag) && etag !== sha256)
    throw new FaceKitError('MODEL_CORRUPT', `${url}: the bytes' SHA-256 is ${sha256}, the server's ETag ${etag}`, {
      field: id,
    });
  await cache?.put(`${url}?sha256=${sha256}`, response).catch(() => undefined);
  return bytes;
}

export function webBackend(options: WebRuntimeOptions = {}): RuntimeBackend {
  const base = baseUrl(options);
  let index: Promise<ModelIndex> | undefined;
  const modelIndex = (): Promise<ModelIndex> => {
    index ??= fetchOk(`${base}index.json`).then((r) => r.json() as Promise<ModelIndex>);
    index.catch(() => (index = undefined));
    return index;
  };
  return {
    name: 'onnxruntime-web',
    async loadModel(id: ModelId): Promise<Uint8Array> {
      const entry = (await modelIndex())[id];
      if (entry === undefined)
        throw new FaceKitError('MODEL_MISSING', `${base}index.json lists no model ${id}`, { field: id });
      const cache =
        options.cache !== false && typeof caches !== 'undefined'
          ? await caches.open(MODEL_CACHE).catch(() => undefined)
          : undefined;
      if ('onRequest' in entry) return fetchBuiltOnRequest(base, id, cache);
      const url = `${base}${id}.onnx?sha256=${entry.sha256}`;
      const hit = await cache?.match(url);
      if (hit) return new Uint8Array(await hit.arrayBuffer());
      const response = await fetchOk(url);
      const bytes = new Uint8Array(await response.clone().arrayBuffer());
      if (bytes.length !== entry.bytes)
        throw new FaceKitError('MODEL_CORRUPT', `${url}: ${bytes.length} bytes, the index says ${entry.bytes}`, {
          field: id,
        });
      // Best effort: private windows and full quotas refuse, and the model still runs from memory.
      await cache?.put(url, response).catch(() => undefined);
      return bytes;
    },
    createSession: async (bytes) =>
      (await loadOrt(options)).InferenceSession.create(bytes, {
        executionProviders: ['wasm'],
        graphOptimizationLevel: 'all',
        // Idle intra-op threads sleep instead of spinning: spinning threads took the cores the page
        // and the other thread needed (2 threads ran slower than 1 on 2 cores). No effect at 1 thread.
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      }),
    floatTensor: (data, dims) => {
      // Sessions come first (createSession loaded the module): a tensor is only made for a run.
      if (!ort) throw new FaceKitError('INFERENCE_FAILED', 'onnxruntime-web is not loaded yet');
      return new ort.Tensor('float32', data, dims);
    },
  };
}

/** Drops every cached model (the next load fetches them again). */
export async function clearModelCache(): Promise<boolean> {
  return typeof caches === 'undefined' ? false : caches.delete(MODEL_CACHE);
}
