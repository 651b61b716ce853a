import type { Detection, Image } from '../types.js';

/** MTCNN's own knobs; tiny and SSD have no use for them. Defaults: see src/detect/mtcnn/detector.ts. */
export interface MtcnnOptions {
  /** Smallest face searched for, in pixels: the pyramid starts where such a face fills P-Net's 12-px window. */
  readonly minFaceSize?: number;
  /** Shrink per pyramid level, in (0, 0.95]: closer to 1 means more levels, slower, and slightly more recall. */
  readonly scaleFactor?: number;
  /** Stage 1 (P-Net) keeps windows scoring at least this. */
  readonly pnetThreshold?: number;
  /** Stage 2 (R-Net) keeps candidates scoring above this. Stage 3 (O-Net) uses `minConfidence`. */
  readonly rnetThreshold?: number;
}

/** Per-call knobs; each detector reads the ones it understands and documents its own defaults. */
export interface DetectOptions {
  /** Drop detections scoring below this (for MTCNN: the final, O-Net stage's threshold). */
  readonly minConfidence?: number;
  /** Keep at most this many, best first. */
  readonly maxFaces?: number;
  /** Tiny only: network input side in pixels (any multiple of 32). */
  readonly inputSize?: number;
  /** MTCNN only. */
  readonly mtcnn?: MtcnnOptions;
  /** dlib's detectors (MMOD): times the image is doubled before detection (face_recognition's number_of_times_to_upsample, default 1). */
  readonly upsample?: number;
}

/** A face detector bound to its onnxruntime session(s): reuse it, dispose it once. */
export interface FaceDetector {
  /** Its name in the detector registry (src/detect/registry.ts). */
  readonly name: string;
  /** Detections in pixels of `image`, best score first. */
  detect(image: Image, options?: DetectOptions): Promise<Detection[]>;
  dispose(): Promise<void>;
}
