/**
 * Enrolment of a large photo set as jobs on a Redis queue (BullMQ), taken by any number of
 * `facekit worker` processes on any hosts that see the same paths and the same gallery.
 *
 * - A job is a slice of one person's photos: a person's slice commits in one transaction.
 * - Idempotent: a job's id is a hash of its gallery, person and files, so submitting the same
 *   folder again adds no job that exists; and the gallery skips a photo whose content hash it
 *   holds (a retried or re-run job enrols nothing twice).
 * - A failed job (the gallery unreachable) is retried with exponential backoff; a worker killed
 *   mid-job leaves its job locked until the lock expires, then another worker takes it.
 */
import { Queue } from 'bullmq';
import { invalidArgument } from '../errors.js';
import type { Metadata } from '../gallery/store.js';
import type { AnalyzerSettings } from '../pipeline/batch.js';
import type { PlannedPerson } from '../pipeline/enroll.js';
import { ENROLL_QUEUE, redisConnection } from './connection.js';
import { contentJobId, type FinishedMemo, finishedJobs, waitUntilFinished } from './jobs.js';

/** Photos per job by default: big enough that queue overhead is small, small enough to spread over workers. */
export const DEFAULT_JOB_PHOTOS = 20;
/** Attempts of a job before it is marked failed, and the first retry's delay (doubling). */
export const JOB_ATTEMPTS = 5;
export const JOB_BACKOFF_MS = 1_000;

export interface EnrollJobData {
  /** The gallery this job is for, as the store names it (no password): a worker on another gallery refuses it. */
  readonly gallery: string;
  readonly person: string;
  readonly files: readonly string[];
  readonly settings: AnalyzerSettings;
  readonly largest: boolean;
  readonly meta?: Metadata;
}

export interface EnrollJobResult {
  readonly added: number;
  readonly duplicates: number;
  /** Photos read but unusable (no face, several faces) and photos that could not be read. */
  readonly rejected: { readonly file: string; readonly code: string; readonly message: string }[];
}

export interface SubmitOptions {
  /** The gallery's location as its store names it (see GalleryStore.location). */
  readonly gallery: string;
  readonly people: readonly PlannedPerson[];
  readonly settings: AnalyzerSettings;
  readonly largest: boolean;
  readonly meta?: Metadata;
  readonly jobPhotos?: number;
}

export interface Submitted {
  /** Ids of this submission's jobs (new or already queued by an earlier submission). */
  readonly jobIds: string[];
  readonly photos: number;
}

/** Splits people's photos into jobs and queues those not queued yet. */
export async function submitEnrollJobs(queueUrl: string, options: SubmitOptions): Promise<Submitted> {
  const size = options.jobPhotos ?? DEFAULT_JOB_PHOTOS;
  if (!Number.isInteger(size) || size < 1)
    throw invalidArgument('jobPhotos', `must be a positive integer, got ${size}`);
  const queue = new Queue<EnrollJobData, EnrollJobResult>(ENROLL_QUEUE, { connection: redisConnection(queueUrl) });
  try {
    const jobs = options.people.flatMap((p) => {
      const out = [];
      for (let i = 0; i < p.files.length; i += size) {
        const files = p.files.slice(i, i + size);
        const data: EnrollJobData = {
          gallery: options.gallery,
          person: p.name,
          files,
          settings: options.settings,
          largest: options.largest,
          ...(options.meta ? { meta: options.meta } : {}),
        };
        out.push({
          name: 'enroll',
          data,
          opts: {
            jobId: contentJobId('enroll', [options.gallery, p.name, files]),
            attempts: JOB_ATTEMPTS,
            backoff: { type: 'exponential', delay: JOB_BACKOFF_MS },
            removeOnComplete: false,
            removeOnFail: false,
          },
        });
      }
      return out;
    });
    await queue.addBulk(jobs);
    return { jobIds: jobs.map((j) => j.opts.jobId), photos: jobs.reduce((n, j) => n + j.data.files.length, 0) };
  } finally {
    await queue.close();
  }
}

export interface JobProgress {
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  /** Photos enrolled and found already stored, over the finished jobs. */
  readonly added: number;
  readonly duplicates: number;
  readonly rejected: EnrollJobResult['rejected'];
  /** Failed jobs' last errors. */
  readonly errors: { readonly person: string; readonly message: string }[];
}

/** Where a submission's jobs stand. */
export async function enrollProgress(
  queueUrl: string,
  jobIds: readonly string[],
  memo: FinishedMemo<EnrollJobData, EnrollJobResult> = new Map(),
): Promise<JobProgress> {
  const finished = await finishedJobs<EnrollJobData, EnrollJobResult>(ENROLL_QUEUE, queueUrl, jobIds, memo);
  let added = 0;
  let duplicates = 0;
  const rejected: EnrollJobResult['rejected'] = [];
  const errors: JobProgress['errors'] = [];
  for (const job of finished) {
    if (job.state === 'completed') {
      added += job.result.added;
      duplicates += job.result.duplicates;
      rejected.push(...job.result.rejected);
    } else errors.push({ person: job.data.person, message: job.failedReason });
  }
  const done = finished.length - errors.length;
  return { total: jobIds.length, done, failed: errors.length, added, duplicates, rejected, errors };
}

/** Waits until every job of a submission is completed or failed, reporting progress as jobs finish. */
export function waitForJobs(
  queueUrl: string,
  jobIds: readonly string[],
  onProgress: (p: JobProgress) => void = () => undefined,
): Promise<JobProgress> {
  return waitUntilFinished(
    ENROLL_QUEUE,
    queueUrl,
    (memo: FinishedMemo<EnrollJobData, EnrollJobResult>) => enrollProgress(queueUrl, jobIds, memo),
    onProgress,
  );
}
