import { type ChipTemplate, dlibChipTemplate, dlibChipTemplate5 } from '../align/templates.js';
import { chipTransform, warpChip } from '../align/chip.js';
import { checkLandmarkSpread } from '../align/spread.js';
import type { DetectOptions, FaceDetector } from '../detect/detector.js';
import { checkMaxFaces, checkMinConfidence } from '../detect/nms.js';
import { checkPadding, DEFAULT_PADDING, detectPadded } from '../detect/pad.js';
import { DlibEncoder } from '../embed/dlib128.js';
import { DLIB128 } from '../embed/spec.js';
import { FaceKitError, invalidArgument } from '../errors.js';
import { landmarks5From68 } from '../landmarks/five.js';
import { checkPrecision, type Precision } from '../models/precision.js';
import { type Landmark68Variant, Landmarker68 } from '../landmarks/landmarks68.js';
import { provideBackend, type RuntimeOptions } from '../runtime/model-session.js';
import type { Detection, Face, Face5, Point } from '../types.js';
import { BROWSER_DETECTORS, type BrowserDetectorName, checkBrowserDetector } from './detectors.js';
import { type BrowserInput, toImage } from './input.js';
import {
  WEB_EXECUTION_PROVIDERS,
  type WebBackend,
  webBackend,
  type WebRuntimeInfo,
  type WebRuntimeOptions,
} from './runtime.js';
import { loadTunedEmbedder, type TunedEmbedderRef, tunedEmbedderRef } from './tuned.js';

export type BrowserAlignment = 'landmarks68' | 'landmarks5';

export interface BrowserFaceKitOptions extends WebRuntimeOptions, Omit<DetectOptions, 'maxFaces' | 'minConfidence'> {
  /** 'tiny' (default here: the fastest, for live video), 'ssd', 'mtcnn' or 'hog'. */
  readonly detector?: BrowserDetectorName;
  readonly minConfidence?: number;
  readonly maxFaces?: number;
  /** 68-point network: 'full' (default) or 'tiny'. */
  readonly landmarks?: Landmark68Variant;
  /** Chips aligned on 68 points (default, as Node) or on five (MTCNN's own, else made from 68). */
  readonly alignment?: BrowserAlignment;
  /** Border around the frame before detection, × its longer side (Node's default: 0.1; HOG 0). */
  readonly padding?: number;
  /**
   * An embedder tuned by `facekit train`: its name (fetched from `facekit serve`'s
   * /models/embedders/) or its spec's URL (`<name>.json`, the `.onnx` beside it). Default: dlib's.
   */
  readonly embedder?: string;
  /**
   * 'fp32' (default: descriptors equal Node's fp32 within 1e-4) or 'int8': the dlib encoder and SSD
   * run their int8 builds (Node's `precision: 'int8'` models, built by the server on first request),
   * faster, and equal to Node's int8 descriptors. A tuned `embedder` always runs fp32, as in Node.
   */
  readonly precision?: Precision;
}

/** One face the browser kit found and described. */
export interface BrowserFace extends Detection {
  readonly landmarks?: readonly Point[];
  readonly landmarks5?: readonly Point[];
  readonly descriptor: Float32Array;
}

/**
 * facekit's pipeline in the browser: the Node runners (detectors, 68-point network, dlib encoder,
 * alignment) on onnxruntime-web, in the same order and with the same defaults as Node's FaceKit,
 * so one photo gives the same descriptors in both. No retry chain: a live frame with no face
 * should cost one detector pass, not five.
 */
export class BrowserFaceKit {
  readonly detectorName: BrowserDetectorName;
  readonly alignment: BrowserAlignment;
  readonly precision: Precision;
  /** The descriptor space (galleries refuse to mix): the same id as Node's (`dlib128+<name>` for a tuned one). */
  readonly embedderId: string;
  private readonly tuned?: TunedEmbedderRef;
  private readonly runtime: RuntimeOptions;
  private readonly backend: WebBackend;
  private detector?: Promise<FaceDetector>;
  private landmarker?: Promise<Landmarker68>;
  private encoder?: Promise<DlibEncoder>;
  private readonly template: ChipTemplate = dlibChipTemplate();
  private readonly template5: ChipTemplate = dlibChipTemplate5();
  private disposed = false;

  constructor(readonly options: BrowserFaceKitOptions = {}) {
    const given: unknown = options;
    if (typeof given !== 'object' || given === null || Array.isArray(given))
      throw invalidArgument(
        'options',
        `must be an options object, e.g. { detector: 'tiny' }; got ${JSON.stringify(given)}`,
      );
    this.detectorName = checkBrowserDetector(options.detector ?? 'tiny');
    BROWSER_DETECTORS[this.detectorName].check(options);
    if (options.minConfidence !== undefined) checkMinConfidence(options.minConfidence);
    if (options.maxFaces !== undefined) checkMaxFaces(options.maxFaces);
    if (options.padding !== undefined) checkPadding(options.padding);
    if (options.landmarks !== undefined && options.landmarks !== 'full' && options.landmarks !== 'tiny')
      throw invalidArgument('landmarks', `expected 'full' or 'tiny', got ${String(options.landmarks)}`);
    const alignment: unknown = options.alignment ?? 'landmarks68';
    if (alignment !== 'landmarks68' && alignment !== 'landmarks5')
      throw invalidArgument('alignment', `expected 'landmarks68' or 'landmarks5', got ${String(alignment)}`);
    this.alignment = alignment;
    this.precision = checkPrecision(options.precision ?? 'fp32');
    const provider: unknown = options.executionProvider ?? 'auto';
    if (!(WEB_EXECUTION_PROVIDERS as readonly unknown[]).includes(provider))
      throw invalidArgument(
        'executionProvider',
        `expected ${WEB_EXECUTION_PROVIDERS.map((p) => `'${p}'`).join(', ')}, got ${String(provider)}`,
      );
    if (provider === 'webgpu' && this.precision === 'int8')
      throw invalidArgument(
        'executionProvider',
        "precision 'int8' runs on 'wasm' only (onnxruntime-web's WebGPU has no int8 convolutions): use fp32 with 'webgpu'",
      );
    if (options.embedder !== undefined) this.tuned = tunedEmbedderRef(options.embedder, options);
    this.embedderId = this.tuned?.modelId ?? DLIB128.modelId;
    this.backend = webBackend(options, this.precision);
    // Runners opened without options (none here, but user code reaching the stage classes) use it too.
    provideBackend(this.backend);
    this.runtime = { backend: this.backend, precision: this.precision };
  }

  private alive(): void {
    if (this.disposed) throw new FaceKitError('DISPOSED', 'this FaceKit was disposed');
  }

  private getDetector(): Promise<FaceDetector> {
    this.alive();
    this.detector ??= BROWSER_DETECTORS[this.detectorName].create(this.runtime);
    return this.detector;
  }

  private getLandmarker(): Promise<Landmarker68> {
    this.alive();
    this.landmarker ??= Landmarker68.create({ variant: this.options.landmarks ?? 'full', ...this.runtime });
    return this.landmarker;
  }

  private getEncoder(): Promise<DlibEncoder> {
    this.alive();
    const tuned = this.tuned;
    this.encoder ??= tuned
      ? loadTunedEmbedder(tuned).then((bytes) => DlibEncoder.fromBytes(tuned.modelId, bytes, this.runtime))
      : DlibEncoder.create(this.runtime);
    return this.encoder;
  }

  /**
   * Fetches (or reads from the cache) and opens every model this kit uses; says what they run on
   * (the execution provider 'auto' settled on, the threads).
   */
  async warmUp(): Promise<WebRuntimeInfo> {
    const needs68 = !(this.alignment === 'landmarks5' && BROWSER_DETECTORS[this.detectorName].fivePoints);
    await Promise.all([this.getDetector(), needs68 ? this.getLandmarker() : undefined, this.getEncoder()]);
    return this.backend.runtimeInfo();
  }

  /** What the kit's networks run on: settled (and GPU adapter probed) on first call, as by warmUp. */
  runtimeInfo(): Promise<WebRuntimeInfo> {
    this.alive();
    return this.backend.runtimeInfo();
  }

  /** Faces in the input, best first, in its pixels. */
  async detect(input: BrowserInput): Promise<Detection[]> {
    const image = toImage(input);
    const detector = await this.getDetector();
    const entry = BROWSER_DETECTORS[this.detectorName];
    const o: DetectOptions = {
      minConfidence: this.options.minConfidence,
      maxFaces: this.options.maxFaces,
      ...entry.own(this.options),
    };
    return detectPadded(detector, image, o, this.options.padding ?? entry.padding ?? DEFAULT_PADDING);
  }

  /** 68 landmarks for each detection (found here when none are given). */
  async landmarks(input: BrowserInput, detections?: readonly Detection[]): Promise<Face[]> {
    const image = toImage(input);
    const found = detections ?? (await this.detect(image));
    const points = await (await this.getLandmarker()).detect(
      image,
      found.map((d) => d.landmarkBox ?? d.box),
    );
    return found.map((d, i) => ({ ...d, landmarks: points[i] }));
  }

  /** Descriptors of faces whose points are known, aligned as Node aligns them. */
  async encode(input: BrowserInput, faces: readonly (Face | Face5)[]): Promise<Float32Array[]> {
    const image = toImage(input);
    if (!Array.isArray(faces)) throw invalidArgument('faces', 'must be an array of faces with landmarks');
    if (faces.length === 0) return [];
    const maps = faces.map((face, i) => {
      const given = face as Partial<Face & Face5>;
      const points = given.landmarks ?? given.landmarks5;
      if (!points) throw invalidArgument(`faces[${i}]`, 'needs landmarks or landmarks5');
      checkLandmarkSpread(points, image, `faces[${i}]`);
      if (this.alignment === 'landmarks5') {
        const five = given.landmarks5 ?? landmarks5From68(given.landmarks as readonly Point[]);
        return chipTransform(five, this.template5);
      }
      if (!given.landmarks)
        throw invalidArgument(`faces[${i}]`, "needs 68 landmarks (this kit aligns on 'landmarks68')");
      return chipTransform(given.landmarks, this.template);
    });
    const encoder = await this.getEncoder();
    return encoder.encode(maps.map((m) => warpChip(image, m, this.template.size)));
  }

  /** The whole pipeline on one image or video frame: boxes, points and 128-d descriptors. */
  async analyze(input: BrowserInput): Promise<BrowserFace[]> {
    this.alive();
    const image = toImage(input);
    const detections = await this.detect(image);
    const faces: (Face | Face5)[] =
      this.alignment === 'landmarks5' && detections.every((d) => d.landmarks5 !== undefined)
        ? (detections as Face5[])
        : await this.landmarks(image, detections);
    const descriptors = await this.encode(image, faces);
    return faces.map((f, i) => ({ ...f, descriptor: descriptors[i] }));
  }

  /** Releases every onnxruntime session this kit opened. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const opened = await Promise.allSettled(
      [this.detector, this.landmarker, this.encoder].filter((p) => p !== undefined) as Promise<{
        dispose(): Promise<void>;
      }>[],
    );
    await Promise.all(opened.map((r) => (r.status === 'fulfilled' ? r.value.dispose() : undefined)));
  }
}

/** `import { createFaceKit } from 'facekit/browser'`: a kit on onnxruntime-web. */
export function createFaceKit(options: BrowserFaceKitOptions = {}): BrowserFaceKit {
  return new BrowserFaceKit(options);
}
