/**
 * What every kind of facekit job on the queue shares: ids that name a job's content (so submitting
 * the same work again queues nothing and finds the finished results), reading where a set of jobs
 * stands, and waiting for them with progress.
 */
import { createHash } from 'node:crypto';
import { Queue, QueueEvents, UnrecoverableError } from 'bullmq';
import { FaceKitError, type FaceKitErrorCode } from '../errors.js';
import { redisConnection } from './connection.js';

/** A job id naming its content: the same work submitted again gets the same id, which BullMQ does not queue twice. */
export function contentJobId(kind: string, content: unknown): string {
  const h = createHash('sha256').update(JSON.stringify(content)).digest('hex');
  return `${kind}-${h.slice(0, 32)}`;
}

/** A job that has finished, with what it returned or why it failed. */
export type FinishedJob<D, R> =
  | { readonly id: string; readonly state: 'completed'; readonly data: D; readonly result: R }
  | { readonly id: string; readonly state: 'failed'; readonly data: D; readonly failedReason: string };

/** Ids read at once: ioredis pipelines concurrent commands, so a chunk costs about one round trip, not one per job. */
const READ_CHUNK = 500;

/**
 * Finished jobs already read, by id. A finished job never changes (a failed one has used all its
 * attempts), so a caller polling a large submission passes one memo across its reads and each
 * job's record is fetched once, not once per poll: 10 000 jobs polled every second would otherwise
 * cost 20 000 Redis calls a poll.
 */
export type FinishedMemo<D, R> = Map<string, FinishedJob<D, R>>;

/** The finished ones among `jobIds`, in their order (waiting, active, delayed and unknown ids are left out). */
export async function finishedJobs<D, R>(
  queueName: string,
  queueUrl: string,
  jobIds: readonly string[],
  memo: FinishedMemo<D, R> = new Map(),
): Promise<FinishedJob<D, R>[]> {
  const unread = jobIds.filter((id) => !memo.has(id));
  if (unread.length > 0) {
    const queue = new Queue<D, R>(queueName, { connection: redisConnection(queueUrl) });
    try {
      for (let i = 0; i < unread.length; i += READ_CHUNK) {
        const read = await Promise.all(unread.slice(i, i + READ_CHUNK).map((id) => readFinished(queue, id)));
        for (const job of read) if (job) memo.set(job.id, job);
      }
    } finally {
      await queue.close();
    }
  }
  return jobIds.flatMap((id) => memo.get(id) ?? []);
}

async function readFinished<D, R>(queue: Queue<D, R>, id: string): Promise<FinishedJob<D, R> | undefined> {
  // One read of the job's record (a hash: O(1)), not its state: BullMQ finds a waiting job's state
  // by searching the wait list, so asking it for every job of a 10 000-job submission on each poll
  // was quadratic and kept Redis busy. BullMQ writes `finishedOn` with the return value or the
  // final failure reason in one atomic step (a retried attempt leaves no `finishedOn`), so a record
  // with it is finished and complete; a job that completed has a return value (facekit's jobs
  // always return one), a finally failed one has none.
  const job = await queue.getJob(id);
  if (!job?.finishedOn) return undefined;
  return job.returnvalue !== null && job.returnvalue !== undefined
    ? { id, state: 'completed', data: job.data, result: job.returnvalue }
    : { id, state: 'failed', data: job.data, failedReason: job.failedReason };
}

const MIN_READ_GAP_MS = 250;
/** Reads are spaced by at least this many times the last read's duration, so a large submission's reads take a small share of Redis. */
const READ_GAP_FACTOR = 4;

export interface Finishing {
  readonly total: number;
  readonly done: number;
  readonly failed: number;
}

/**
 * Reads progress with `read` until every job is completed or failed, calling `onProgress` each
 * time; woken by the queue's events as jobs finish (or report progress), or after a second at
 * most, so a missed event costs no more than that. Reads are at least MIN_READ_GAP_MS apart (with
 * two workers finishing jobs every few milliseconds, each event would otherwise start a new read)
 * and READ_GAP_FACTOR times as long as the last read took (a read of many unfinished jobs is long).
 */
export async function waitUntilFinished<P extends Finishing, D, R>(
  queueName: string,
  queueUrl: string,
  read: (memo: FinishedMemo<D, R>) => Promise<P>,
  onProgress: (p: P) => void = () => undefined,
): Promise<P> {
  // One memo for the whole wait, passed to every read: each finished job is read once, not once per poll.
  const memo: FinishedMemo<D, R> = new Map();
  const events = new QueueEvents(queueName, { connection: redisConnection(queueUrl) });
  try {
    await events.waitUntilReady();
    for (;;) {
      const readAt = performance.now();
      const p = await read(memo);
      const gap = Math.max(MIN_READ_GAP_MS, READ_GAP_FACTOR * (performance.now() - readAt));
      onProgress(p);
      if (p.done + p.failed >= p.total) return p;
      await new Promise<void>((resolve) => {
        const t = setTimeout(finish, 1000);
        function finish() {
          clearTimeout(t);
          events.off('completed', finish);
          events.off('failed', finish);
          events.off('progress', finish);
          resolve();
        }
        events.on('completed', finish);
        events.on('failed', finish);
        events.on('progress', finish);
      });
      const early = gap - (performance.now() - readAt);
      if (early > 0) await new Promise((resolve) => setTimeout(resolve, early));
    }
  } finally {
    await events.close();
  }
}

/**
 * Rethrows a job's error; as BullMQ's UnrecoverableError (failed at once, no retries) when it is a
 * FaceKitError with one of `permanent`'s codes: a problem with the job itself fails the same on every try.
 */
export function rethrowForRetry(e: unknown, permanent: readonly FaceKitErrorCode[] = ['INVALID_ARGUMENT']): never {
  if (e instanceof FaceKitError && permanent.includes(e.code)) throw new UnrecoverableError(e.message);
  throw e;
}
