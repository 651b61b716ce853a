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
import { createHash } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { invalidArgument } from '../errors.js';
import type { Metadata } from '../gallery/store.js';
import type { AnalyzerSettings } from '../pipeline/batch.js';
import type { PlannedPerson } from '../pipeline/enroll.js';
import { ENROLL_QUEUE, redisConnection } from './connection.js';

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

function jobId(gallery: string, person: string, files: readonly string[]): string {
  const h = createHash('sha256')
    .update(JSON.stringify([gallery, person, files]))
    .digest('hex');
  return `enroll-${h.slice(0, 32)}`;
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
            jobId: jobId(options.gallery, p.name, files),
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
export async function enrollProgress(queueUrl: string, jobIds: readonly string[]): Promise<JobProgress> {
  const queue = new Queue<EnrollJobData, EnrollJobResult>(ENROLL_QUEUE, { connection: redisConnection(queueUrl) });
  try {
    let done = 0;
    let failed = 0;
    let added = 0;
    let duplicates = 0;
    const rejected: EnrollJobResult['rejected'] = [];
    const errors: JobProgress['errors'] = [];
    for (const id of jobIds) {
      // State first, then the job: a job read before it completes and found 'completed' a moment
      // later has no return value yet (its photos would count as neither added nor duplicates).
      // A finished job's record holds its result, so reading it after seeing the state is safe.
      const state = await queue.getJobState(id);
      if (state !== 'completed' && state !== 'failed') continue;
      const job = await queue.getJob(id);
      if (!job) continue;
      if (state === 'completed') {
        done++;
        added += job.returnvalue?.added ?? 0;
        duplicates += job.returnvalue?.duplicates ?? 0;
        rejected.push(...(job.returnvalue?.rejected ?? []));
      } else if (state === 'failed') {
        failed++;
        errors.push({ person: job.data.person, message: job.failedReason });
      }
    }
    return { total: jobIds.length, done, failed, added, duplicates, rejected, errors };
  } finally {
    await queue.close();
  }
}

/** Waits until every job of a submission is completed or failed, reporting progress as jobs finish. */
export async function waitForJobs(
  queueUrl: string,
  jobIds: readonly string[],
  onProgress: (p: JobProgress) => void = () => undefined,
): Promise<JobProgress> {
  const events = new QueueEvents(ENROLL_QUEUE, { connection: redisConnection(queueUrl) });
  try {
    await events.waitUntilReady();
    for (;;) {
      const p = await enrollProgress(queueUrl, jobIds);
      onProgress(p);
      if (p.done + p.failed >= p.total) return p;
      // Woken by the next job to finish, or after a second at most (a missed event costs no more).
      await new Promise<void>((resolve) => {
        const t = setTimeout(finish, 1000);
        function finish() {
          clearTimeout(t);
          events.off('completed', finish);
          events.off('failed', finish);
          resolve();
        }
        events.on('completed', finish);
        events.on('failed', finish);
      });
    }
  } finally {
    await events.close();
  }
}
