export {
  loadImage,
  compareFaces,
  faceDistance,
  euclideanDistance,
  DEFAULT_TOLERANCE,
  faceLocations,
  faceLandmarks,
  faceEncodings,
  disposeSharedKits,
  verify,
} from './api.js';
export type {
  LocateOptions,
  LandmarkOptions,
  EncodingOptions,
  FaceLandmarks,
  FaceLandmarks5,
  LandmarkModelSize,
  VerifyOptions,
} from './api.js';
export { FaceKit, createFaceKit, alignFace, EMBEDDER_ID, MAX_JITTERS } from './kit.js';
export type { Chip } from './align/chip.js';
export { imageFromRaw, DEFAULT_MAX_PIXELS } from './image/decode.js';
export type { LoadImageOptions } from './image/decode.js';
export type {
  FaceKitOptions,
  AnalyzeOptions,
  LandmarkModel,
  Alignment,
  AnalyzedFaceOf,
  DetectorChoice,
  AlignablePoints,
} from './kit.js';
export { DETECTOR_NAMES } from './detect/detector.js';
export type { DetectOptions, DetectorName, MtcnnOptions } from './detect/detector.js';
export { FaceKitError } from './errors.js';
export type { FaceKitErrorCode } from './errors.js';
export type { Image, Box, Point, Detection, Face, AnalyzedFace, Face5, AnalyzedFace5, Descriptor } from './types.js';
export { LANDMARKS5_NAMES, landmarks5From68 } from './landmarks/five.js';
export type { Landmark5Name } from './landmarks/five.js';
export { landmarkParts, LANDMARK_PARTS_68 } from './landmarks/parts.js';
export type { LandmarkPart } from './landmarks/parts.js';
export { MODELS, MODEL_IDS, PRECISIONS } from './models/registry.js';
export type { ModelId, Precision } from './models/registry.js';
export { buildModel, inspectModel, defaultCacheDir } from './models/cache.js';
export { openGallery, Gallery, ANN_MIN_FACES } from './gallery/gallery.js';
export type {
  GalleryOptions,
  IdentifyOptions,
  Identification,
  ThresholdOptions,
  ThresholdInfo,
  CalibrateOptions,
  LabelledFaces,
  IndexMode,
  IndexInfo,
} from './gallery/gallery.js';
export type {
  GalleryStore,
  PersonRecord,
  FaceRecord,
  NewFace,
  EnrollRequest,
  EnrollOutcome,
  CalibrationRecord,
  ClusterRun,
  ClusterFace,
  Metadata,
  MetadataPatch,
  ModelTag,
  DuplicateFace,
  DescriptorBatch,
  Watermark,
  ChangeSet,
  StoreStats,
  DistanceSample,
} from './gallery/store.js';
export { openSqliteStore, SqliteStore } from './gallery/sqlite.js';
export { defaultGalleryPath, GALLERY_ENV } from './gallery/paths.js';
export { ANN_DEFAULTS } from './gallery/ann.js';
export type { AnnParams } from './gallery/ann.js';
export { AGGREGATIONS, DEFAULT_K, DEFAULT_MEAN_OF } from './match/aggregate.js';
export type { Aggregation } from './match/aggregate.js';
export { thresholdForFar, falseAcceptRate, answerConfidence } from './match/calibrate.js';
export { verifyDescriptors } from './match/verify.js';
export type { Verification } from './match/verify.js';
export { clusterFaces, CLUSTER_THRESHOLD } from './cluster/cluster.js';
export type { ClusterOptions } from './cluster/cluster.js';
export { watch } from './video/watch.js';
export type { WatchOptions, WatchEvent, AnnotatedFrame } from './video/watch.js';
