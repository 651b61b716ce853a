/**
 * The three-line API, in the spirit of face_recognition's api.py: plain functions, plain data.
 * They share one lazily created FaceKit per detector; `createFaceKit()` gives full control.
 */
import { FaceKit, type FaceKitOptions } from './kit.js';
import type { DetectorName } from './detect/detector.js';
import { invalidArgument } from './errors.js';
import { landmarkParts, type LandmarkPart } from './landmarks/parts.js';
import type { Box, Image, Point } from './types.js';

export { loadImage } from './image/decode.js';
export { compareFaces, faceDistance, euclideanDistance, DEFAULT_TOLERANCE } from './match/distance.js';

/** The model cache aside, these kits are facekit's only module state: one per detector, made on first use. */
const sharedKits = new Map<DetectorName, FaceKit>();

function sharedKit(detector: DetectorName = 'tiny'): FaceKit {
  if (detector !== 'tiny' && detector !== 'ssd') throw invalidArgument('model', `unknown detector "${String(detector)}" (use 'tiny' or 'ssd')`);
  let kit = sharedKits.get(detector);
  if (!kit) {
    const options: FaceKitOptions = { detector, retryOnMiss: true };
    kit = new FaceKit(options);
    sharedKits.set(detector, kit);
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
  /** Which detector: 'tiny' (default, fastest) or 'ssd'. */
  readonly model?: DetectorName;
  readonly minConfidence?: number;
}

/** Boxes of every face in the image, best first. */
export async function faceLocations(image: Image, options: LocateOptions = {}): Promise<Box[]> {
  const found = await sharedKit(options.model).detect(image, { minConfidence: options.minConfidence });
  return found.map((d) => d.box);
}

export interface FaceLandmarks {
  /** The 68 points, iBUG 300-W order, image pixels. */
  readonly points: Point[];
  readonly parts: Record<LandmarkPart, Point[]>;
}

export interface LandmarkOptions extends LocateOptions {
  /** Boxes from an earlier faceLocations() call, to skip detection. */
  readonly faceLocations?: readonly Box[];
}

/** 68 landmarks of each face, as points and as named parts (chin, eyes, nose, lips...). */
export async function faceLandmarks(image: Image, options: LandmarkOptions = {}): Promise<FaceLandmarks[]> {
  const kit = sharedKit(options.model);
  const detections = options.faceLocations?.map((box) => ({ box, score: 1 }));
  const faces = await kit.landmarks(image, detections);
  return faces.map((f) => ({ points: [...f.landmarks], parts: landmarkParts(f.landmarks) }));
}

export interface EncodingOptions extends LandmarkOptions {
  /** Extra perturbed chips averaged into each descriptor (face_recognition's num_jitters − 1). */
  readonly jitters?: number;
  /** Average with the mirrored face: a cheap, consistent accuracy gain. */
  readonly flip?: boolean;
}

/** One 128-d descriptor per face; distance < 0.6 means "same person". */
export async function faceEncodings(image: Image, options: EncodingOptions = {}): Promise<Float32Array[]> {
  const kit = sharedKit(options.model);
  const detections = options.faceLocations?.map((box) => ({ box, score: 1 }));
  const faces = await kit.landmarks(image, detections);
  return kit.encode(image, faces, { jitters: options.jitters, flip: options.flip });
}
