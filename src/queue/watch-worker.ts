/**
 * The worker side of camera jobs: one source at a time per worker, watched with facekit/video's
 * watch() against the worker's gallery, every event written to the job's log on Redis. The job
 * lock is renewed while the worker lives; a worker killed mid-watch leaves the lock to expire and
 * another worker takes the source over (BullMQ's stalled-job check), any number of times.
 */
import { Queue, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Gallery } from '../gallery/gallery.js';
import { createFaceKit } from '../entry/pipeline.js';
import { watch } from '../entry/video.js';
import { redisConnection, WATCH_QUEUE } from './connection.js';
import type { WatchJobData, WatchJobResult } from './watch-jobs.js';
import { rethrowForRetry } from './jobs.js';
import type { QueueWorkerOptions } from './worker.js';

/** How often a watching worker looks whether its job was asked to stop. */
const STOP_CHECK_MS = 1_000;
/** Takeovers a camera job survives: a camera outlives any number of worker deaths. */
const TAKEOVERS = 1_000_000;

export interface WatchWorkerOptions extends Omit<QueueWorkerOptions, 'concurrency'> {
  readonly gallery: Gallery;
  /** onnxruntime threads for the camera's networks (default 1: several workers share a host). */
  readonly threads?: number;
}

/** Starts taking camera jobs, one at a time; resolves once connected (close() to stop, which ends the watch). */
export async function startWatchWorker(options: WatchWorkerOptions): Promise<Worker<WatchJobData, WatchJobResult>> {
  const gallery = options.gallery;
  const connection = redisConnection(options.queueUrl);
  const control = new Queue<WatchJobData, WatchJobResult>(WATCH_QUEUE, { connection });
  const closing = new AbortController();
  const worker = new Worker<WatchJobData, WatchJobResult>(
    WATCH_QUEUE,
    async (job, token) => {
      if (job.data.gallery !== gallery.file)
        throw new UnrecoverableError(
          `camera job for gallery ${job.data.gallery}; this worker recognises from ${gallery.file} (start a worker with that --db)`,
        );
      const stop = new AbortController();
      const onClose = (): void => stop.abort();
      closing.signal.addEventListener('abort', onClose);
      let stopped = false;
      const check = setInterval(() => {
        control
          .getJob(job.id as string)
          .then((j) => {
            if (j?.data.stop) {
              stopped = true;
              stop.abort();
            }
          })
          .catch(() => undefined);
      }, STOP_CHECK_MS);
      const s = job.data.settings;
      const kit = createFaceKit({ detector: s.detector, threads: options.threads ?? 1 });
      try {
        let result: WatchJobResult | null = null;
        for await (const event of watch(job.data.source, {
          kit,
          gallery,
          every: s.every,
          fps: s.fps,
          saveUnknown: s.saveUnknown,
          rtspTransport: s.rtspTransport,
          stallTimeoutMs: s.stallTimeoutMs,
          // Per-frame track updates would flood the log; starts, names and ends are what a camera log is for.
          updates: false,
          signal: stop.signal,
        })) {
          await job.log(JSON.stringify(event));
          if (event.type === 'summary')
            result = {
              frames: event.frames,
              people: event.people.map((p) => ({ name: p.name, seconds: p.seconds })),
              unknown: event.unknown.length,
              clusterRun: event.clusterRun,
              stopped,
            };
        }
        if (closing.signal.aborted && !stopped) {
          // This worker is shutting down, the camera is not: back to the queue for another worker.
          await job.moveToWait(token);
          throw new WaitingError();
        }
        if (result === null) throw new Error(`${job.data.source}: the watch ended without a summary`);
        return result;
      } catch (e) {
        // A bad setting (e.g. an unknown RTSP transport) fails the same on every try: no retries.
        rethrowForRetry(e);
      } finally {
        clearInterval(check);
        closing.signal.removeEventListener('abort', onClose);
        await kit.dispose();
      }
    },
    {
      connection,
      concurrency: 1,
      lockDuration: options.lockMs ?? 30_000,
      stalledInterval: options.lockMs ?? 30_000,
      maxStalledCount: TAKEOVERS,
    },
  );
  worker.on('failed', (job, err) =>
    options.onNote?.(
      `camera ${job?.data.source} failed: ${err.message}${job && job.attemptsMade < (job.opts.attempts ?? 1) ? '; it will be tried again' : ''}`,
    ),
  );
  worker.on('error', (err) => options.onNote?.(`queue: ${err.message}`));
  // close() waits for the running job: the watch is ended first so a camera job does not hold it forever.
  const close = worker.close.bind(worker);
  worker.close = async (force?: boolean) => {
    closing.abort();
    await close(force);
    await control.close();
  };
  await worker.waitUntilReady();
  return worker;
}
