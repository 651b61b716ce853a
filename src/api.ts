/**
 * The three-line API, in the spirit of face_recognition's api.py: plain functions, plain data.
 * They share one lazily created FaceKit per detector; `createFaceKit()` gives full control.
 */
import { FaceKit } from './pipeline/kit.js';
import { type Alignment, checkJitters } from './pipeline/options.js';
import { checkDetectorName, DEFAULT_DETECTOR, type DetectorAlias, type DetectorName } from './detect/registry.js';
import { FaceKitError, invalidArgument } from './errors.js';
import type { Gallery, ThresholdOptions } from './gallery/gallery.js';
import { DEFAULT_PAIR_THRESHOLD, verifyDescriptors, type PairThreshold, type Verification } from './match/verify.js';
import { LANDMARKS5_NAMES, type Landmark5Name } from './landmarks/five.js';
import { checkImage } from './image/ops.js';
import { checkFaceBox } from './landmarks/landmarks68.js';
import { landmarkParts, type LandmarkPart } from './landmarks/parts.js';
import type { Box, Detection, Image, Point } from './types.js';

export { loadImage } from './image/decode.js';
export { compareFaces, faceDistance, euclideanDistance, DEFAULT_TOLERANCE } from './match/distance.js';

/**
 * The model cache aside, these kits are facekit's only module state: one per detector and
 * alignment, made on first use.
 */
const sharedKits = new Map<string, FaceKit<Alignment>>();

function sharedKit(
  requested: DetectorName | DetectorAlias = DEFAULT_DETECTOR,
  field = 'model',
  alignment: Alignment = 'landmarks68',
): FaceKit<Alignment> {
  const detector = checkDetectorName(requested, field);
  const key = `${detector}/${alignment}`;
  let kit = sharedKits.get(key);
  if (!kit) {
    kit = new FaceKit<Alignment>({ detector, retryOnMiss: true, alignment });
    sharedKits.set(key, kit);
  }
  return kit;
}

/** Releases the sessions behind the plain verbs (long-running processes call this on shutdown). */
export async function disposeSharedKits(): Promise<void> {
  const kits = [...sharedKits.values()];
  sharedKits.clear();
  await Promise.all(kits.map((k) => k.dispose()));
}

export interface LocateOptions {
  /** Which detector: one of DETECTOR_NAMES (or 'cnn', face_recognition's name for 'mmod'); default DEFAULT_DETECTOR. */
  readonly detector?: DetectorName | DetectorAlias;
  /** face_recognition's spelling of `detector` (`face_locations(img, model=...)`), accepted for code ported from it. */
  readonly model?: DetectorName | DetectorAlias;
  readonly minConfidence?: number;
  /** 'mmod'/'cnn' only: face_recognition's number_of_times_to_upsample (default 1). */
  readonly upsample?: number;
}

/** Boxes of every face in the image, best first. */
export async function faceLocations(image: Image, options: LocateOptions = {}): Promise<Box[]> {
  const [detector, field] = options.detector !== undefined ? [options.detector, 'detector'] : [options.model, 'model'];
  const found = await sharedKit(detector, field).detect(image, {
    minConfidence: options.minConfidence,
    upsample: options.upsample,
  });
  return found.map((d) => d.box);
}

export interface FaceLandmarks {
  /** The 68 points, iBUG 300-W order, image pixels. */
  readonly points: Point[];
  readonly parts: Record<LandmarkPart, Point[]>;
}

/** Five points of a face (face_recognition's "small" model): left eye, right eye, nose tip, mouth corners. */
export interface FaceLandmarks5 {
  readonly points: Point[];
  /** One point per name (the eyes' centres, not face_recognition's eye corners). */
  readonly parts: Record<Landmark5Name, Point[]>;
}

/** face_recognition's landmark models: 'large' is the 68-point one, 'small' gives five points. */
export type LandmarkModelSize = 'large' | 'small';

/**
 * As in face_recognition, `model` here names the landmark model ('large' | 'small'); the detector
 * that faceLocations calls `model` is `detector` here.
 */
export interface LandmarkOptions {
  readonly model?: LandmarkModelSize;
  /** Which detector finds the faces: one of DETECTOR_NAMES; default DEFAULT_DETECTOR. */
  readonly detector?: DetectorName | DetectorAlias;
  /** Boxes from an earlier faceLocations() call, to skip detection. */
  readonly faceLocations?: readonly Box[];
}

/**
 * The caller's boxes as detections, each checked here so that a bad one is reported under the
 * name the caller gave it (`faceLocations[i]`) rather than the landmark network's own.
 */
function knownDetections(image: Image, boxes: readonly Box[] | undefined): Detection[] | undefined {
  if (boxes === undefined) return undefined;
  if (!Array.isArray(boxes))
    throw invalidArgument('faceLocations', `expected an array of boxes, got ${boxes === null ? 'null' : typeof boxes}`);
  checkImage(image);
  return boxes.map((box: Box, i) => {
    checkFaceBox(box, `faceLocations[${i}]`, image);
    return { box, score: 1 };
  });
}

function checkLandmarkModel(model: unknown): LandmarkModelSize {
  if (model === undefined || model === 'large' || model === 'small') return model ?? 'large';
  throw invalidArgument('model', `unknown landmark model "${String(model)}" (use 'large' or 'small')`);
}

/**
 * Landmarks of each face. 'large' (default): the 68 points and named parts (chin, eyes, nose,
 * lips...). 'small': five points, MTCNN's own when `detector: 'mtcnn'` found the face, else made
 * from the 68 points (eye centres, nose tip, mouth corners; see landmarks5From68).
 */
export function faceLandmarks(
  image: Image,
  options: LandmarkOptions & { readonly model: 'small' },
): Promise<FaceLandmarks5[]>;
export function faceLandmarks(
  image: Image,
  options?: LandmarkOptions & { readonly model?: 'large' },
): Promise<FaceLandmarks[]>;
export function faceLandmarks(image: Image, options?: LandmarkOptions): Promise<FaceLandmarks[] | FaceLandmarks5[]>;
export async function faceLandmarks(
  image: Image,
  options: LandmarkOptions = {},
): Promise<FaceLandmarks[] | FaceLandmarks5[]> {
  const model = checkLandmarkModel(options.model);
  const kit = sharedKit(options.detector, 'detector');
  const detections = knownDetections(image, options.faceLocations);
  if (model === 'small') {
    const faces = await kit.landmarks5(image, detections);
    return faces.map((f) => ({
      points: [...f.landmarks5],
      parts: Object.fromEntries(LANDMARKS5_NAMES.map((name, i) => [name, [f.landmarks5[i]]])) as Record<
        Landmark5Name,
        Point[]
      >,
    }));
  }
  const faces = await kit.landmarks(image, detections);
  return faces.map((f) => ({ points: [...f.landmarks], parts: landmarkParts(f.landmarks) }));
}

/** `model: 'small'` aligns each face on five points (face_recognition's small model does the same). */
export interface EncodingOptions extends LandmarkOptions {
  /** Extra perturbed chips averaged into each descriptor (face_recognition's num_jitters − 1), at most MAX_JITTERS (100). */
  readonly jitters?: number;
  /** Average with the mirrored face: a cheap, consistent accuracy gain. */
  readonly flip?: boolean;
}

/** One 128-d descriptor per face; distance < 0.6 means "same person". */
export async function faceEncodings(image: Image, options: EncodingOptions = {}): Promise<Float32Array[]> {
  const five = checkLandmarkModel(options.model) === 'small';
  // Before any network runs: a bad jitters count would otherwise fail only after detection and landmarks.
  checkJitters(options.jitters);
  const kit = sharedKit(options.detector, 'detector', five ? 'landmarks5' : 'landmarks68');
  const detections = knownDetections(image, options.faceLocations);
  const faces = five ? await kit.landmarks5(image, detections) : await kit.landmarks(image, detections);
  return kit.encode(image, faces, { jitters: options.jitters, flip: options.flip });
}

export interface VerifyOptions extends ThresholdOptions {
  /** Take the threshold (and the confidence) from this gallery's pair calibration. */
  readonly gallery?: Gallery;
  /** Detector for photos: one of DETECTOR_NAMES; default DEFAULT_DETECTOR. */
  readonly detector?: DetectorName | DetectorAlias;
}

const boxArea = (b: Box): number => b.width * b.height;

async function descriptorOf(
  input: Image | Float32Array,
  field: string,
  detector: DetectorName | DetectorAlias | undefined,
): Promise<Float32Array> {
  if (input instanceof Float32Array) return input;
  const faces = await sharedKit(detector, 'detector').analyze(input);
  if (faces.length === 0) throw new FaceKitError('NO_FACE', `${field}: no face found in the photo`, { field });
  // A photo for 1:1 checks shows its subject largest; bystanders are smaller.
  return faces.reduce((x, y) => (boxArea(y.box) > boxArea(x.box) ? y : x)).descriptor;
}

/**
 * Whether two faces (photos: their largest face; or descriptors) are the same person: distance,
 * the threshold used (option, else the gallery's calibrated pair threshold, else 0.6) and a
 * confidence when a calibration backs it.
 */
export async function verify(
  a: Image | Float32Array,
  b: Image | Float32Array,
  options: VerifyOptions = {},
): Promise<Verification> {
  if (options.threshold !== undefined && !(options.threshold > 0 && Number.isFinite(options.threshold))) {
    throw invalidArgument('threshold', `must be a positive number, got ${options.threshold}`);
  }
  // A rate names a gallery's calibration; without a gallery, ignoring it would answer at 0.6 as if calibrated.
  if (options.far !== undefined && !options.gallery) {
    throw invalidArgument('far', 'picks a calibration of a gallery: give { gallery } too, or a threshold');
  }
  const threshold: PairThreshold = options.gallery
    ? await options.gallery.threshold(options, 'pair')
    : options.threshold !== undefined
      ? { value: options.threshold, source: 'option', far: null, calibration: null }
      : DEFAULT_PAIR_THRESHOLD;
  const [da, db] = [await descriptorOf(a, 'a', options.detector), await descriptorOf(b, 'b', options.detector)];
  return verifyDescriptors(da, db, threshold);
}
