/**
 * The pipeline settings of an inference worker's kit, in one place: the worker builds its kits
 * from them and bench:server builds its in-process baseline from them, so the baseline measures
 * exactly the pipeline the service runs (same detector, padding, retry, embedder, one thread).
 */
import type { FaceKitOptions } from '../pipeline/options.js';
import type { RecognitionOptions } from './limits.js';

/** The kit's default alignment (68 points): the service answers with every face's 68 landmarks. */
type WorkerKitOptions = FaceKitOptions & { readonly alignment?: 'landmarks68' };

export function workerKitOptions(o: RecognitionOptions, embedder: string): WorkerKitOptions {
  // One intra-op thread: the pool runs one kit per worker thread, and more threads than cores
  // makes onnxruntime's sessions fight over them.
  return {
    detector: o.detector,
    precision: o.precision,
    retryOnMiss: o.retryOnMiss,
    embedder,
    threads: 1,
  };
}
