/**
 * facekit's entry: the plain verbs (face_recognition's three-line use), the configured kit, the
 * gallery, the types they take and give, and the error class. Advanced parts sit behind subpath
 * exports: facekit/pipeline, facekit/gallery, facekit/models, facekit/match, facekit/embed,
 * facekit/detect, facekit/landmarks, facekit/image, facekit/search (see docs/ARCHITECTURE.md).
 */
export {
  compareFaces,
  disposeSharedKits,
  faceDistance,
  faceEncodings,
  faceLandmarks,
  faceLocations,
  loadImage,
  verify,
} from './api.js';
export type {
  EncodingOptions,
  FaceLandmarks,
  FaceLandmarks5,
  LandmarkModelSize,
  LandmarkOptions,
  LocateOptions,
  VerifyOptions,
} from './api.js';
export { alignFace, createFaceKit, FaceKit } from './pipeline/kit.js';
export { MAX_JITTERS } from './pipeline/options.js';
export type {
  Alignment,
  AnalyzedFaceOf,
  AnalyzeOptions,
  DetectorChoice,
  FaceKitOptions,
  LandmarkModel,
} from './pipeline/options.js';
export type { Chip } from './align/chip.js';
export { imageFromRaw } from './image/decode.js';
export type { LoadImageOptions } from './image/decode.js';
export { DEFAULT_DETECTOR, DETECTOR_NAMES } from './detect/registry.js';
export type { DetectorName } from './detect/registry.js';
export type { DetectOptions, MtcnnOptions } from './detect/detector.js';
export type { Precision } from './models/registry.js';
export { landmarkParts } from './landmarks/parts.js';
export { landmarks5From68 } from './landmarks/five.js';
export { Gallery, openGallery } from './gallery/gallery.js';
export type { GalleryOptions, Identification, IdentifyOptions } from './gallery/gallery.js';
export type { Verification } from './match/verify.js';
export { clusterFaces } from './cluster/cluster.js';
export type { ClusterOptions } from './cluster/cluster.js';
export { FaceKitError } from './errors.js';
export type { FaceKitErrorCode } from './errors.js';
export type { AnalyzedFace, AnalyzedFace5, Box, Descriptor, Detection, Face, Face5, Image, Point } from './types.js';
