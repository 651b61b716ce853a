import { checkPadding, DEFAULT_PADDING, detectPadded } from '../detect/pad.js';
import { DEFAULT_RETRY_ON_MISS } from '../detect/registry.js';
import { type Chip, chipTransform, extractChip, warpChip } from '../align/chip.js';
import { checkLandmarkSpread } from '../align/spread.js';
import { JITTER_SEED, jitterTransform, mirrorTransform, seededRandom } from '../align/jitter.js';
import { type ChipTemplate, dlibChipTemplate, dlibChipTemplate5 } from '../align/templates.js';
import { DETECT_MAX_PIXELS, type DetectionView, detectionView, toOriginal } from '../detect/budget.js';
import type { DetectOptions, FaceDetector } from '../detect/detector.js';
import { DETECTOR_NAMES, DETECTORS, type DetectorName, detectorEntry } from '../detect/registry.js';
import { type Embedder, type EmbedderEntry, embedderEntry } from '../embed/registry.js';
import { DEFAULT_EMBEDDER } from '../embed/spec.js';
import { FaceKitError, invalidArgument } from '../errors.js';
import { checkImage } from '../image/ops.js';
import { LANDMARKS5_NAMES, landmarks5From68 } from '../landmarks/five.js';
import { coversWholePixel, Landmarker68 } from '../landmarks/landmarks68.js';
import { checkPointCount, LANDMARK_COUNT_68 } from '../landmarks/parts.js';
import { boxAroundPoints } from '../landmarks/refine.js';
import { provideCalibrator } from '../models/registry.js';
import type { RuntimeOptions } from '../runtime/session.js';
import type { Detection, Face, Face5, Image, Point } from '../types.js';
import {
  type Alignment,
  type AnalyzedFaceOf,
  type AnalyzeOptions,
  checkJitters,
  checkKitOptions,
  detectKnobs,
  type FaceKitOptions,
} from './options.js';
import { type Attempt, detectionAttempts } from './retry.js';
import { calibrationRanges } from './calibration.js';

// Every path into the pipeline loads this module, so an int8 build anywhere finds its calibrator.
provideCalibrator(calibrationRanges);

const LANDMARKS5_COUNT = LANDMARKS5_NAMES.length;

/** Points a chip can be aligned on: 68 landmarks, or five (MTCNN's, or made from 68). */
export type AlignablePoints = { readonly landmarks: readonly Point[] } | { readonly landmarks5: readonly Point[] };

/**
 * The configured pipeline: detector, landmarks, dlib alignment, 128-d encoder. `A` is the kit's
 * alignment, which decides what `analyze()` returns; createFaceKit infers it from the options.
 */

/** Pixels the copy may have so that, with a border of `padding` × its longer side, it stays within DETECT_MAX_PIXELS. */
function paddedBudget(image: Image, padding: number): number {
  const border = 2 * padding * Math.max(image.width, image.height);
  const area = image.width * image.height;
  return Math.floor((DETECT_MAX_PIXELS * area) / ((image.width + border) * (image.height + border)));
}

export class FaceKit<A extends Alignment = 'landmarks68'> {
  /** The descriptor space of this kit's embedder; galleries store it to refuse mixing models. */
  readonly embedderId: string;
  private readonly embedder: EmbedderEntry;
  private readonly detectors = new Map<DetectorName, Promise<FaceDetector>>();
  private landmarker?: Promise<Landmarker68>;
  private encoder?: Promise<Embedder>;
  private readonly template: ChipTemplate;
  private readonly template5: ChipTemplate;
  private disposed = false;
  /** The kit's detector, an alias ('cnn') resolved to its name. */
  readonly detectorName: DetectorName;

  constructor(readonly options: FaceKitOptions & { readonly alignment?: A } = {}) {
    const given: unknown = options;
    // createFaceKit('tiny') would otherwise give a default kit, and null a TypeError.
    if (typeof given !== 'object' || given === null || Array.isArray(given))
      throw invalidArgument(
        'options',
        `must be an options object, e.g. { detector: 'tiny' }; got ${JSON.stringify(given)}`,
      );
    this.detectorName = checkKitOptions(options);
    this.embedder = embedderEntry(options.embedder ?? DEFAULT_EMBEDDER, 'embedder', options.cacheDir);
    this.embedderId = this.embedder.modelId;
    this.template = this.embedder.template();
    this.template5 = this.embedder.template5();
  }

  private alive(): void {
    if (this.disposed) throw new FaceKitError('DISPOSED', 'this FaceKit was disposed');
  }

  private runtime(): RuntimeOptions {
    return { threads: this.options.threads, cacheDir: this.options.cacheDir, precision: this.options.precision };
  }

  // The session getters check alive() themselves: a call in flight when dispose() ran must not open
  // a session after dispose() collected the ones to release, or that session would never be freed.
  private detector(name: DetectorName): Promise<FaceDetector> {
    this.alive();
    let d = this.detectors.get(name);
    if (!d) {
      d = detectorEntry(name).create(this.runtime());
      this.detectors.set(name, d);
    }
    return d;
  }

  get alignment(): Alignment {
    return this.options.alignment ?? 'landmarks68';
  }

  private getLandmarker(): Promise<Landmarker68> {
    this.alive();
    this.landmarker ??= Landmarker68.create({ variant: this.options.landmarks ?? 'full', ...this.runtime() });
    return this.landmarker;
  }

  private getEncoder(): Promise<Embedder> {
    this.alive();
    this.encoder ??= this.embedder.create(this.runtime());
    return this.encoder;
  }

  /** Opens every session this kit will use, so the first real call pays no start-up cost. */
  async warmUp(): Promise<void> {
    this.alive();
    // A five-point kit whose detector gives five points (MTCNN) opens the 68-point network only when a fallback detector needs it.
    const needs68 = !(this.alignment === 'landmarks5' && DETECTORS[this.detectorName].givesFivePoints);
    await Promise.all([
      this.detector(this.detectorName),
      needs68 ? this.getLandmarker() : undefined,
      this.getEncoder(),
    ]);
  }

  /** Faces in `image`, best first, in image pixels. */
  async detect(image: Image, options: DetectOptions = {}): Promise<Detection[]> {
    this.alive();
    checkImage(image);
    const o = detectKnobs(options, this.options);
    // Per-call knobs are checked as the kit's own are: one for another detector is refused, not ignored.
    for (const name of DETECTOR_NAMES) DETECTORS[name].checkOptions(options, this.detectorName);
    const [first, ...retries] = detectionAttempts(this.detectorName, o);
    // One bounded copy for every pass of this call (see DETECT_MAX_PIXELS).
    // The border (see detect/pad.ts) grows the copy each pass reads: the copy is shrunk so that it
    // stays within DETECT_MAX_PIXELS with its border.
    const padding = this.options.padding ?? DEFAULT_PADDING;
    const view = await detectionView(image, paddedBudget(image, padding));
    const found = await this.attemptOn(view, first);
    if (found.length > 0 || !(this.options.retryOnMiss ?? DEFAULT_RETRY_ON_MISS)) return found;
    for (const retry of retries) {
      const again = await this.attemptOn(view, retry);
      if (again.length > 0) return again;
    }
    const rescue = this.options.rescueMinConfidence;
    if (rescue === undefined) return [];
    const candidates: Detection[] = [];
    for (const [name, opts] of [first, ...retries])
      candidates.push(...(await this.attemptOn(view, [name, { ...opts, minConfidence: rescue, maxFaces: 1 }])));
    return candidates.sort((x, y) => y.score - x.score).slice(0, 1);
  }

  /**
   * One detection pass with the named detector, whatever this kit's own detector is, and no retry.
   * `padding` overrides the kit's border for this pass (video frames are scenes, not tight crops:
   * the video loop passes 0 and saves the bordered second pass).
   */
  async attempt(image: Image, pass: Attempt, padding?: number): Promise<Detection[]> {
    this.alive();
    checkImage(image);
    if (padding !== undefined) checkPadding(padding);
    const border = padding ?? this.options.padding ?? DEFAULT_PADDING;
    return this.attemptOn(await detectionView(image, paddedBudget(image, border)), pass, padding);
  }

  /** One pass on the bounded copy (padded: see detect/pad.ts), answered in the photo's pixels. */
  private async attemptOn(view: DetectionView, [name, options]: Attempt, padding?: number): Promise<Detection[]> {
    const detector = await this.detector(name);
    const border = padding ?? this.options.padding ?? detectorEntry(name).defaultPadding ?? DEFAULT_PADDING;
    return toOriginal(await detectPadded(detector, view.image, options, border), view);
  }

  /** 68 landmarks for each detection (or for detections found here when none are given). */
  async landmarks(image: Image, detections?: readonly Detection[]): Promise<Face[]> {
    this.alive();
    checkImage(image);
    checkDetections(detections);
    const found = detections ?? (await this.detect(image));
    const landmarker = await this.getLandmarker();
    const points = await landmarker.detect(
      image,
      found.map((d) => d.landmarkBox ?? d.box),
    );
    if (this.options.refineLandmarks !== true) return found.map((d, i) => ({ ...d, landmarks: points[i] }));
    // A face whose points spread over less than a pixel of the image keeps its first answer.
    const refinable = points.flatMap((p, i) => (coversWholePixel(boxAroundPoints(p), image) ? [i] : []));
    const refined = await landmarker.detect(
      image,
      refinable.map((i) => boxAroundPoints(points[i])),
    );
    refinable.forEach((face, k) => (points[face] = refined[k]));
    return found.map((d, i) => ({ ...d, landmarks: points[i] }));
  }

  /**
   * Five points for each detection: the detector's own (MTCNN), else made from the 68-point
   * network's (run in one batch for just those faces).
   */
  async landmarks5(image: Image, detections?: readonly Detection[]): Promise<Face5[]> {
    this.alive();
    checkImage(image);
    checkDetections(detections);
    const found = detections ?? (await this.detect(image));
    const missing = found.flatMap((d, i) => (d.landmarks5 === undefined ? [i] : []));
    const from68 =
      missing.length > 0
        ? await this.landmarks(
            image,
            missing.map((i) => found[i]),
          )
        : [];
    const made = new Map(missing.map((face, k) => [face, landmarks5From68(from68[k].landmarks)]));
    return found.map((d, i) => ({ ...d, landmarks5: d.landmarks5 ?? (made.get(i) as Point[]) }));
  }

  /** The chip map of one face under this kit's alignment. */
  private chipMap(face: AlignablePoints, index: number, image: Image): ReturnType<typeof chipTransform> {
    const given: unknown = face;
    if (typeof given !== 'object' || given === null) throw invalidArgument(`faces[${index}]`, 'must be a face object');
    if ('landmarks' in face && face.landmarks !== undefined)
      checkLandmarkSpread(face.landmarks, image, `faces[${index}].landmarks`);
    if ('landmarks5' in face && face.landmarks5 !== undefined)
      checkLandmarkSpread(face.landmarks5, image, `faces[${index}].landmarks5`);
    if (this.alignment === 'landmarks5') {
      const five =
        'landmarks5' in face && face.landmarks5 !== undefined
          ? face.landmarks5
          : 'landmarks' in face
            ? landmarks5From68(face.landmarks)
            : undefined;
      if (five) return chipTransform(five, this.template5);
    } else if ('landmarks' in face && face.landmarks !== undefined) {
      return chipTransform(face.landmarks, this.template);
    }
    throw invalidArgument(
      `faces[${index}]`,
      this.alignment === 'landmarks5'
        ? 'needs landmarks5 or 68 landmarks'
        : "needs 68 landmarks (this kit aligns on 'landmarks68')",
    );
  }

  /**
   * 128-d descriptors of faces whose landmarks are known. Chips (with flip and jitters, faces ×
   * (1 + flip + jitters) of them) are made and encoded the embedder's maxBatch at a time, so neither the
   * chips nor the encoder's batch grow with the number of faces.
   */
  async encode(
    image: Image,
    faces: readonly AlignablePoints[],
    options: Pick<AnalyzeOptions, 'flip' | 'jitters'> = {},
  ): Promise<Float32Array[]> {
    this.alive();
    checkImage(image);
    checkJitters(options.jitters);
    if (!Array.isArray(faces)) throw invalidArgument('faces', 'must be an array of faces with landmarks');
    if (faces.length === 0) return [];
    const flip = options.flip ?? this.options.flip ?? false;
    const jitters = options.jitters ?? this.options.jitters ?? 0;
    const size = this.template.size;
    const perFace = 1 + (flip ? 1 : 0) + jitters;
    // Every face is checked before the first inference: a bad one fails the call without wasted work.
    const maps = faces.map((face, index) => this.chipMap(face, index, image));
    const rnd = seededRandom(JITTER_SEED);
    function* chips(): Generator<Float32Array> {
      for (const m of maps) {
        yield warpChip(image, m, size);
        if (flip) yield warpChip(image, mirrorTransform(m, size), size);
        for (let j = 0; j < jitters; j++) {
          const jm = jitterTransform(m, size, rnd);
          yield warpChip(image, rnd() < 0.5 ? mirrorTransform(jm, size) : jm, size);
        }
      }
    }
    const encoder = await this.getEncoder();
    const out: Float32Array[] = faces.map(() => new Float32Array(encoder.descriptorSize));
    let done = 0;
    let batch: Float32Array[] = [];
    const run = async (): Promise<void> => {
      this.alive();
      for (const d of await encoder.encode(batch)) {
        const face = Math.floor(done / perFace);
        if (perFace === 1) out[face] = d;
        else for (let i = 0; i < d.length; i++) out[face][i] += d[i] / perFace;
        done++;
      }
      batch = [];
    };
    for (const chip of chips()) {
      batch.push(chip);
      if (batch.length === encoder.maxBatch) await run();
    }
    if (batch.length > 0) await run();
    return out;
  }

  /**
   * The whole pipeline: every face with box, score, landmarks (68, or five for a 'landmarks5' kit)
   * and 128-d descriptor.
   */
  async analyze(image: Image, options: AnalyzeOptions = {}): Promise<AnalyzedFaceOf<A>[]> {
    const detections = await this.detect(image, options);
    const faces: (Face | Face5)[] =
      this.alignment === 'landmarks5'
        ? await this.landmarks5(image, detections)
        : await this.landmarks(image, detections);
    const descriptors = await this.encode(image, faces, options);
    // The alignment chose which kind `faces` holds; A is that alignment.
    return faces.map((f, i) => ({ ...f, descriptor: descriptors[i], modelId: this.embedderId })) as AnalyzedFaceOf<A>[];
  }

  /** Releases every onnxruntime session this kit opened. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const pending: Promise<{ dispose(): Promise<void> }>[] = [...this.detectors.values()];
    if (this.landmarker) pending.push(this.landmarker);
    if (this.encoder) pending.push(this.encoder);
    const opened = await Promise.allSettled(pending);
    await Promise.all(opened.map((r) => (r.status === 'fulfilled' ? r.value.dispose() : undefined)));
  }
}

/** Detections given to landmarks(): an array of { box } (each box is checked by the landmark network). */
function checkDetections(detections: unknown): void {
  if (detections === undefined) return;
  if (!Array.isArray(detections))
    throw invalidArgument('detections', 'must be an array of detections ({ box, score })');
  detections.forEach((d: unknown, i) => {
    if (typeof d !== 'object' || d === null || typeof (d as { box?: unknown }).box !== 'object')
      throw invalidArgument(`detections[${i}]`, 'must be a detection with a box');
  });
}

export function createFaceKit<A extends Alignment = 'landmarks68'>(
  options: FaceKitOptions & { readonly alignment?: A } = {},
): FaceKit<A> {
  return new FaceKit<A>(options);
}

/**
 * Aligned 150×150 chip of one face (float RGB, what the encoder reads), for callers that want to
 * look at or store it: from its 68 landmarks, or from five points (`landmarks5`, MTCNN's or made
 * from 68) onto the same chip.
 */
export function alignFace(image: Image, landmarks: readonly Point[]): Chip {
  checkImage(image);
  checkPointCount(landmarks, 'landmarks', [LANDMARK_COUNT_68, LANDMARKS5_COUNT]);
  checkLandmarkSpread(landmarks, image, 'landmarks');
  return extractChip(
    image,
    landmarks,
    landmarks.length === LANDMARKS5_COUNT ? dlibChipTemplate5() : dlibChipTemplate(),
  );
}
