import type * as Ort from 'onnxruntime-web/wasm';
import { FaceKitError } from '../errors.js';
import type { Precision } from '../models/precision.js';
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

/** Where onnxruntime-web runs the networks: WebAssembly on the CPU, or WebGPU on the GPU. */
export type WebExecutionProvider = 'wasm' | 'webgpu';
/** The `executionProvider` option: one of them, or 'auto' (see WebRuntimeOptions). */
export type WebExecutionProviderChoice = 'auto' | WebExecutionProvider;
export const WEB_EXECUTION_PROVIDERS: readonly WebExecutionProviderChoice[] = ['auto', 'wasm', 'webgpu'];

export interface WebRuntimeOptions {
  /**
   * 'auto' (default): WebGPU where the browser offers a hardware GPU adapter and the networks are
   * fp32, else wasm. A software adapter (SwiftShader, llvmpipe: the GPU emulated on the CPU) is
   * passed over: on one the pipeline took 40× longer than wasm. 'webgpu' insists (an error where
   * there is no adapter); 'wasm' never touches the GPU. int8 builds run on wasm only.
   */
  readonly executionProvider?: WebExecutionProviderChoice;
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

/** What a kit's networks run on, settled when its first model opens. */
export type WebRuntimeInfo =
  | { readonly executionProvider: 'wasm'; readonly threads: number }
  | {
      readonly executionProvider: 'webgpu';
      /** The CPU threads onnxruntime-web keeps for what it runs beside the GPU (the pre- and post-processing ops). */
      readonly threads: number;
      /** The adapter's vendor and architecture as the browser names them, e.g. "intel gen-12lp". */
      readonly adapter: string;
    };

/** The little of WebGPU's API read here (lib.dom's WebGPU types are not in every TypeScript). */
interface GpuAdapterInfo {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}
interface GpuAdapterLike {
  readonly info?: GpuAdapterInfo;
  readonly isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(): Promise<GpuAdapterLike | null>;
}

/** A GPU adapter the browser offers, or why there is none. */
type GpuProbe =
  | { readonly found: true; readonly name: string; readonly software: boolean }
  | { readonly found: false; readonly reason: string };

/** The GPU emulated on the CPU: Chromium's SwiftShader, Mesa's llvmpipe and lavapipe, Windows' basic renderer. */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|software|basic render/i;

async function probeGpu(): Promise<GpuProbe> {
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  if (gpu === undefined) return { found: false, reason: 'this browser has no WebGPU (navigator.gpu is undefined)' };
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (cause) {
    return { found: false, reason: `navigator.gpu.requestAdapter() failed: ${(cause as Error).message}` };
  }
  if (adapter === null) return { found: false, reason: 'navigator.gpu.requestAdapter() found no GPU adapter' };
  const info = adapter.info ?? {};
  const name = [info.vendor, info.architecture, info.description].filter((part) => part).join(' ') || 'unnamed';
  const software = info.isFallbackAdapter === true || adapter.isFallbackAdapter === true || SOFTWARE_ADAPTER.test(name);
  return { found: true, name, software };
}

/**
 * What `executionProvider` comes to on this browser for a kit at `precision` (what 'auto' picks,
 * with the GPU adapter), or INVALID_ARGUMENT for 'webgpu' where it cannot run. int8 builds run on
 * wasm only. An app can ask before choosing its kit's options, as the Live page does.
 */
export async function resolveExecutionProvider(
  choice: WebExecutionProviderChoice = 'auto',
  precision: Precision = 'fp32',
): Promise<
  { readonly executionProvider: 'wasm' } | { readonly executionProvider: 'webgpu'; readonly adapter: string }
> {
  if (choice === 'wasm' || (choice === 'auto' && precision === 'int8')) return { executionProvider: 'wasm' };
  const probe = await probeGpu();
  if (choice === 'webgpu') {
    if (!probe.found)
      throw new FaceKitError('INVALID_ARGUMENT', `executionProvider 'webgpu': ${probe.reason}`, {
        field: 'executionProvider',
      });
    return { executionProvider: 'webgpu', adapter: probe.name };
  }
  return probe.found && !probe.software
    ? { executionProvider: 'webgpu', adapter: probe.name }
    : { executionProvider: 'wasm' };
}

/**
 * onnxruntime-web, imported on first use: a bundler then puts it in a chunk of its own, which is
 * also the script its thread workers load (a worker running the whole page's bundle would fail).
 * WebGPU needs the larger build (its .wasm is 30 MB to wasm-only's 15 MB), so each is imported only
 * by a kit that runs on it.
 */
const ortModules: Partial<Record<WebExecutionProvider, Promise<typeof Ort>>> = {};
async function loadOrt(provider: WebExecutionProvider, options: WebRuntimeOptions): Promise<typeof Ort> {
  ortModules[provider] ??=
    provider === 'webgpu' ? (import('onnxruntime-web/webgpu') as Promise<typeof Ort>) : import('onnxruntime-web/wasm');
  const ort = await ortModules[provider];
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

/** The WebGPU session being opened last (see createSession). */
let webgpuOpening: Promise<unknown> = Promise.resolve();

/** The backend of one kit, with what it settled on (WebRuntimeInfo) once its first model opened. */
export interface WebBackend extends RuntimeBackend {
  runtimeInfo(): Promise<WebRuntimeInfo>;
}

/** `precision`: the kit's ('int8' keeps it on wasm). */
export function webBackend(options: WebRuntimeOptions = {}, precision: Precision = 'fp32'): WebBackend {
  const base = baseUrl(options);
  let index: Promise<ModelIndex> | undefined;
  const modelIndex = (): Promise<ModelIndex> => {
    index ??= fetchOk(`${base}index.json`).then((r) => r.json() as Promise<ModelIndex>);
    index.catch(() => (index = undefined));
    return index;
  };
  // Settled once per kit, on its first session: every network of a kit runs on the same provider.
  let settled: Promise<{ ort: typeof Ort; info: WebRuntimeInfo }> | undefined;
  let ort: typeof Ort | undefined;
  const runtime = () => {
    settled ??= (async () => {
      const choice = await resolveExecutionProvider(options.executionProvider ?? 'auto', precision);
      const loaded = await loadOrt(choice.executionProvider, options);
      ort = loaded;
      return { ort: loaded, info: { ...choice, threads: webThreads(options.threads) } };
    })();
    settled.catch(() => (settled = undefined));
    return settled;
  };
  return {
    name: 'onnxruntime-web',
    runtimeInfo: async () => (await runtime()).info,
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
    async createSession(bytes) {
      const { ort: opened, info } = await runtime();
      const create = () =>
        opened.InferenceSession.create(bytes, {
          executionProviders: [info.executionProvider],
          graphOptimizationLevel: 'all',
          // Idle intra-op threads sleep instead of spinning: spinning threads took the cores the page
          // and the other thread needed (2 threads ran slower than 1 on 2 cores). No effect at 1 thread.
          extra: { session: { intra_op: { allow_spinning: '0' } } },
        });
      if (info.executionProvider === 'wasm') return create();
      // onnxruntime-web's WebGPU opens one session at a time ("another WebGPU EP inference session is
      // being created"), and a kit opens its three at once: they queue, page-wide.
      const turn = webgpuOpening.then(create);
      webgpuOpening = turn.catch(() => undefined);
      return turn;
    },
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
