import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { FaceKitError } from '../errors.js';
import type { ModelId, Precision } from '../models/registry.js';

/**
 * The onnxruntime session behind every runner (detectors, landmarks, encoder), with no tie to
 * Node or the browser: a `RuntimeBackend` says where model bytes come from and which onnxruntime
 * opens them. `runtime/session.ts` is the Node backend (onnxruntime-node, the model cache on disk);
 * `browser/runtime.ts` the browser's (onnxruntime-web, models fetched and kept in Cache Storage).
 * The runners import only this file, so the browser bundle holds them without any Node module.
 */

export interface RuntimeBackend {
  /** For error messages: 'onnxruntime-node', 'onnxruntime-web'. */
  readonly name: string;
  /** The ONNX bytes of `id` (built, cached or fetched). */
  loadModel(id: ModelId, options: RuntimeOptions): Promise<Uint8Array>;
  /** Opens onnxruntime on the bytes. */
  createSession(bytes: Uint8Array, options: RuntimeOptions, memory: SessionMemory): Promise<InferenceSession>;
  /** A float32 tensor of this backend's onnxruntime (its own Tensor class, which its run() reads). */
  floatTensor(data: Float32Array, dims: readonly number[]): Tensor;
}

export interface RuntimeOptions {
  /** Intra-op threads per session; 0 lets onnxruntime pick (all cores). */
  readonly threads?: number;
  readonly cacheDir?: string;
  /** 'int8': the networks that have an int8 build (dlib encoder, SSD) run it; the others stay fp32. Default 'fp32'. */
  readonly precision?: Precision;
  /** Where sessions come from; absent: the backend provided with `provideBackend`, else Node's. */
  readonly backend?: RuntimeBackend;
}

/**
 * How a session holds its working memory. onnxruntime's arena keeps the largest run's memory (grown
 * in powers of two) for the session's life: right for fixed-size inputs, wrong for one whose input
 * size follows the photo, where a single big photo would leave hundreds of MB behind.
 */
export interface SessionMemory {
  /** Default true; false: every run's memory goes back when the run ends. */
  readonly arena?: boolean;
}

export type Feeds = Record<string, Tensor>;
export type Outputs = Record<string, Tensor>;

let provided: RuntimeBackend | undefined;

/** Sets the backend sessions use when their options name none (the browser entry calls it). */
export function provideBackend(backend: RuntimeBackend): void {
  provided = backend;
}

/**
 * Node's backend, loaded on first use when no backend was provided. The specifier is computed so
 * that bundlers and the layer check never follow it: the browser bundle cannot pull onnxruntime-node
 * in through here, and Node callers that open a runner directly (tests, benchmarks) need no set-up.
 */
const NODE_BACKEND_MODULE = ['.', 'session.js'].join('/');

async function backendFor(options: RuntimeOptions): Promise<RuntimeBackend> {
  if (options.backend) return options.backend;
  if (provided) return provided;
  if (typeof process === 'undefined' || !process.versions?.node)
    throw new FaceKitError(
      'INVALID_ARGUMENT',
      'no onnxruntime backend: import facekit/browser and call createFaceKit',
      {
        field: 'backend',
      },
    );
  const { nodeBackend } = (await import(NODE_BACKEND_MODULE)) as { nodeBackend: RuntimeBackend };
  return nodeBackend;
}

/** One onnxruntime session for one model; reuse it for every call, dispose it once. */
export class ModelSession {
  private disposed = false;
  /** Runs still in flight: dispose() waits for them, so a native session is never freed mid-run. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private constructor(
    readonly id: ModelId,
    private readonly session: InferenceSession,
    private readonly backend: RuntimeBackend,
  ) {}

  static async open(id: ModelId, options: RuntimeOptions = {}, memory: SessionMemory = {}): Promise<ModelSession> {
    const backend = await backendFor(options);
    return ModelSession.fromBytes(id, await backend.loadModel(id, options), { ...options, backend }, memory);
  }

  /** A session on model bytes that are not (or not yet) in the cache, such as a calibration variant of `id`. */
  static async fromBytes(
    id: ModelId,
    bytes: Uint8Array,
    options: RuntimeOptions = {},
    memory: SessionMemory = {},
  ): Promise<ModelSession> {
    const backend = await backendFor(options);
    try {
      return new ModelSession(id, await backend.createSession(bytes, options, memory), backend);
    } catch (cause) {
      // The backend's own refusals (a runtime the browser cannot give) say what is wrong; others are the model's.
      if (cause instanceof FaceKitError) throw cause;
      throw new FaceKitError('MODEL_CORRUPT', `${backend.name} cannot load model ${id}: ${(cause as Error).message}`, {
        field: id,
        cause,
      });
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** A float32 input tensor for this session's onnxruntime. */
  floatTensor(data: Float32Array, dims: readonly number[]): Tensor {
    return this.backend.floatTensor(data, dims);
  }

  async run(feeds: Feeds): Promise<Outputs> {
    if (this.disposed) throw new FaceKitError('DISPOSED', `model session ${this.id} was disposed`);
    const running = this.session.run(feeds);
    this.inFlight.add(running);
    try {
      return (await running) as Outputs;
    } catch (cause) {
      throw new FaceKitError('INFERENCE_FAILED', `model ${this.id} failed: ${(cause as Error).message}`, {
        field: this.id,
        cause,
      });
    } finally {
      this.inFlight.delete(running);
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.allSettled([...this.inFlight]);
    await this.session.release();
  }
}
