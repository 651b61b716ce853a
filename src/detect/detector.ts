import type { Detection, Image } from '../types.js';

export type DetectorName = 'tiny' | 'ssd';

/** Per-call knobs every detector understands; each detector documents its own defaults. */
export interface DetectOptions {
  /** Drop detections scoring below this. */
  readonly minConfidence?: number;
  /** Keep at most this many, best first. */
  readonly maxFaces?: number;
  /** Network input side in pixels (tiny: any multiple of 32; ssd: fixed 512, ignored). */
  readonly inputSize?: number;
}

/** A face detector bound to its onnxruntime session(s): reuse it, dispose it once. */
export interface FaceDetector {
  readonly name: DetectorName;
  /** Detections in pixels of `image`, best score first. */
  detect(image: Image, options?: DetectOptions): Promise<Detection[]>;
  dispose(): Promise<void>;
}
