import * as ort from 'onnxruntime-node';
import { FaceKitError } from '../errors.js';
import { loadModelBytes } from '../models/cache.js';
import type { ModelId, Precision } from '../models/registry.js';

export interface RuntimeOptions {
  /** Intra-op threads per session; 0 lets onnxruntime pick (all cores). */
  readonly threads?: number;
  readonly cacheDir?: string;
  /** 'int8': the networks that have an int8 build (dlib encoder, SSD) run it; the others stay fp32. Default 'fp32'. */
  readonly precision?: Precision;
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

export type Feeds = Record<string, ort.Tensor>;
export type Outputs = Record<string, ort.Tensor>;

/** One onnxruntime session for one model; reuse it for every call, dispose it once. */
export class ModelSession {
  private disposed = false;
  /** Runs still in flight: dispose() waits for them, so a native session is never freed mid-run. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private constructor(
    readonly id: ModelId,
    private readonly session: ort.InferenceSession,
  ) {}

  /**
   * onnxruntime's worker threads busy-wait after each run by default. Every facekit pipeline runs
   * several models in turn with JavaScript work between them (resizing, alignment, decoding), and
   * a session's spinning threads then take the cores that work and the next model need: on 2 cores
   * with 2 threads, tiny detector + landmarks + encoder with 2 ms of JavaScript between them took
   * 86 ms spinning and 27-36 ms not (P-Net over a 640-px pyramid: 17.6 ms against 7.9 ms). Alone in
   * a tight loop a model gains under 5 % from spinning, so it is off for every session.
   */
  static async open(id: ModelId, options: RuntimeOptions = {}, memory: SessionMemory = {}): Promise<ModelSession> {
    return ModelSession.fromBytes(id, await loadModelBytes(id, options.cacheDir), options, memory);
  }

  /** A session on model bytes that are not (or not yet) in the cache, such as a calibration variant of `id`. */
  static async fromBytes(
    id: ModelId,
    bytes: Uint8Array,
    options: RuntimeOptions = {},
    memory: SessionMemory = {},
  ): Promise<ModelSession> {
    try {
      const session = await ort.InferenceSession.create(bytes, {
        enableCpuMemArena: memory.arena ?? true,
        intraOpNumThreads: options.threads ?? 0,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
      return new ModelSession(id, session);
    } catch (cause) {
      throw new FaceKitError('MODEL_CORRUPT', `onnxruntime cannot load model ${id}: ${(cause as Error).message}`, {
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

export { ort };
