/** facekit/detect: the detector registry. */
export {
  checkDetectorName,
  DEFAULT_DETECTOR,
  DETECTOR_ALIASES,
  DETECTOR_CHOICES,
  DETECTOR_NAMES,
  DETECTORS,
  detectorEntry,
} from '../detect/registry.js';
export type { DetectorAlias, DetectorEntry, DetectorName } from '../detect/registry.js';
export type { DetectOptions, FaceDetector, MtcnnOptions } from '../detect/detector.js';
// dlib's HOG detector: pure TypeScript + WebAssembly, no onnxruntime (src/detect/hog/ has no Node imports).
export { HOG_DEFAULT_UPSAMPLE, HOG_MAX_UPSAMPLE, HogDetector } from '../detect/hog/detector.js';
export { detectFacesHog, type HogSettings } from '../detect/hog/detect.js';
export type { DlibRect } from '../detect/dlib-geometry.js';
export type { HogDetection } from '../detect/hog/scan.js';
