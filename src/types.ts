/** Plain data shared by every stage of the pipeline (see DESIGN.md, "The one flow"). */

/** RGB pixels, row-major, 3 bytes per pixel, EXIF orientation already applied. */
export interface Image {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** A rectangle in pixels of the original image. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface Detection {
  readonly box: Box;
  /** Detector confidence in [0, 1]; for 'hog', dlib's detection_confidence (0 and up, about 0–3.5). */
  readonly score: number;
  /** Left eye, right eye, nose tip, left and right mouth corner, when the detector gives them. */
  readonly landmarks5?: readonly Point[];
  /**
   * The detector that found the face (a retry pass may answer for the kit's own), one of
   * DETECTOR_NAMES; absent for boxes the caller gave. A string here, not DetectorName: types.ts
   * sits below every room, and naming the registry's type would make the gallery (which stores
   * detections' types) reach onnxruntime through it (rule 3 of docs/ARCHITECTURE.md).
   */
  readonly detector?: string;
  /**
   * Where the 68-point network should look, when the detector frames faces unlike the detectors
   * that network was trained after (HOG's boxes are tighter: see src/detect/hog/detector.ts).
   */
  readonly landmarkBox?: Box;
}

/** A detected face with its 68 landmarks (iBUG 300-W order) in image pixels. */
export interface Face extends Detection {
  readonly landmarks: readonly Point[];
}

/**
 * The embedder's floats (128 for dlib_resnet128); distance between two is dissimilarity. Only two
 * descriptors of one model can be compared: an analysed face carries its `modelId` next to it, a
 * gallery stores the model id it holds and refuses others (MODEL_MISMATCH).
 */
export type Descriptor = Float32Array;

/** What every analysed face carries with its descriptor. */
export interface Described {
  readonly descriptor: Descriptor;
  /** The embedder model that made `descriptor` (FaceKit.embedderId, e.g. 'dlib_resnet128'). */
  readonly modelId: string;
}

export interface AnalyzedFace extends Face, Described {}

/**
 * A face known by five points only (no 68-point pass): what a kit aligning on five points returns.
 * `landmarks5` is MTCNN's, or made from the 68-point network's points for a face that a fallback
 * detector found (see landmarks5From68).
 */
export interface Face5 extends Detection {
  readonly landmarks5: readonly Point[];
}

export interface AnalyzedFace5 extends Face5, Described {}
