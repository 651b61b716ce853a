/**
 * `facekit worker`: takes enrolment jobs from the Redis queue and writes their faces to one
 * gallery (PostgreSQL, shared by every worker). Each job runs the same flow as `facekit enroll`:
 * photos hashed, those already stored skipped, the rest analysed by the pipeline and the person
 * committed in one transaction (pipeline/enroll.ts).
 */
import { UnrecoverableError, Worker } from 'bullmq';
import { invalidArgument } from '../errors.js';
import type { Gallery } from '../gallery/gallery.js';
import { type Analyzer, type AnalyzerSettings, openAnalyzer, requiredModels } from '../pipeline/batch.js';
import { ensureModels } from '../models/ensure.js';
import { Enrolment, hashFiles } from '../pipeline/enroll.js';
import type { InputError } from '../pipeline/batch.js';
import { type AnalyzeJobData, type AnalyzeJobResult, type AnalyzedPhoto, toAnalyzedPhoto } from './analyze-jobs.js';
import { ANALYZE_QUEUE, ENROLL_QUEUE, INDEX_QUEUE, redisConnection } from './connection.js';
import type { IndexJobData, IndexJobResult } from './index-jobs.js';
import { indexPhotoFiles } from '../pipeline/index-photos.js';
import type { EnrollJobData, EnrollJobResult } from './enroll-jobs.js';
import { rethrowForRetry } from './jobs.js';

export interface QueueWorkerOptions {
  readonly queueUrl: string;
  /** Jobs this process runs at once (default 1: a job's analysis uses the process's cores already). */
  readonly concurrency?: number;
  /**
   * How long a job stays locked to a worker without its heartbeat; a killed worker's job is
   * taken by another after this long (BullMQ's default: 30 s).
   */
  readonly lockMs?: number;
  readonly onNote?: (message: string) => void;
}

export interface WorkerOptions extends QueueWorkerOptions {
  readonly gallery: Gallery;
}

/**
 * Open analyzers by settings, kept for the worker's life: a job of 20 photos would otherwise pay
 * for loading the networks (about a second) every time.
 */
export class AnalyzerCache {
  private readonly open = new Map<string, Promise<Analyzer>>();

  get(settings: AnalyzerSettings): Promise<Analyzer> {
    const key = JSON.stringify(settings);
    let a = this.open.get(key);
    if (a === undefined) {
      const ignore = (): void => {};
      a = ensureModels(requiredModels(settings), ignore, ignore).then(() => openAnalyzer(settings, undefined, 1));
      // A failed build is not kept: the next job tries again.
      a.catch(() => this.open.delete(key));
      this.open.set(key, a);
    }
    return a;
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((a) => a.then((x) => x.close()).catch(() => undefined)));
  }
}

/** Runs one job: what the CLI's enrol does, for one person's slice of photos. */
export async function runEnrollJob(
  analyzers: AnalyzerCache,
  gallery: Gallery,
  data: EnrollJobData,
  onProgress: (done: number) => void = () => undefined,
): Promise<EnrollJobResult> {
  const rejected: InputError[] = [];
  const people = [{ name: data.person, files: [...data.files] }];
  const hashes = await hashFiles(data.files, (e) => rejected.push(e));
  const run = new Enrolment(gallery, { largest: data.largest, meta: data.meta }, people, hashes, {
    onFailure: (e) => rejected.push(e),
  });
  const known = new Set((await gallery.facesWithHashes([...hashes.values()])).map((f) => f.contentHash));
  let duplicates = 0;
  const todo: string[] = [];
  for (const f of data.files) {
    const h = hashes.get(f);
    if (h === undefined) continue;
    if (known.has(h)) duplicates++;
    else {
      todo.push(f);
      run.queue(data.person, f);
    }
  }
  let analysis: { error: unknown } | null = null;
  if (todo.length > 0) {
    try {
      let done = 0;
      await (await analyzers.get(data.settings)).run(todo, (r) => {
        run.take(r, data.person);
        onProgress(++done);
      });
    } catch (error) {
      analysis = { error };
    }
  }
  const fatal = await run.settle(analysis);
  if (fatal) throw fatal.error;
  const report = run.reports.get(data.person);
  return {
    added: report?.added.length ?? 0,
    duplicates: duplicates + (report?.duplicates.length ?? 0),
    rejected: [...rejected, ...run.rejected].map((e) => ({ file: e.file, code: e.code, message: e.message })),
  };
}

/** Runs one analysis job: its photos through the pipeline, faces back as the queue carries them. */
export async function runAnalyzeJob(
  analyzers: AnalyzerCache,
  data: AnalyzeJobData,
  onProgress: (done: number) => void = () => undefined,
): Promise<AnalyzeJobResult> {
  const photos: AnalyzedPhoto[] = [];
  const analyzer = await analyzers.get(data.settings);
  await analyzer.run(
    data.photos.map((p) => p.file),
    (r) => {
      photos.push(toAnalyzedPhoto(r));
      onProgress(photos.length);
    },
  );
  return { photos };
}

function checkConcurrency(options: QueueWorkerOptions): number {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw invalidArgument('concurrency', `must be a positive integer, got ${concurrency}`);
  return concurrency;
}

/** A failed attempt said once, and whether it will be tried again; the networks closed with the worker. */
function watchOver(worker: Worker, analyzers: AnalyzerCache, options: QueueWorkerOptions): void {
  worker.on('closed', () => void analyzers.close());
  worker.on('failed', (job, err) =>
    options.onNote?.(
      `job ${job?.id} failed: ${err.message}${job && job.attemptsMade < (job.opts.attempts ?? 1) ? '; it will be retried' : ''}`,
    ),
  );
  worker.on('error', (err) => options.onNote?.(`queue: ${err.message}`));
}

/**
 * Starts taking analysis jobs (no gallery needed: results go back on the queue); resolves once
 * connected. A photo that changed since it was submitted (other bytes) is analysed as it is now.
 */
export async function startAnalyzeWorker(
  options: QueueWorkerOptions,
): Promise<Worker<AnalyzeJobData, AnalyzeJobResult>> {
  const analyzers = new AnalyzerCache();
  const worker = new Worker<AnalyzeJobData, AnalyzeJobResult>(
    ANALYZE_QUEUE,
    (job) =>
      runAnalyzeJob(analyzers, job.data, (done) => {
        void job.updateProgress({ photos: job.data.photos.length, done });
      }).catch((e) => rethrowForRetry(e)),
    {
      connection: redisConnection(options.queueUrl),
      concurrency: checkConcurrency(options),
      lockDuration: options.lockMs ?? 30_000,
      stalledInterval: options.lockMs ?? 30_000,
    },
  );
  watchOver(worker, analyzers, options);
  await worker.waitUntilReady();
  return worker;
}

/** Runs one index job: what `facekit index` does, for one slice of photos. */
export async function runIndexJob(
  analyzers: AnalyzerCache,
  gallery: Gallery,
  data: IndexJobData,
  onProgress: (done: number) => void = () => undefined,
): Promise<IndexJobResult> {
  let done = 0;
  const s = await indexPhotoFiles(
    gallery,
    data.files,
    async (files, onResult) => (await analyzers.get(data.settings)).run(files, onResult),
    { onResult: () => onProgress(++done) },
  );
  return {
    photosIndexed: s.photosIndexed,
    facesStored: s.facesStored,
    alreadyIndexed: s.alreadyIndexed,
    withoutFaces: s.withoutFaces,
    failed: s.failed.map((e) => ({ file: e.file, code: e.code, message: e.message })),
  };
}

/** A job for another gallery than the worker's: retrying here cannot help. */
function checkJobGallery(jobGallery: string, gallery: Gallery): void {
  if (jobGallery !== gallery.file)
    throw new UnrecoverableError(
      `job for gallery ${jobGallery}; this worker writes ${gallery.file} (start a worker with that --db)`,
    );
}

/** What a gallery job's data holds: the gallery it is for and its photos. */
interface GalleryJobData {
  readonly gallery: string;
  readonly files: readonly string[];
}

/**
 * A worker for jobs that write one gallery (enrolment, photo index): a job for another gallery
 * fails at once, progress is reported per photo, and only a problem with the job itself is not
 * retried (a busy or unreachable gallery may be fine on the next try).
 */
async function startGalleryJobWorker<D extends GalleryJobData, R>(
  queueName: string,
  options: WorkerOptions,
  run: (analyzers: AnalyzerCache, gallery: Gallery, data: D, onProgress: (done: number) => void) => Promise<R>,
): Promise<Worker<D, R>> {
  const gallery = options.gallery;
  const analyzers = new AnalyzerCache();
  const worker = new Worker<D, R>(
    queueName,
    async (job) => {
      checkJobGallery(job.data.gallery, gallery);
      try {
        return await run(analyzers, gallery, job.data, (done) => {
          void job.updateProgress({ photos: job.data.files.length, done });
        });
      } catch (e) {
        rethrowForRetry(e, ['INVALID_ARGUMENT', 'MODEL_MISMATCH']);
      }
    },
    {
      connection: redisConnection(options.queueUrl),
      concurrency: checkConcurrency(options),
      lockDuration: options.lockMs ?? 30_000,
      stalledInterval: options.lockMs ?? 30_000,
    },
  );
  watchOver(worker, analyzers, options);
  await worker.waitUntilReady();
  return worker;
}

/** Starts taking photo-index jobs (`facekit index --queue`); resolves once connected (close() to stop). */
export function startIndexWorker(options: WorkerOptions): Promise<Worker<IndexJobData, IndexJobResult>> {
  return startGalleryJobWorker(INDEX_QUEUE, options, runIndexJob);
}

/** Starts taking enrolment jobs; resolves with the BullMQ worker once it is connected (close() to stop). */
export function startEnrollWorker(options: WorkerOptions): Promise<Worker<EnrollJobData, EnrollJobResult>> {
  return startGalleryJobWorker(ENROLL_QUEUE, options, runEnrollJob);
}
