/** A dlib HOG detector (object_detector<scan_fhog_pyramid<pyramid_down<6>>>) as plain data. */

/** One rank-1 term of a filter plane: the plane is scored with Σ col ⊗ row, as dlib does. */
export interface SeparableTerm {
  /** Taps across a row, filterWidth long. */
  readonly row: readonly number[];
  /** Taps down a column, filterHeight long. */
  readonly col: readonly number[];
}

export interface HogFilter {
  /** dlib's bias: a window detects when its filter response reaches threshold + adjustThreshold. */
  readonly threshold: number;
  /** One list of separable terms per FHOG plane (31); a plane may have none. */
  readonly planes: readonly (readonly SeparableTerm[])[];
}

export interface HogModel {
  /** Pixels per FHOG cell. */
  readonly cellSize: number;
  /** Detection window in pixels of a pyramid level. */
  readonly windowWidth: number;
  readonly windowHeight: number;
  /** Filter size in cells. */
  readonly filterWidth: number;
  readonly filterHeight: number;
  /** The pyramid stops before a level smaller than this. */
  readonly minPyramidLayerWidth: number;
  readonly minPyramidLayerHeight: number;
  readonly maxPyramidLevels: number;
  /** dlib's test_box_overlap: boxes overlap when IoU or either's covered fraction exceeds these. */
  readonly nmsIouThreshold: number;
  readonly nmsPercentCoveredThreshold: number;
  readonly filters: readonly HogFilter[];
}
