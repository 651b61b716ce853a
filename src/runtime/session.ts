import * as ort from 'onnxruntime-node';
import { FaceKitError } from '../errors.js';
import { loadModelBytes } from '../models/cache.js';
import type { ModelId } from '../models/registry.js';

export interface RuntimeOptions {
  /** Intra-op threads per session; 0 lets onnxruntime pick (all cores). */
  readonly threads?: number;
  readonly cacheDir?: string;
}

export type Feeds = Record<string, ort.Tensor>;
export type Outputs = Record<string, ort.Tensor>;

/** One onnxruntime session for one model; reuse it for every call, dispose it once. */
export class ModelSession {
  private disposed = false;
  private constructor(readonly id: ModelId, private readonly session: ort.InferenceSession) {}

  static async open(id: ModelId, options: RuntimeOptions = {}): Promise<ModelSession> {
    const bytes = await loadModelBytes(id, options.cacheDir);
    try {
      const session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: options.threads ?? 0,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
      return new ModelSession(id, session);
    } catch (cause) {
      throw new FaceKitError('MODEL_CORRUPT', `onnxruntime cannot load model ${id}: ${(cause as Error).message}`, { field: id, cause });
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
    try {
      return (await this.session.run(feeds)) as Outputs;
    } catch (cause) {
      throw new FaceKitError('INFERENCE_FAILED', `model ${this.id} failed: ${(cause as Error).message}`, { field: this.id, cause });
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

export { ort };
