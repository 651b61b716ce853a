import type { WeightTensor } from './weights.js';

// Being written: replaced by the real graph builder.
export function buildSsdMobilenetV1(_weights: ReadonlyMap<string, WeightTensor>): Uint8Array {
  throw new Error('buildSsdMobilenetV1 is not written yet');
}
