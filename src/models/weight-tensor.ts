import { FaceKitError } from '../errors.js';

// Browser-safe: the ONNX builders import only this half of the weights code (no file reading),
// so their constants (input sizes, output names) can be bundled for the browser.

/** One named weight tensor, dequantized to float32 (or int32 for the few integer constants). */
export interface WeightTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

/** Looks a tensor up by name and checks its shape, so a wrong weights file fails loudly at build time. */
export function takeWeight(
  weights: ReadonlyMap<string, WeightTensor>,
  name: string,
  shape?: readonly number[],
): WeightTensor {
  const w = weights.get(name);
  if (!w) throw new FaceKitError('MODEL_CORRUPT', `weight tensor "${name}" is missing`, { field: name });
  if (shape && (shape.length !== w.shape.length || shape.some((d, i) => d !== w.shape[i]))) {
    throw new FaceKitError('MODEL_CORRUPT', `weight tensor "${name}" has shape [${w.shape}], expected [${shape}]`, {
      field: name,
    });
  }
  return w;
}
