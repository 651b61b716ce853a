import { createRequire } from 'node:module';
import type * as Ort from 'onnxruntime-node';
import { lazy } from '../util/lazy.js';
import { loadModelBytes } from '../models/cache.js';
import type { RuntimeBackend } from './model-session.js';

const require = createRequire(import.meta.url);
/**
 * onnxruntime-node on first use (the first session or tensor): importing the pipeline, as every
 * CLI command's start-up and `facekit --help` do, does not load its native library.
 */
export const onnxruntime = lazy(() => require('onnxruntime-node') as typeof Ort);

/**
 * The Node backend: models built from the npm weights into the on-disk cache (models/cache.ts),
 * run by onnxruntime-node. The runners reach it through model-session.ts when no other backend was
 * provided; this module also keeps the names Node callers have always imported from here.
 */
export const nodeBackend: RuntimeBackend = {
  name: 'onnxruntime-node',
  loadModel: (id, options) => loadModelBytes(id, options.cacheDir),
  /**
   * onnxruntime's worker threads busy-wait after each run by default. Every facekit pipeline runs
   * several models in turn with JavaScript work between them (resizing, alignment, decoding), and
   * a session's spinning threads then take the cores that work and the next model need: on 2 cores
   * with 2 threads, tiny detector + landmarks + encoder with 2 ms of JavaScript between them took
   * 86 ms spinning and 27-36 ms not (P-Net over a 640-px pyramid: 17.6 ms against 7.9 ms). Alone in
   * a tight loop a model gains under 5 % from spinning, so it is off for every session.
   */
  createSession: (bytes, options, memory) =>
    onnxruntime().InferenceSession.create(bytes, {
      enableCpuMemArena: memory.arena ?? true,
      intraOpNumThreads: options.threads ?? 0,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    }),
  floatTensor: (data, dims) => new (onnxruntime().Tensor)('float32', data, dims),
};

export {
  type Feeds,
  ModelSession,
  type Outputs,
  type RuntimeBackend,
  type RuntimeOptions,
  type SessionMemory,
} from './model-session.js';
