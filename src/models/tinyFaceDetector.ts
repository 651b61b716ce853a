import type { WeightTensor } from './weights.js';

// Being written: replaced by the real graph builder.
export function buildTinyFaceDetector(_weights: ReadonlyMap<string, WeightTensor>): Uint8Array {
  throw new Error('buildTinyFaceDetector is not written yet');
}
