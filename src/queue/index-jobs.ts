/**
 * Indexing a photo archive as jobs on the Redis queue (`facekit index --queue`): each job is a
 * slice of photos that a `facekit worker` runs through the same flow as the local command
 * (pipeline/index-photos.ts), committing to the shared gallery's photo index.
 *
 * - Idempotent: a job's id names its gallery, photos and settings, so submitting the same folder
 *   again queues nothing that exists; and the index keeps one entry per content hash and model
 *   (a unique key), so a retried job, or two workers on one photo, store it once.
 * - Resumable: photos commit in small batches; a worker killed mid-job leaves its job locked until
 *   the lock expires, then another worker takes it and skips what was committed.
 * - A failed attempt (the gallery unreachable) is retried with exponential backoff.
 */
import { Queue } from 'bullmq';
import { invalidArgument } from '../errors.js';
import type { AnalyzerSettings, InputError } from '../pipeline/batch.js';
import { INDEX_QUEUE, redisConnection } from './connection.js';
import { DEFAULT_JOB_PHOTOS, JOB_ATTEMPTS, JOB_BACKOFF_MS } from './enroll-jobs.js';
import { contentJobId, type FinishedMemo, finishedJobs, waitUntilFinished } from './jobs.js';

export interface IndexJobData {
  /** The gallery as its store names it: a worker on another gallery refuses the job. */
  readonly gallery: string;
  readonly files: readonly string[];
  readonly settings: AnalyzerSettings;
}

export interface IndexJobResult {
  readonly photosIndexed: number;
  readonly facesStored: number;
  readonly alreadyIndexed: number;
  readonly withoutFaces: string[];
  readonly failed: InputError[];
}

export interface IndexSubmission {
  readonly gallery: string;
  /** Absolute paths, as every worker sees them. */
  readonly files: readonly string[];
  readonly settings: AnalyzerSettings;
  readonly jobPhotos?: number;
}

/** Splits the photos into jobs and queues those not queued yet; returns every job's id and the photo count. */
export async function submitIndexJobs(
  queueUrl: string,
  s: IndexSubmission,
): Promise<{ readonly jobIds: string[]; readonly photos: number }> {
  const size = s.jobPhotos ?? DEFAULT_JOB_PHOTOS;
  if (!Number.isInteger(size) || size < 1)
    throw invalidArgument('jobPhotos', `must be a positive integer, got ${size}`);
  const queue = new Queue<IndexJobData, IndexJobResult>(INDEX_QUEUE, { connection: redisConnection(queueUrl) });
  try {
    const jobs = [];
    for (let i = 0; i < s.files.length; i += size) {
      const files = s.files.slice(i, i + size);
      jobs.push({
        name: 'index',
        data: { gallery: s.gallery, files, settings: s.settings },
        opts: {
          jobId: contentJobId('index', [s.gallery, files, s.settings]),
          attempts: JOB_ATTEMPTS,
          backoff: { type: 'exponential', delay: JOB_BACKOFF_MS },
          removeOnComplete: false,
          removeOnFail: false,
        },
      });
    }
    await queue.addBulk(jobs);
    return { jobIds: jobs.map((j) => j.opts.jobId), photos: s.files.length };
  } finally {
    await queue.close();
  }
}

export interface IndexProgress {
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  readonly photosIndexed: number;
  readonly facesStored: number;
  readonly alreadyIndexed: number;
  readonly withoutFaces: string[];
  /** Photos that could not be read, over the finished jobs. */
  readonly unreadable: InputError[];
  /** Failed jobs' last errors, with the photos they held. */
  readonly errors: { readonly files: readonly string[]; readonly message: string }[];
}

/** Where a submission's jobs stand. */
export async function indexProgress(
  queueUrl: string,
  jobIds: readonly string[],
  memo: FinishedMemo<IndexJobData, IndexJobResult> = new Map(),
): Promise<IndexProgress> {
  const finished = await finishedJobs<IndexJobData, IndexJobResult>(INDEX_QUEUE, queueUrl, jobIds, memo);
  const p = {
    photosIndexed: 0,
    facesStored: 0,
    alreadyIndexed: 0,
    withoutFaces: [] as string[],
    unreadable: [] as InputError[],
    errors: [] as IndexProgress['errors'][number][],
  };
  for (const job of finished) {
    if (job.state === 'failed') {
      p.errors.push({ files: job.data.files, message: job.failedReason });
      continue;
    }
    p.photosIndexed += job.result.photosIndexed;
    p.facesStored += job.result.facesStored;
    p.alreadyIndexed += job.result.alreadyIndexed;
    p.withoutFaces.push(...job.result.withoutFaces);
    p.unreadable.push(...job.result.failed);
  }
  return { total: jobIds.length, done: finished.length - p.errors.length, failed: p.errors.length, ...p };
}

/** Waits until every job of a submission is completed or failed, reporting progress as jobs finish. */
export function waitForIndexJobs(
  queueUrl: string,
  jobIds: readonly string[],
  onProgress: (p: IndexProgress) => void = () => undefined,
): Promise<IndexProgress> {
  return waitUntilFinished(
    INDEX_QUEUE,
    queueUrl,
    (memo: FinishedMemo<IndexJobData, IndexJobResult>) => indexProgress(queueUrl, jobIds, memo),
    onProgress,
  );
}
