/**
 * facekit/browser: the pipeline on onnxruntime-web. Models come from a `facekit serve` origin
 * (its /models/), kept in Cache Storage after the first load.
 */
export { BROWSER_DETECTOR_NAMES, type BrowserDetectorName } from './detectors.js';
export { type BrowserInput, toImage } from './input.js';
export {
  type BrowserAlignment,
  type BrowserFace,
  BrowserFaceKit,
  type BrowserFaceKitOptions,
  createFaceKit,
} from './kit.js';
export {
  clearModelCache,
  MODEL_CACHE,
  resolveExecutionProvider,
  WEB_EXECUTION_PROVIDERS,
  type WebExecutionProvider,
  type WebExecutionProviderChoice,
  type WebRuntimeInfo,
  type WebRuntimeOptions,
  webThreads,
} from './runtime.js';
export { compareFaces, DEFAULT_TOLERANCE, euclideanDistance, faceDistance } from '../match/distance.js';
export { FaceKitError } from '../errors.js';
export type { Box, Detection, Face, Face5, Image, Point } from '../types.js';
