/**
 * facekit/pipeline: what every front end drives: the kit and its options, the retry chain, the
 * batch runner with its worker pool, and enrolment.
 */
export { alignFace, createFaceKit, FaceKit } from '../pipeline/kit.js';
export type { AlignablePoints } from '../pipeline/kit.js';
export { checkJitters, checkKitOptions, MAX_JITTERS } from '../pipeline/options.js';
export type {
  Alignment,
  AnalyzedFaceOf,
  AnalyzeOptions,
  DetectorChoice,
  FaceKitOptions,
  LandmarkModel,
} from '../pipeline/options.js';
export { detectionAttempts } from '../pipeline/retry.js';
export type { Attempt } from '../pipeline/retry.js';
export {
  analyzeFile,
  analyzeFiles,
  batchKit,
  inputName,
  largestFace,
  openAnalyzer,
  requiredModels,
} from '../pipeline/batch.js';
export type {
  Analyzer,
  AnalyzerSettings,
  BatchEvents,
  BatchInput,
  CpuChoice,
  FaceData,
  FileResult,
  InputError,
  ResultSink,
  Stage,
} from '../pipeline/batch.js';
export { Enrolment, faceQuality, hashFile, hashFiles, singleFace } from '../pipeline/enroll.js';
export type { EnrolmentEvents, EnrolmentOptions, PersonReport, PlannedPerson } from '../pipeline/enroll.js';
export type { RuntimeOptions } from '../runtime/session.js';
