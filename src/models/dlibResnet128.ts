import type { WeightTensor } from './weights.js';

// Being written: replaced by the real graph builder.
export function buildDlibResnet128(_weights: ReadonlyMap<string, WeightTensor>): Uint8Array {
  throw new Error('buildDlibResnet128 is not written yet');
}
