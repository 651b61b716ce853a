/**
 * `facekit worker`: takes enrolment jobs from the Redis queue and writes their faces to one
 * gallery (PostgreSQL, shared by every worker). Each job runs the same flow as `facekit enroll`:
 * photos hashed, those already stored skipped, the rest analysed by the pipeline and the person
 * committed in one transaction (pipeline/enroll.ts).
 */
import { UnrecoverableError, Worker } from 'bullmq';
import { FaceKitError, invalidArgument } from '../errors.js';
import type { Gallery } from '../gallery/gallery.js';
import { analyzeFiles } from '../pipeline/batch.js';
import { Enrolment, hashFiles } from '../pipeline/enroll.js';
import type { InputError } from '../pipeline/batch.js';
import { ENROLL_QUEUE, redisConnection } from './connection.js';
import type { EnrollJobData, EnrollJobResult } from './enroll-jobs.js';

export interface WorkerOptions {
  readonly queueUrl: string;
  readonly gallery: Gallery;
  /** Jobs this process runs at once (default 1: a job's analysis uses the process's cores already). */
  readonly concurrency?: number;
  /**
   * How long a job stays locked to a worker without its heartbeat; a killed worker's job is
   * taken by another after this long (BullMQ's default: 30 s).
   */
  readonly lockMs?: number;
  readonly onNote?: (message: string) => void;
}

/** Runs one job: what the CLI's enrol does, for one person's slice of photos. */
export async function runEnrollJob(
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
      await analyzeFiles(data.settings, undefined, todo, (r) => {
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

/** Starts taking jobs; resolves with the BullMQ worker once it is connected (close() to stop). */
export async function startEnrollWorker(options: WorkerOptions): Promise<Worker<EnrollJobData, EnrollJobResult>> {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw invalidArgument('concurrency', `must be a positive integer, got ${concurrency}`);
  const gallery = options.gallery;
  const worker = new Worker<EnrollJobData, EnrollJobResult>(
    ENROLL_QUEUE,
    async (job) => {
      if (job.data.gallery !== gallery.file)
        // Another gallery's job: retrying here cannot help.
        throw new UnrecoverableError(
          `job for gallery ${job.data.gallery}; this worker writes ${gallery.file} (start a worker with that --db)`,
        );
      try {
        return await runEnrollJob(gallery, job.data, (done) => {
          void job.updateProgress({ photos: job.data.files.length, done });
        });
      } catch (e) {
        // A problem with the job itself will not go away on retry; a busy or unreachable gallery may.
        if (e instanceof FaceKitError && ['INVALID_ARGUMENT', 'MODEL_MISMATCH'].includes(e.code))
          throw new UnrecoverableError(e.message);
        throw e;
      }
    },
    {
      connection: redisConnection(options.queueUrl),
      concurrency,
      lockDuration: options.lockMs ?? 30_000,
      stalledInterval: options.lockMs ?? 30_000,
      autorun: true,
    },
  );
  worker.on('failed', (job, err) =>
    options.onNote?.(
      `job ${job?.id} (${job?.data.person}) failed: ${err.message}${job && job.attemptsMade < (job.opts.attempts ?? 1) ? '; it will be retried' : ''}`,
    ),
  );
  worker.on('error', (err) => options.onNote?.(`queue: ${err.message}`));
  await worker.waitUntilReady();
  return worker;
}
