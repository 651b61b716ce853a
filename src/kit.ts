import { chipTransform, extractChip, warpChip } from './align/chip.js';
import { JITTER_SEED, jitterTransform, mirrorTransform, seededRandom } from './align/jitter.js';
import { dlibChipTemplate, type ChipTemplate } from './align/templates.js';
import type { DetectOptions, DetectorName, FaceDetector } from './detect/detector.js';
import { SsdDetector } from './detect/ssd.js';
import { TinyDetector } from './detect/tiny.js';
import { DlibEncoder } from './embed/dlib128.js';
import { FaceKitError, invalidArgument } from './errors.js';
import { checkImage } from './image/ops.js';
import { Landmarker68, type Landmark68Variant } from './landmarks/landmarks68.js';
import { boxAroundPoints } from './landmarks/refine.js';
import type { RuntimeOptions } from './runtime/session.js';
import type { AnalyzedFace, Box, Detection, Face, Image, Point } from './types.js';

export type LandmarkModel = Landmark68Variant;

export interface FaceKitOptions extends RuntimeOptions {
  /** 'tiny' is ~8× faster; 'ssd' finds more small and turned faces. */
  readonly detector?: DetectorName;
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
  readonly maxFaces?: number;
  /**
   * When the first pass finds nothing, try again with other settings (tiny at other sizes, then
   * SSD) before answering "no face": a miss costs far more than the retry.
   */
  readonly retryOnMiss?: boolean;
  /**
   * For photos known to hold a face (enrolment, ID photos, LFW): when every retry found nothing,
   * take the single best candidate scoring at least this much. Off by default, since on photos
   * without faces it would return a false face.
   */
  readonly rescueMinConfidence?: number;
  /** Average the descriptor of the chip and its mirror image. */
  readonly flip?: boolean;
  /** Extra randomly perturbed chips averaged in, like dlib's num_jitters (deterministic seed). */
  readonly jitters?: number;
}

/** One detection pass: which detector, with which options. */
export type Attempt = readonly [DetectorName, DetectOptions];

/** What one `analyze()` call can override. */
export interface AnalyzeOptions extends DetectOptions {
  readonly flip?: boolean;
  readonly jitters?: number;
}

/**
 * Tiny sizes tried after a miss, before SSD, in the order that rescued most LFW misses: 320 sees
 * close-up faces whole, 608 finds small ones, 224 very large ones.
 */
const RETRY_INPUT_SIZES = [320, 608, 224] as const;
/** face-api's default tiny input size: the best speed/recall balance on 640-px photos. */
const DEFAULT_TINY_INPUT = 416;

/**
 * The passes a `retryOnMiss` kit makes, in order: the configured detector first, then tiny at every
 * retry size not yet tried, then SSD. Exported so the LFW benchmark walks the same chain.
 */
export function detectionAttempts(detector: DetectorName, options: DetectOptions): Attempt[] {
  // SSD has a fixed input; a tiny size in its options would only mislead a reader of the chain.
  const { inputSize, ...ssdOptions } = options;
  const first: Attempt = detector === 'ssd' ? ['ssd', ssdOptions] : ['tiny', { ...options, inputSize: inputSize ?? DEFAULT_TINY_INPUT }];
  const tinySizes = [DEFAULT_TINY_INPUT, ...RETRY_INPUT_SIZES].filter((size, i, all) => all.indexOf(size) === i);
  const retries = [...tinySizes.map((size): Attempt => ['tiny', { ...ssdOptions, inputSize: size }]), ['ssd', ssdOptions] as Attempt].filter(
    ([name, opts]) => !(name === first[0] && (name === 'ssd' || opts.inputSize === first[1].inputSize)),
  );
  return [first, ...retries];
}

/** The model every descriptor of this kit comes from; galleries store it to refuse mixing models. */
export const EMBEDDER_ID = 'dlib_resnet128' satisfies DlibEncoder['modelId'];

/** Whether `box` holds at least one whole pixel of `image` (what the landmark crop needs). */
function coversPixel(box: Box, image: Image): boolean {
  const x0 = Math.max(box.x, 0), y0 = Math.max(box.y, 0);
  return Math.min(box.x + box.width, image.width) - x0 >= 1 && Math.min(box.y + box.height, image.height) - y0 >= 1;
}

function checkJitters(jitters: number | undefined): void {
  if (jitters !== undefined && (!Number.isInteger(jitters) || jitters < 0)) throw invalidArgument('jitters', `must be a non-negative integer, got ${jitters}`);
}

/** The configured pipeline: detector, 68 landmarks, dlib alignment, 128-d encoder. */
export class FaceKit {
  readonly embedderId = EMBEDDER_ID;
  private readonly detectors = new Map<DetectorName, Promise<FaceDetector>>();
  private landmarker?: Promise<Landmarker68>;
  private encoder?: Promise<DlibEncoder>;
  private readonly template: ChipTemplate = dlibChipTemplate();
  private disposed = false;

  constructor(readonly options: FaceKitOptions = {}) {
    if (options.detector !== undefined && options.detector !== 'tiny' && options.detector !== 'ssd') {
      throw invalidArgument('detector', `unknown detector "${String(options.detector)}" (use 'tiny' or 'ssd')`);
    }
    if (options.landmarks !== undefined && options.landmarks !== 'full' && options.landmarks !== 'tiny') {
      throw invalidArgument('landmarks', `unknown landmark model "${String(options.landmarks)}" (use 'full' or 'tiny')`);
    }
    checkJitters(options.jitters);
    if (options.rescueMinConfidence !== undefined && !(options.rescueMinConfidence > 0 && options.rescueMinConfidence < 1)) {
      throw invalidArgument('rescueMinConfidence', `must be in (0, 1), got ${options.rescueMinConfidence}`);
    }
    if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 0)) {
      throw invalidArgument('threads', `must be a non-negative integer, got ${options.threads}`);
    }
  }

  get detectorName(): DetectorName {
    return this.options.detector ?? 'tiny';
  }

  private alive(): void {
    if (this.disposed) throw new FaceKitError('DISPOSED', 'this FaceKit was disposed');
  }

  private runtime(): RuntimeOptions {
    return { threads: this.options.threads, cacheDir: this.options.cacheDir };
  }

  private detector(name: DetectorName): Promise<FaceDetector> {
    let d = this.detectors.get(name);
    if (!d) {
      d = name === 'ssd' ? SsdDetector.create(this.runtime()) : TinyDetector.create(this.runtime());
      this.detectors.set(name, d);
    }
    return d;
  }

  private getLandmarker(): Promise<Landmarker68> {
    this.landmarker ??= Landmarker68.create({ variant: this.options.landmarks ?? 'full', ...this.runtime() });
    return this.landmarker;
  }

  private getEncoder(): Promise<DlibEncoder> {
    this.encoder ??= DlibEncoder.create(this.runtime());
    return this.encoder;
  }

  /** Opens every session this kit will use, so the first real call pays no start-up cost. */
  async warmUp(): Promise<void> {
    this.alive();
    await Promise.all([this.detector(this.detectorName), this.getLandmarker(), this.getEncoder()]);
  }

  /** Faces in `image`, best first, in image pixels. */
  async detect(image: Image, options: DetectOptions = {}): Promise<Detection[]> {
    this.alive();
    checkImage(image);
    const o: DetectOptions = {
      minConfidence: options.minConfidence ?? this.options.minConfidence,
      maxFaces: options.maxFaces ?? this.options.maxFaces,
      inputSize: options.inputSize ?? this.options.inputSize,
    };
    const [first, ...retries] = detectionAttempts(this.detectorName, o);
    const found = await this.attempt(image, first);
    if (found.length > 0 || !this.options.retryOnMiss) return found;
    for (const retry of retries) {
      const again = await this.attempt(image, retry);
      if (again.length > 0) return again;
    }
    const rescue = this.options.rescueMinConfidence;
    if (rescue === undefined) return [];
    const candidates: Detection[] = [];
    for (const [name, opts] of [first, ...retries]) candidates.push(...(await this.attempt(image, [name, { ...opts, minConfidence: rescue, maxFaces: 1 }])));
    return candidates.sort((x, y) => y.score - x.score).slice(0, 1);
  }

  /** One detection pass with the named detector, whatever this kit's own detector is. */
  async attempt(image: Image, [name, options]: Attempt): Promise<Detection[]> {
    this.alive();
    checkImage(image);
    return (await this.detector(name)).detect(image, options);
  }

  /** 68 landmarks for each detection (or for detections found here when none are given). */
  async landmarks(image: Image, detections?: readonly Detection[]): Promise<Face[]> {
    this.alive();
    checkImage(image);
    const found = detections ?? (await this.detect(image));
    const landmarker = await this.getLandmarker();
    const points = await landmarker.detect(image, found.map((d) => d.box));
    if (this.options.refineLandmarks !== true) return found.map((d, i) => ({ ...d, landmarks: points[i] }));
    // A face whose points spread over less than a pixel of the image keeps its first answer.
    const refinable = points.flatMap((p, i) => (coversPixel(boxAroundPoints(p), image) ? [i] : []));
    const refined = await landmarker.detect(image, refinable.map((i) => boxAroundPoints(points[i])));
    refinable.forEach((face, k) => (points[face] = refined[k]));
    return found.map((d, i) => ({ ...d, landmarks: points[i] }));
  }

  /** 128-d descriptors of faces whose landmarks are known; one batched inference for all. */
  async encode(image: Image, faces: readonly Pick<Face, 'landmarks'>[], options: Pick<AnalyzeOptions, 'flip' | 'jitters'> = {}): Promise<Float32Array[]> {
    this.alive();
    checkImage(image);
    checkJitters(options.jitters);
    if (faces.length === 0) return [];
    const flip = options.flip ?? this.options.flip ?? false;
    const jitters = options.jitters ?? this.options.jitters ?? 0;
    const size = this.template.size;
    const perFace = 1 + (flip ? 1 : 0) + jitters;
    const chips: Float32Array[] = [];
    const rnd = seededRandom(JITTER_SEED);
    for (const face of faces) {
      const m = chipTransform(face.landmarks, this.template);
      chips.push(warpChip(image, m, size));
      if (flip) chips.push(warpChip(image, mirrorTransform(m, size), size));
      for (let j = 0; j < jitters; j++) {
        const jm = jitterTransform(m, size, rnd);
        chips.push(warpChip(image, rnd() < 0.5 ? mirrorTransform(jm, size) : jm, size));
      }
    }
    const raw = await (await this.getEncoder()).encode(chips);
    return faces.map((_, f) => {
      if (perFace === 1) return raw[f];
      const mean = new Float32Array(raw[0].length);
      for (let k = 0; k < perFace; k++) {
        const d = raw[f * perFace + k];
        for (let i = 0; i < mean.length; i++) mean[i] += d[i] / perFace;
      }
      return mean;
    });
  }

  /** The whole pipeline: every face with box, score, 68 landmarks and 128-d descriptor. */
  async analyze(image: Image, options: AnalyzeOptions = {}): Promise<AnalyzedFace[]> {
    const faces = await this.landmarks(image, await this.detect(image, options));
    const descriptors = await this.encode(image, faces, options);
    return faces.map((f, i) => ({ ...f, descriptor: descriptors[i] }));
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

export function createFaceKit(options: FaceKitOptions = {}): FaceKit {
  return new FaceKit(options);
}

/** Aligned 150×150 chip of one face, for callers that want to look at or store it. */
export function alignFace(image: Image, landmarks: readonly Point[]) {
  return extractChip(image, landmarks, dlibChipTemplate());
}

export type { Box };
