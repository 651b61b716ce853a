import { checkPadding } from '../detect/pad.js';
import type { DetectOptions, MtcnnOptions } from '../detect/detector.js';
import { checkMaxFaces, checkMinConfidence } from '../detect/nms.js';
import {
  checkDetectorName,
  DEFAULT_DETECTOR,
  DETECTOR_NAMES,
  DETECTORS,
  type DetectorAlias,
  type DetectorName,
} from '../detect/registry.js';
import { invalidArgument } from '../errors.js';
import type { Landmark68Variant } from '../landmarks/landmarks68.js';
import { checkPrecision } from '../models/registry.js';
import type { RuntimeOptions } from '../runtime/session.js';
import type { AnalyzedFace, AnalyzedFace5 } from '../types.js';

/** A kit's options, their types and their checks: everything a kit is told before it opens a session. */

export type LandmarkModel = Landmark68Variant;

/**
 * Which points align a face onto the encoder's chip. 'landmarks68': the 68-point network's (dlib's
 * own alignment). 'landmarks5': MTCNN's five points onto the same template (dlibChipTemplate5), so
 * the 68-point network does not run for faces MTCNN found; faces a fallback detector found get five
 * points made from the 68.
 */
export type Alignment = 'landmarks68' | 'landmarks5';

/** The faces `analyze()` gives for each alignment: five-point kits have no 68 points to report. */
export type AnalyzedFaceOf<A extends Alignment> = A extends 'landmarks5' ? AnalyzedFace5 : AnalyzedFace;

/**
 * MTCNN's options come only with the MTCNN detector, `upsample` only with dlib's MMOD ('cnn' is
 * face_recognition's name for it): tiny and SSD have no pyramid to tune.
 */
export type DetectorChoice =
  | {
      readonly detector: Exclude<DetectorName, 'mtcnn' | 'mmod' | 'hog'>;
      readonly mtcnn?: undefined;
      readonly upsample?: undefined;
    }
  | { readonly detector?: 'mtcnn'; readonly mtcnn?: MtcnnOptions; readonly upsample?: undefined }
  | { readonly detector: 'hog' | 'mmod' | DetectorAlias; readonly mtcnn?: undefined; readonly upsample?: number };

export type FaceKitOptions = KitOptions & DetectorChoice;

interface KitOptions extends RuntimeOptions {
  /** Which embedder makes the descriptors (src/embed/registry.ts); default 'dlib128'. */
  readonly embedder?: string;
  /** Default 'landmarks68'; 'landmarks5' is faster with MTCNN (no 68-point pass). */
  readonly alignment?: Alignment;
  readonly landmarks?: LandmarkModel;
  /**
   * Run the landmark network a second time on a box drawn from its first answer (0.7 ms a face):
   * landmarks that depend less on which detector framed the face. Off by default, since LFW
   * accuracy moved only within noise (see src/landmarks/refine.ts); off gives face-api's own points.
   */
  readonly refineLandmarks?: boolean;
  readonly minConfidence?: number;
  /** Tiny detector input side (multiple of 32). */
  readonly inputSize?: number;
  /** HOG detector: times the image is doubled first (face_recognition's number_of_times_to_upsample; default 1). */
  readonly upsample?: number;
  /** HOG detector: dlib's adjust_threshold (default 0). */
  readonly adjustThreshold?: number;
  readonly maxFaces?: number;
  /**
   * When the first pass finds nothing, try again with the other detectors (see detectionAttempts)
   * before answering "no face": a miss costs far more than the retry. Default DEFAULT_RETRY_ON_MISS.
   */
  readonly retryOnMiss?: boolean;
  /**
   * Grey border, as a fraction of the photo's longer side (0 turns it off; default
   * DEFAULT_PADDING): each detector pass runs on the photo and on a bordered copy, and the answers
   * are merged (see src/detect/pad.ts). Faces filling the frame or cut by it are found without a
   * retry; the plain pass keeps the faces the border makes a detector miss.
   */
  readonly padding?: number;
  /**
   * For photos known to hold a face (enrolment, ID photos, LFW): when every retry found nothing,
   * take the single best candidate scoring at least this much. Off by default, since on photos
   * without faces it would return a false face.
   */
  readonly rescueMinConfidence?: number;
  /** Average the descriptor of the chip and its mirror image. */
  readonly flip?: boolean;
  /** Extra randomly perturbed chips averaged in, like dlib's num_jitters (deterministic seed); at most MAX_JITTERS. */
  readonly jitters?: number;
}

/** A call's detection knobs over the kit's: each one the call leaves out comes from the kit. */
export function detectKnobs(given: DetectOptions, kit: DetectOptions): DetectOptions {
  return {
    minConfidence: given.minConfidence ?? kit.minConfidence,
    maxFaces: given.maxFaces ?? kit.maxFaces,
    inputSize: given.inputSize ?? kit.inputSize,
    mtcnn: given.mtcnn ?? kit.mtcnn,
    upsample: given.upsample ?? kit.upsample,
    adjustThreshold: given.adjustThreshold ?? kit.adjustThreshold,
  };
}

/** What one `analyze()` call can override. */
export interface AnalyzeOptions extends DetectOptions {
  readonly flip?: boolean;
  readonly jitters?: number;
}

/**
 * Most jitters per face: dlib's own example averages 100 jittered chips and face_recognition
 * documents 100 as its slow end ("100 is 100x slower"); beyond it the mean no longer moves and
 * each one costs another full encoder pass.
 */
export const MAX_JITTERS = 100;

export function checkJitters(jitters: number | undefined): void {
  if (jitters !== undefined && !(Number.isInteger(jitters) && jitters >= 0 && jitters <= MAX_JITTERS)) {
    throw invalidArgument('jitters', `must be an integer from 0 to ${MAX_JITTERS}, got ${jitters}`);
  }
}

/**
 * Checks every option of a kit and returns its detector. Run when a kit is made, rather than on
 * the first detect: a CLI run would otherwise report the same bad option once per file.
 */
export function checkKitOptions(options: FaceKitOptions): DetectorName {
  const detector: DetectorName =
    options.detector === undefined ? DEFAULT_DETECTOR : checkDetectorName(options.detector);
  for (const name of DETECTOR_NAMES) DETECTORS[name].checkOptions(options, detector);
  if (options.alignment !== undefined && options.alignment !== 'landmarks68' && options.alignment !== 'landmarks5') {
    throw invalidArgument(
      'alignment',
      `unknown alignment "${String(options.alignment)}" (use 'landmarks68' or 'landmarks5')`,
    );
  }
  if (options.landmarks !== undefined && options.landmarks !== 'full' && options.landmarks !== 'tiny') {
    throw invalidArgument('landmarks', `unknown landmark model "${String(options.landmarks)}" (use 'full' or 'tiny')`);
  }
  checkJitters(options.jitters);
  if (options.minConfidence !== undefined) checkMinConfidence(options.minConfidence);
  if (options.maxFaces !== undefined) checkMaxFaces(options.maxFaces);
  if (
    options.rescueMinConfidence !== undefined &&
    !(options.rescueMinConfidence > 0 && options.rescueMinConfidence < 1)
  ) {
    throw invalidArgument('rescueMinConfidence', `must be in (0, 1), got ${options.rescueMinConfidence}`);
  }
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 0)) {
    throw invalidArgument('threads', `must be a non-negative integer, got ${options.threads}`);
  }
  if (options.precision !== undefined) checkPrecision(options.precision);
  if (options.padding !== undefined) checkPadding(options.padding);
  return detector;
}
