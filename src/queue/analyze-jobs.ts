/**
 * Analysis of a large photo set as jobs on the Redis queue: each job runs a slice of photos
 * through the pipeline (decode → detect → landmarks → align → embed) on whichever `facekit
 * worker` takes it, and returns the faces with their descriptors. What needs every face at once
 * (clustering a photo archive) then runs where it was submitted, on the collected results.
 *
 * Resumable: a job's id names its photos by path and content hash and the analysis settings, and
 * finished jobs keep their results for RESULT_DAYS; submitting the same folder again (after the
 * submitter was stopped, or to cluster at another threshold) queues only what is not done.
 */
import { Queue } from 'bullmq';
import { FaceKitError, invalidArgument } from '../errors.js';
import type { AnalyzerSettings, FaceData, FileResult, InputError } from '../pipeline/batch.js';
import { ANALYZE_QUEUE, redisConnection } from './connection.js';
import { DEFAULT_JOB_PHOTOS, JOB_ATTEMPTS, JOB_BACKOFF_MS } from './enroll-jobs.js';
import { contentJobId, type FinishedMemo, finishedJobs, waitUntilFinished } from './jobs.js';

/** How long a finished analysis job keeps its result for a re-run to reuse. */
export const RESULT_DAYS = 7;

/** A photo to analyse: its path (as every worker sees it) and its content hash. */
export interface PhotoRef {
  readonly file: string;
  readonly hash: string;
}

export interface AnalyzeJobData {
  readonly photos: readonly PhotoRef[];
  readonly settings: AnalyzerSettings;
}

/** A face as the queue carries it: the descriptor as base64 of its float32 bytes (JSON has no typed arrays). */
export interface QueuedFace {
  readonly box: FaceData['box'];
  readonly score: number;
  readonly descriptor: string;
  readonly modelId?: string;
}

export type AnalyzedPhoto =
  | {
      readonly file: string;
      readonly ok: true;
      readonly width: number;
      readonly height: number;
      readonly faces: QueuedFace[];
    }
  | { readonly file: string; readonly ok: false; readonly error: InputError };

export interface AnalyzeJobResult {
  readonly photos: AnalyzedPhoto[];
}

export interface AnalyzeSubmission {
  readonly photos: readonly PhotoRef[];
  readonly settings: AnalyzerSettings;
  readonly jobPhotos?: number;
}

export interface AnalyzeSubmitted {
  readonly jobIds: string[];
  readonly photos: number;
}

export interface AnalyzeProgress {
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  /** Photos analysed by the finished jobs. */
  readonly photos: number;
  readonly errors: { readonly jobId: string; readonly message: string }[];
}

export function encodeDescriptor(d: Float32Array): string {
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64');
}

export function decodeDescriptor(s: string): Float32Array {
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length % 4 !== 0) throw new FaceKitError('INVALID_ARGUMENT', 'a queued descriptor is not float32 bytes');
  // Copied: Buffer.from may hand back a slice of a shared pool at an offset Float32Array cannot view.
  return new Float32Array(new Uint8Array(bytes).buffer);
}

/** A worker's analysis result as the queue carries it. */
export function toAnalyzedPhoto(r: FileResult): AnalyzedPhoto {
  if (!r.ok) return { file: r.file, ok: false, error: r.error };
  return {
    file: r.file,
    ok: true,
    width: r.width,
    height: r.height,
    faces: r.faces.map((f) => ({
      box: f.box,
      score: f.score,
      descriptor: encodeDescriptor(f.descriptor as Float32Array),
      ...(f.modelId !== undefined ? { modelId: f.modelId } : {}),
    })),
  };
}

/** Splits the photos into analysis jobs and queues those not queued (or finished) yet. */
export async function submitAnalyzeJobs(queueUrl: string, options: AnalyzeSubmission): Promise<AnalyzeSubmitted> {
  const size = options.jobPhotos ?? DEFAULT_JOB_PHOTOS;
  if (!Number.isInteger(size) || size < 1)
    throw invalidArgument('jobPhotos', `must be a positive integer, got ${size}`);
  if (options.settings.stage !== 'analyze')
    throw invalidArgument('settings.stage', `analysis jobs run to 'analyze', got '${options.settings.stage}'`);
  const queue = new Queue<AnalyzeJobData, AnalyzeJobResult>(ANALYZE_QUEUE, { connection: redisConnection(queueUrl) });
  try {
    const jobs = [];
    for (let i = 0; i < options.photos.length; i += size) {
      const data: AnalyzeJobData = { photos: options.photos.slice(i, i + size), settings: options.settings };
      jobs.push({
        name: 'analyze',
        data,
        opts: {
          jobId: contentJobId('analyze', data),
          attempts: JOB_ATTEMPTS,
          backoff: { type: 'exponential', delay: JOB_BACKOFF_MS },
          removeOnComplete: { age: RESULT_DAYS * 86_400 },
          removeOnFail: { age: RESULT_DAYS * 86_400 },
        },
      });
    }
    await queue.addBulk(jobs);
    return { jobIds: jobs.map((j) => j.opts.jobId), photos: options.photos.length };
  } finally {
    await queue.close();
  }
}

export async function analyzeProgress(
  queueUrl: string,
  jobIds: readonly string[],
  memo: FinishedMemo<AnalyzeJobData, AnalyzeJobResult> = new Map(),
): Promise<AnalyzeProgress> {
  const finished = await finishedJobs<AnalyzeJobData, AnalyzeJobResult>(ANALYZE_QUEUE, queueUrl, jobIds, memo);
  let photos = 0;
  const errors: AnalyzeProgress['errors'] = [];
  for (const job of finished) {
    if (job.state === 'completed') photos += job.result.photos.length;
    else errors.push({ jobId: job.id, message: job.failedReason });
  }
  return { total: jobIds.length, done: finished.length - errors.length, failed: errors.length, photos, errors };
}

export function waitForAnalysis(
  queueUrl: string,
  jobIds: readonly string[],
  onProgress: (p: AnalyzeProgress) => void = () => undefined,
): Promise<AnalyzeProgress> {
  return waitUntilFinished(
    ANALYZE_QUEUE,
    queueUrl,
    (memo: FinishedMemo<AnalyzeJobData, AnalyzeJobResult>) => analyzeProgress(queueUrl, jobIds, memo),
    onProgress,
  );
}

/**
 * Every photo's analysis, in submission order, as the batch runner gives it (descriptors as
 * Float32Array). A job not completed (failed, or still running) makes its photos failed results
 * naming the job, so the caller reports them instead of losing them silently.
 */
export async function analysisResults(queueUrl: string, jobIds: readonly string[]): Promise<FileResult[]> {
  const finished = new Map(
    (await finishedJobs<AnalyzeJobData, AnalyzeJobResult>(ANALYZE_QUEUE, queueUrl, jobIds)).map((j) => [j.id, j]),
  );
  const queue = new Queue<AnalyzeJobData, AnalyzeJobResult>(ANALYZE_QUEUE, { connection: redisConnection(queueUrl) });
  try {
    const out: FileResult[] = [];
    for (const id of jobIds) {
      const job = finished.get(id);
      if (job?.state === 'completed') {
        for (const p of job.result.photos)
          out.push(
            p.ok
              ? {
                  ok: true,
                  file: p.file,
                  width: p.width,
                  height: p.height,
                  ms: 0,
                  faces: p.faces.map((f) => ({
                    box: f.box,
                    score: f.score,
                    descriptor: decodeDescriptor(f.descriptor),
                    ...(f.modelId !== undefined ? { modelId: f.modelId } : {}),
                  })),
                }
              : { ok: false, file: p.file, error: p.error },
          );
        continue;
      }
      const photos = job?.data.photos ?? (await queue.getJob(id))?.data.photos;
      if (photos === undefined)
        throw new FaceKitError(
          'INVALID_ARGUMENT',
          `job ${id} is not on the queue (removed, or another Redis database)`,
          {
            field: 'jobIds',
          },
        );
      const why =
        job?.state === 'failed' ? `its job ${id} failed: ${job.failedReason}` : `its job ${id} has not finished`;
      for (const p of photos)
        out.push({ ok: false, file: p.file, error: { file: p.file, code: 'INTERNAL', message: why } });
    }
    return out;
  } finally {
    await queue.close();
  }
}
