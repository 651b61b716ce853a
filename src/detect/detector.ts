import { invalidArgument } from '../errors.js';
import type { Detection, Image } from '../types.js';

/** Every detector facekit has, in the order documentation lists them: the one source of the names. */
export const DETECTOR_NAMES = ['tiny', 'ssd', 'mtcnn', 'mmod'] as const;

export type DetectorName = (typeof DETECTOR_NAMES)[number];

/** face_recognition's spelling of a detector (`--model cnn`), accepted wherever a detector is named. */
export const DETECTOR_ALIASES = { cnn: 'mmod' } as const satisfies Record<string, DetectorName>;
export type DetectorAlias = keyof typeof DETECTOR_ALIASES;
/** Every name a caller may give: the detectors' own and face_recognition's aliases. */
export const DETECTOR_CHOICES: readonly (DetectorName | DetectorAlias)[] = [
  ...DETECTOR_NAMES,
  ...(Object.keys(DETECTOR_ALIASES) as DetectorAlias[]),
];

/** `value` as a detector name (an alias resolved), or INVALID_ARGUMENT naming `field` and the names there are. */
export function checkDetectorName(value: unknown, field = 'detector'): DetectorName {
  if ((DETECTOR_NAMES as readonly unknown[]).includes(value)) return value as DetectorName;
  if (typeof value === 'string' && Object.hasOwn(DETECTOR_ALIASES, value))
    return DETECTOR_ALIASES[value as DetectorAlias];
  throw invalidArgument(
    field,
    `unknown detector "${String(value)}" (use ${DETECTOR_CHOICES.map((n) => `'${n}'`).join(', ')})`,
  );
}

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
  readonly name: DetectorName;
  /** Detections in pixels of `image`, best score first. */
  detect(image: Image, options?: DetectOptions): Promise<Detection[]>;
  dispose(): Promise<void>;
}
