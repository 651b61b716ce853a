import { chipTransform, extractChip, warpChip, type Chip } from './align/chip.js';
import { JITTER_SEED, jitterTransform, mirrorTransform, seededRandom } from './align/jitter.js';
import { dlibChipTemplate, dlibChipTemplate5, type ChipTemplate } from './align/templates.js';
import {
  checkDetectorName,
  type DetectOptions,
  type DetectorName,
  type FaceDetector,
  type MtcnnOptions,
} from './detect/detector.js';
import { MtcnnDetector, mtcnnSettings } from './detect/mtcnn/detector.js';
import { checkUpsample, MmodDetector } from './detect/mmod/detector.js';
import { checkMaxFaces, checkMinConfidence } from './detect/nms.js';
import { SsdDetector } from './detect/ssd.js';
import { checkInputSize, TinyDetector } from './detect/tiny.js';
import { DLIB_MAX_BATCH, DlibEncoder } from './embed/dlib128.js';
import { FaceKitError, invalidArgument } from './errors.js';
import { checkImage } from './image/ops.js';
import { checkPrecision } from './models/registry.js';
import { LANDMARKS5_NAMES, landmarks5From68 } from './landmarks/five.js';
import { checkPointCount, LANDMARK_COUNT_68 } from './landmarks/parts.js';
import { coversWholePixel, Landmarker68, type Landmark68Variant } from './landmarks/landmarks68.js';
import { boxAroundPoints } from './landmarks/refine.js';
import type { RuntimeOptions } from './runtime/session.js';
import type { AnalyzedFace, AnalyzedFace5, Box, Detection, Face, Face5, Image, Point } from './types.js';

export type LandmarkModel = Landmark68Variant;

const LANDMARKS5_COUNT = LANDMARKS5_NAMES.length;

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
  | { readonly detector?: 'tiny' | 'ssd'; readonly mtcnn?: undefined; readonly upsample?: undefined }
  | { readonly detector: 'mtcnn'; readonly mtcnn?: MtcnnOptions; readonly upsample?: undefined }
  | { readonly detector: 'mmod' | 'cnn'; readonly mtcnn?: undefined; readonly upsample?: number };

export type FaceKitOptions = KitOptions & DetectorChoice;

interface KitOptions extends RuntimeOptions {
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
  readonly maxFaces?: number;
  /**
   * When the first pass finds nothing, try again with other settings (tiny at other sizes, then
   * SSD, then MTCNN) before answering "no face": a miss costs far more than the retry.
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
  /** Extra randomly perturbed chips averaged in, like dlib's num_jitters (deterministic seed); at most MAX_JITTERS. */
  readonly jitters?: number;
}

/**
 * One detection pass: which detector, with which options. Kept a plain pair (callers remap chains
 * with `[name, { ...o, minConfidence }]`); detectionAttempts gives each pass only its own knobs.
 */
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
 * retry size not yet tried, then SSD, then MTCNN. MTCNN comes last for tiny and SSD kits: on LFW it
 * found 25 of the 26 faces that tiny at four sizes and SSD all missed (the first passes of the
 * others are kept as they were measured); after an MTCNN miss the tiny and SSD passes follow.
 * Exported so the LFW benchmark walks the same chain.
 */
export function detectionAttempts(detector: DetectorName, options: DetectOptions): Attempt[] {
  // Each pass carries only its detector's knobs: a tiny size in SSD's options would only mislead a reader of the chain.
  const { inputSize, mtcnn, upsample, ...common } = options;
  const first: Attempt =
    detector === 'ssd'
      ? ['ssd', common]
      : detector === 'mtcnn'
        ? ['mtcnn', { ...common, mtcnn }]
        : detector === 'mmod'
          ? ['mmod', { ...common, upsample }]
          : ['tiny', { ...common, inputSize: inputSize ?? DEFAULT_TINY_INPUT }];
  const tinySizes = [DEFAULT_TINY_INPUT, ...RETRY_INPUT_SIZES].filter((size, i, all) => all.indexOf(size) === i);
  const others: Attempt[] = [
    ...tinySizes.map((size): Attempt => ['tiny', { ...common, inputSize: size }]),
    ['ssd', common],
    ['mtcnn', common],
  ];
  const retries = others.filter(
    ([name, opts]) => !(name === first[0] && (name !== 'tiny' || opts.inputSize === first[1].inputSize)),
  );
  return [first, ...retries];
}

/**
 * The model every descriptor of this kit comes from; galleries store it to refuse mixing models.
 * The same at either precision: the int8 encoder is this network quantized, its descriptors about
 * 0.04 from the fp32 ones (at most 0.05 on LFW; a pair's distance moves by 0.005 on average,
 * against dlib's 0.6 threshold), so a gallery may hold and compare both (see DlibEncoder.modelId).
 */
export const EMBEDDER_ID = 'dlib_resnet128' satisfies DlibEncoder['modelId'];

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

/** Points a chip can be aligned on: 68 landmarks, or five (MTCNN's, or made from 68). */
export type AlignablePoints = { readonly landmarks: readonly Point[] } | { readonly landmarks5: readonly Point[] };

/**
 * The configured pipeline: detector, landmarks, dlib alignment, 128-d encoder. `A` is the kit's
 * alignment, which decides what `analyze()` returns; createFaceKit infers it from the options.
 */
export class FaceKit<A extends Alignment = 'landmarks68'> {
  readonly embedderId = EMBEDDER_ID;
  private readonly detectors = new Map<DetectorName, Promise<FaceDetector>>();
  private landmarker?: Promise<Landmarker68>;
  private encoder?: Promise<DlibEncoder>;
  private readonly template: ChipTemplate = dlibChipTemplate();
  private readonly template5: ChipTemplate = dlibChipTemplate5();
  private disposed = false;

  constructor(readonly options: FaceKitOptions & { readonly alignment?: A } = {}) {
    const detector: DetectorName = options.detector === undefined ? 'tiny' : checkDetectorName(options.detector);
    if (options.mtcnn !== undefined) {
      // Types rule this out; plain JavaScript callers get told instead of having the options ignored.
      if (detector !== 'mtcnn')
        throw invalidArgument('mtcnn', `MTCNN options need detector 'mtcnn', got '${detector}'`);
      mtcnnSettings({ mtcnn: options.mtcnn });
    }
    if (options.upsample !== undefined) {
      if (detector !== 'mmod')
        throw invalidArgument('upsample', `upsample needs detector 'mmod' (or 'cnn'), got '${detector}'`);
      checkUpsample(options.upsample);
    }
    if (options.alignment !== undefined && options.alignment !== 'landmarks68' && options.alignment !== 'landmarks5') {
      throw invalidArgument(
        'alignment',
        `unknown alignment "${String(options.alignment)}" (use 'landmarks68' or 'landmarks5')`,
      );
    }
    if (options.landmarks !== undefined && options.landmarks !== 'full' && options.landmarks !== 'tiny') {
      throw invalidArgument(
        'landmarks',
        `unknown landmark model "${String(options.landmarks)}" (use 'full' or 'tiny')`,
      );
    }
    checkJitters(options.jitters);
    // Checked here rather than on the first detect: a CLI run would otherwise report the same bad option once per file.
    if (options.minConfidence !== undefined) checkMinConfidence(options.minConfidence);
    if (options.maxFaces !== undefined) checkMaxFaces(options.maxFaces);
    if (options.inputSize !== undefined) checkInputSize(options.inputSize);
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
  }

  get detectorName(): DetectorName {
    return this.options.detector === undefined ? 'tiny' : checkDetectorName(this.options.detector);
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
      d =
        name === 'ssd'
          ? SsdDetector.create(this.runtime())
          : name === 'mtcnn'
            ? MtcnnDetector.create(this.runtime())
            : name === 'mmod'
              ? MmodDetector.create(this.runtime())
              : TinyDetector.create(this.runtime());
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

  private getEncoder(): Promise<DlibEncoder> {
    this.alive();
    this.encoder ??= DlibEncoder.create(this.runtime());
    return this.encoder;
  }

  /** Opens every session this kit will use, so the first real call pays no start-up cost. */
  async warmUp(): Promise<void> {
    this.alive();
    // A five-point MTCNN kit opens the 68-point network only when a fallback detector needs it.
    const needs68 = !(this.alignment === 'landmarks5' && this.detectorName === 'mtcnn');
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
    if (options.upsample !== undefined && this.detectorName !== 'mmod')
      throw invalidArgument('upsample', `upsample needs detector 'mmod' (or 'cnn'), got '${this.detectorName}'`);
    const o: DetectOptions = {
      minConfidence: options.minConfidence ?? this.options.minConfidence,
      maxFaces: options.maxFaces ?? this.options.maxFaces,
      inputSize: options.inputSize ?? this.options.inputSize,
      mtcnn: options.mtcnn ?? this.options.mtcnn,
      upsample: options.upsample ?? this.options.upsample,
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
    for (const [name, opts] of [first, ...retries])
      candidates.push(...(await this.attempt(image, [name, { ...opts, minConfidence: rescue, maxFaces: 1 }])));
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
  private chipMap(face: AlignablePoints, index: number): ReturnType<typeof chipTransform> {
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
   * (1 + flip + jitters) of them) are made and encoded DLIB_MAX_BATCH at a time, so neither the
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
    if (faces.length === 0) return [];
    const flip = options.flip ?? this.options.flip ?? false;
    const jitters = options.jitters ?? this.options.jitters ?? 0;
    const size = this.template.size;
    const perFace = 1 + (flip ? 1 : 0) + jitters;
    // Every face is checked before the first inference: a bad one fails the call without wasted work.
    const maps = faces.map((face, index) => this.chipMap(face, index));
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
      if (batch.length === DLIB_MAX_BATCH) await run();
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
    return faces.map((f, i) => ({ ...f, descriptor: descriptors[i] })) as AnalyzedFaceOf<A>[];
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
  const bad = landmarks.findIndex((p) => !(Number.isFinite(p?.x) && Number.isFinite(p?.y)));
  if (bad >= 0)
    throw invalidArgument(`landmarks[${bad}]`, `expected finite x and y, got ${JSON.stringify(landmarks[bad])}`);
  return extractChip(
    image,
    landmarks,
    landmarks.length === LANDMARKS5_COUNT ? dlibChipTemplate5() : dlibChipTemplate(),
  );
}

export type { Box };
