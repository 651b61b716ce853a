/** facekit/detect: the detector registry. */
export { checkDetectorName, DEFAULT_DETECTOR, DETECTOR_NAMES, DETECTORS, detectorEntry } from '../detect/registry.js';
export type { DetectorEntry, DetectorName } from '../detect/registry.js';
export type { DetectOptions, FaceDetector, MtcnnOptions } from '../detect/detector.js';
