import type { WeightTensor } from './weights.js';

// Being written: replaced by the real graph builder.
export function buildFaceLandmark68(_weights: ReadonlyMap<string, WeightTensor>): Uint8Array {
  throw new Error('buildFaceLandmark68 is not written yet');
}
export function buildFaceLandmark68Tiny(_weights: ReadonlyMap<string, WeightTensor>): Uint8Array {
  throw new Error('buildFaceLandmark68Tiny is not written yet');
}
