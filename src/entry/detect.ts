/** facekit/detect: the detector registry. */
export {
  checkDetectorName,
  DEFAULT_DETECTOR,
  DETECTOR_ALIASES,
  DETECTOR_NAMES,
  DETECTORS,
  detectorEntry,
} from '../detect/registry.js';
export type { DetectorAlias, DetectorEntry, DetectorName } from '../detect/registry.js';
export type { DetectOptions, FaceDetector, MtcnnOptions } from '../detect/detector.js';
