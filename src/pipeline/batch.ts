import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { sharpLib } from '../image/sharp.js';
import { DETECTORS, type DetectorName } from '../detect/registry.js';
import { FaceKitError, type FaceKitErrorCode } from '../errors.js';
// Also keeps sharp loaded in the main thread while workers come and go: sharp's documented
// requirement, since glibc would otherwise unload libvips under a running worker.
import { loadImage } from '../image/decode.js';
import { ensureModels } from '../models/ensure.js';
import { type ModelId, modelFor, type Precision } from '../models/registry.js';
import type { Box, Image, Point } from '../types.js';
import { FaceKit } from './kit.js';
import type { FaceKitOptions } from './options.js';
import { detectionAttempts } from './retry.js';

/**
 * The batch runner every front end drives: files (paths, bytes or decoded images) through the
 * pipeline to a stage, in one process or a pool of worker threads, results in input order;
 * progress and per-file errors come back through callbacks, never printed here.
 */

/** An input that could not be used, in the shape the CLI's `--json` prints under `errors`. */
export interface InputError {
  readonly file: string;
  readonly code: string;
  readonly message: string;
}

/**
 * One input: a file path, or bytes / a decoded image with the name results and errors call it
 * by. Plain data, so it can be posted to a worker thread.
 */
export type BatchInput =
  | string
  | { readonly name: string; readonly bytes: Uint8Array }
  | { readonly name: string; readonly image: Image };

/** The name results and errors give an input. */
export function inputName(input: BatchInput): string {
  return typeof input === 'string' ? input : input.name;
}

/** What a batch run tells its front end besides the results. */
export interface BatchEvents {
  /** Status lines (models being built). */
  readonly onNote?: (message: string) => void;
  /** Something the user should know that does not stop the run. */
  readonly onWarning?: (message: string) => void;
}

/** How far each file goes down the pipeline: a command pays only for what it prints. */
export type Stage = 'detect' | 'landmarks' | 'analyze';

export interface AnalyzerSettings {
  readonly detector: DetectorName;
  readonly minConfidence?: number;
  /** With detector 'hog' or 'mmod' only: face_recognition's number_of_times_to_upsample. */
  readonly upsample?: number;
  readonly stage: Stage;
  /** Kit option `precision`; default 'fp32'. */
  readonly precision?: Precision;
  /** Kit option `retryOnMiss`; default true (`--no-retry` turns it off). */
  readonly retryOnMiss?: boolean;
  /** Kit option `embedder`: a registered name or one `facekit train` saved; default dlib128. */
  readonly embedder?: string;
}

/** One face as plain data, safe to post between threads. */
export interface FaceData {
  readonly box: Box;
  readonly score: number;
  readonly landmarks?: Point[];
  /** MTCNN's five points, when it found the face. */
  readonly landmarks5?: Point[];
  readonly descriptor?: Float32Array;
  /** The embedder model that made `descriptor` (set with it): a gallery takes only its own model's. */
  readonly modelId?: string;
}

export type FileResult =
  | {
      readonly ok: true;
      readonly file: string;
      readonly width: number;
      readonly height: number;
      readonly faces: FaceData[];
      readonly ms: number;
    }
  | { readonly ok: false; readonly file: string; readonly error: InputError };

/** Receives results in input order, whatever order the workers finish in. */
export type ResultSink = (result: FileResult, index: number) => void;

export interface Analyzer {
  /** Runs every file through the pipeline; resolves once `onResult` has seen them all. */
  run(inputs: readonly BatchInput[], onResult: ResultSink): Promise<void>;
  close(): Promise<void>;
}

/**
 * Errors about the models, not the photo: every later file would fail the same way, so the run
 * stops instead of reporting the same failure once per file.
 */
const FATAL_CODES: ReadonlySet<string> = new Set(['MODEL_MISSING', 'MODEL_CORRUPT', 'MODEL_BUILD_FAILED', 'DISPOSED']);

/** Code for a failure that is facekit's bug rather than the input's fault. */
export const INTERNAL_ERROR: FaceKitErrorCode = 'INTERNAL';

/** FaceKitError messages start with the file they concern; the CLI prints the file itself. */
export function withoutFile(message: string, file: string | undefined): string {
  return file !== undefined && message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;
}

export function inputError(file: string, cause: unknown): InputError {
  if (cause instanceof FaceKitError)
    return { file, code: cause.code, message: withoutFile(cause.message, cause.file ?? file) };
  return { file, code: INTERNAL_ERROR, message: cause instanceof Error ? cause.message : String(cause) };
}

export function isFatal(error: unknown): boolean {
  return error instanceof FaceKitError && FATAL_CODES.has(error.code);
}

/** The kit a batch run uses: a miss is retried with other settings, since a false "no face" costs more than the retry. */
export function batchKit(settings: AnalyzerSettings, threads: number): FaceKit {
  return new FaceKit<'landmarks68'>({
    detector: settings.detector,
    minConfidence: settings.minConfidence,
    retryOnMiss: settings.retryOnMiss ?? true,
    threads,
    precision: settings.precision,
    upsample: settings.upsample,
    embedder: settings.embedder,
  } as FaceKitOptions & { readonly alignment?: 'landmarks68' });
}

/** The networks a run at `settings` opens, so they can be built (once per machine) before it starts. */
export function requiredModels(settings: Pick<AnalyzerSettings, 'detector' | 'stage' | 'precision'>): ModelId[] {
  // retryOnMiss falls back to the other detectors, so every detector the chain tries is needed.
  const precision = settings.precision ?? 'fp32';
  const detectors = new Set(detectionAttempts(settings.detector, {}).map(([name]) => name));
  const ids: ModelId[] = [...detectors].flatMap((name) => DETECTORS[name].models(precision));
  if (settings.stage !== 'detect') ids.push('face_landmark_68');
  if (settings.stage === 'analyze') ids.push(modelFor('dlib_resnet128', settings.precision));
  return ids;
}

const plainPoint = (p: Point): Point => ({ x: p.x, y: p.y });
const plainBox = (b: Box): Box => ({ x: b.x, y: b.y, width: b.width, height: b.height });
const plainFive = (d: { readonly landmarks5?: readonly Point[] }) =>
  d.landmarks5 ? { landmarks5: d.landmarks5.map(plainPoint) } : {};

async function decode(input: BatchInput): Promise<Image> {
  if (typeof input === 'string') return loadImage(input);
  return 'image' in input ? input.image : loadImage(input.bytes);
}

/** Loads one input and runs it to `stage`; input problems come back as a failed result, fatal ones throw. */
export async function analyzeFile(kit: FaceKit, input: BatchInput, stage: Stage): Promise<FileResult> {
  const start = performance.now();
  const file = inputName(input);
  try {
    const image = await decode(input);
    let faces: FaceData[];
    if (stage === 'detect') {
      faces = (await kit.detect(image)).map((d) => ({ box: plainBox(d.box), score: d.score, ...plainFive(d) }));
    } else if (stage === 'landmarks') {
      faces = (await kit.landmarks(image)).map((f) => ({
        box: plainBox(f.box),
        score: f.score,
        landmarks: f.landmarks.map(plainPoint),
        ...plainFive(f),
      }));
    } else {
      faces = (await kit.analyze(image)).map((f) => ({
        box: plainBox(f.box),
        score: f.score,
        landmarks: f.landmarks.map(plainPoint),
        ...plainFive(f),
        descriptor: Float32Array.from(f.descriptor),
        modelId: f.modelId,
      }));
    }
    return { ok: true, file, width: image.width, height: image.height, faces, ms: performance.now() - start };
  } catch (cause) {
    if (isFatal(cause)) throw cause;
    return { ok: false, file, error: inputError(file, cause) };
  }
}

/**
 * `--cpus`: absent = one process whose onnxruntime sessions use every core (fastest for a few
 * photos); 1 = one process, one thread; N = N workers of one thread each; -1 = one per core.
 */
export type CpuChoice = number | undefined;

export function resolveCpus(cpus: CpuChoice, fileCount: number): { workers: number; threads: number } {
  if (cpus === undefined) return { workers: 0, threads: 0 };
  const wanted = cpus === -1 ? availableParallelism() : cpus;
  const workers = Math.min(wanted, Math.max(fileCount, 1));
  return workers <= 1 ? { workers: 0, threads: 1 } : { workers, threads: 1 };
}

/** Opens an in-process analyzer or a worker pool, as `cpus` asks. */
export function openAnalyzer(settings: AnalyzerSettings, cpus: CpuChoice, fileCount: number): Analyzer {
  const { workers, threads } = resolveCpus(cpus, fileCount);
  // libvips (one pool for the whole process, workers included) decodes on every core unless told;
  // with one thread per worker, or --cpus 1, a decode would otherwise compete with every worker.
  if (threads === 1) sharpLib().concurrency(1);
  return workers === 0
    ? new LocalAnalyzer(batchKit(settings, threads), settings.stage)
    : new WorkerPool(workers, settings);
}

/**
 * A whole analysis pass: builds the models `settings` needs (once per machine), then runs
 * `inputs` through an analyzer of `cpus`, closed whatever happens.
 */
export async function analyzeFiles(
  settings: AnalyzerSettings,
  cpus: CpuChoice,
  inputs: readonly BatchInput[],
  onResult: ResultSink,
  events: BatchEvents = {},
): Promise<void> {
  const ignore = (): void => {};
  await ensureModels(requiredModels(settings), events.onNote ?? ignore, events.onWarning ?? ignore);
  const analyzer = openAnalyzer(settings, cpus, inputs.length);
  try {
    await analyzer.run(inputs, onResult);
  } finally {
    await analyzer.close();
  }
}

const area = (b: Box): number => b.width * b.height;

/** The face a photo of one person is taken for when it shows several. */
export function largestFace(faces: readonly FaceData[]): FaceData {
  return faces.reduce((a, b) => (area(b.box) > area(a.box) ? b : a));
}

class LocalAnalyzer implements Analyzer {
  constructor(
    private readonly kit: FaceKit,
    private readonly stage: Stage,
  ) {}

  async run(inputs: readonly BatchInput[], onResult: ResultSink): Promise<void> {
    for (let i = 0; i < inputs.length; i++) onResult(await analyzeFile(this.kit, inputs[i], this.stage), i);
  }

  close(): Promise<void> {
    return this.kit.dispose();
  }
}

/** Messages between the pool and its workers; everything is structured-clone plain data. */
export type ToWorker =
  | { readonly type: 'file'; readonly index: number; readonly input: BatchInput }
  | { readonly type: 'close' };
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly index: number; readonly result: FileResult }
  | { readonly type: 'fatal'; readonly error: { readonly code: string; readonly message: string } };

export interface WorkerSettings extends AnalyzerSettings {
  readonly threads: number;
}

/** Built code runs dist/pipeline/worker.js; under tsx the sources run as .ts. */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
}

interface Slot {
  worker: Worker;
  /** Set once the worker has started; a worker that dies before that would die again. */
  ready: boolean;
  exited: boolean;
  /** File index in flight, or undefined while idle. */
  busy?: number;
}

/**
 * A pull queue over worker threads: each worker owns one single-threaded FaceKit and gets the
 * next file as soon as it answers the last, so a slow photo never holds up the others.
 */
class WorkerPool implements Analyzer {
  private readonly slots: Slot[] = [];
  private job?: {
    inputs: readonly BatchInput[];
    next: number;
    done: number;
    /** Results that finished ahead of an earlier file, held until their turn. */
    held: Map<number, FileResult>;
    emitted: number;
    onResult: ResultSink;
    resolve: () => void;
    reject: (e: unknown) => void;
  };
  private failure?: unknown;
  /** Set by close(): from then on a worker's exit is expected, not a crash. */
  private closing = false;

  constructor(
    size: number,
    private readonly settings: AnalyzerSettings,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const workerData: WorkerSettings = { ...this.settings, threads: 1 };
    const slot: Slot = { worker: new Worker(workerUrl(), { workerData }), ready: false, exited: false };
    slot.worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
    slot.worker.on('error', (e) => this.onCrash(slot, e));
    slot.worker.on('exit', (code) => {
      slot.exited = true;
      if (!this.closing) this.onCrash(slot, new Error(`worker exited with code ${code}`));
    });
    return slot;
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    const job = this.job;
    slot.ready = true;
    if (m.type === 'ready') return;
    if (m.type === 'fatal') {
      this.fail(new FaceKitError(m.error.code as FaceKitError['code'], m.error.message));
      return;
    }
    slot.busy = undefined;
    if (!job) return;
    this.deliver(m.index, m.result);
    this.feed(slot);
  }

  /** A crashed worker fails only the file it held; a fresh worker takes its place. */
  private onCrash(slot: Slot, cause: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0 || this.closing) return;
    if (!slot.ready) {
      this.fail(new Error(`cannot start a worker: ${cause.message}`, { cause }));
      return;
    }
    const index = slot.busy;
    slot.busy = undefined;
    void slot.worker.terminate();
    const job = this.job;
    if (index !== undefined && job) {
      const file = inputName(job.inputs[index]);
      this.deliver(index, {
        ok: false,
        file,
        error: { file, code: INTERNAL_ERROR, message: `worker stopped: ${cause.message}` },
      });
    }
    this.slots[i] = this.spawn();
    if (job) this.feed(this.slots[i]);
  }

  private deliver(index: number, result: FileResult): void {
    const job = this.job;
    if (!job) return;
    job.held.set(index, result);
    job.done++;
    while (job.held.has(job.emitted)) {
      const r = job.held.get(job.emitted) as FileResult;
      job.held.delete(job.emitted);
      try {
        job.onResult(r, job.emitted);
      } catch (e) {
        this.fail(e);
        return;
      }
      job.emitted++;
    }
    if (job.done === job.inputs.length) {
      this.job = undefined;
      job.resolve();
    }
  }

  private feed(slot: Slot): void {
    const job = this.job;
    if (!job || slot.busy !== undefined || job.next >= job.inputs.length) return;
    const index = job.next++;
    slot.busy = index;
    const message: ToWorker = { type: 'file', index, input: job.inputs[index] };
    slot.worker.postMessage(message);
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    const job = this.job;
    this.job = undefined;
    job?.reject(error);
  }

  run(inputs: readonly BatchInput[], onResult: ResultSink): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.job) return Promise.reject(new Error('analyzer is already running'));
    if (inputs.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.job = { inputs, next: 0, done: 0, held: new Map(), emitted: 0, onResult, resolve, reject };
      for (const slot of this.slots) this.feed(slot);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const exits = this.slots
      .filter((slot) => !slot.exited)
      .map(
        (slot) =>
          new Promise<void>((resolve) => {
            slot.worker.once('exit', () => resolve());
            const message: ToWorker = { type: 'close' };
            slot.worker.postMessage(message);
          }),
      );
    // A worker stuck in native code must not keep the process alive after the answer is printed.
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, WORKER_CLOSE_GRACE_MS).unref());
    await Promise.race([Promise.all(exits), timeout]);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

/** Time a worker gets to release its sessions before it is terminated. */
const WORKER_CLOSE_GRACE_MS = 2000;
