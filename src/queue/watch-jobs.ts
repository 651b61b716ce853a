/**
 * Cameras and streams handed out to workers: one job per source on the Redis queue, which one
 * `facekit worker --cameras` process watches (the facekit/video watch() flow, recognising people
 * in the shared gallery) until the source ends or the job is stopped. Each worker watches one
 * source at a time; when a worker dies its job's lock expires and another worker takes the
 * source over, as often as that happens. Events go to the job's log on Redis (JSON lines), where
 * `facekit watch --queue … --status` reads them.
 */
import { Queue } from 'bullmq';
import { invalidArgument } from '../errors.js';
import type { DetectorName } from '../detect/registry.js';
import type { RtspTransport } from '../video/source-spec.js';
import { redisConnection, WATCH_QUEUE } from './connection.js';
import { contentJobId } from './jobs.js';

/** Events kept per camera job (the oldest are dropped): a camera runs for days. */
export const WATCH_LOG_EVENTS = 10_000;

export interface WatchJobSettings {
  /** Left out: watch()'s video default (a fast one-pass detector), not the kit's photo default. */
  readonly detector?: DetectorName;
  /** Detect on every n-th frame (watch()'s `every`). */
  readonly every?: number;
  /** Frame rate of a camera or image sequence that does not carry one. */
  readonly fps?: number;
  /** Save unknown people's faces as a cluster run in the gallery when the source ends or is stopped. */
  readonly saveUnknown?: boolean;
  /** RTSP cameras: 'tcp' (watch()'s default, right behind NAT) or 'udp'. */
  readonly rtspTransport?: RtspTransport;
  /** A camera that sends no frame for this long is reopened (watch()'s stall watchdog). */
  readonly stallTimeoutMs?: number;
}

export interface WatchJobData {
  /** The gallery people are recognised from, as its store names it: a worker on another gallery refuses the job. */
  readonly gallery: string;
  readonly source: string;
  readonly settings: WatchJobSettings;
  /** Set by stopWatchJobs: the worker ends the watch at its next check. */
  readonly stop?: boolean;
}

export interface WatchJobResult {
  readonly frames: number;
  readonly people: { readonly name: string; readonly seconds: number }[];
  readonly unknown: number;
  readonly clusterRun: number | null;
  /** Whether it ended by stopWatchJobs (else the source ended). */
  readonly stopped: boolean;
}

export interface CameraStatus {
  readonly jobId: string;
  readonly source: string;
  readonly state: string;
  /** Times a worker took it (more than 1: a worker died or the source broke and it was taken again). */
  readonly attempts: number;
  readonly result?: WatchJobResult;
  readonly failedReason?: string;
}

export function watchJobId(gallery: string, source: string): string {
  return contentJobId('watch', [gallery, source]);
}

function openQueue(queueUrl: string): Queue<WatchJobData, WatchJobResult> {
  return new Queue<WatchJobData, WatchJobResult>(WATCH_QUEUE, { connection: redisConnection(queueUrl) });
}

/**
 * Queues one job per source. A source already being watched is left as it is; one whose job has
 * ended (stopped, finished, failed) is queued again.
 */
export async function submitWatchJobs(
  queueUrl: string,
  options: { readonly gallery: string; readonly sources: readonly string[]; readonly settings: WatchJobSettings },
): Promise<{ jobIds: string[] }> {
  if (options.sources.length === 0) throw invalidArgument('sources', 'give at least one camera or stream');
  const every = options.settings.every;
  if (every !== undefined && !(Number.isInteger(every) && every >= 1))
    throw invalidArgument('every', `must be a positive integer, got ${every}`);
  const queue = openQueue(queueUrl);
  try {
    const jobIds: string[] = [];
    for (const source of options.sources) {
      const jobId = watchJobId(options.gallery, source);
      const state = await queue.getJobState(jobId);
      if (state === 'completed' || state === 'failed') await queue.remove(jobId);
      await queue.add(
        'watch',
        { gallery: options.gallery, source, settings: options.settings },
        {
          jobId,
          // A source that cannot be opened is tried again with backoff, then reported failed.
          attempts: 5,
          backoff: { type: 'exponential', delay: 2_000 },
          keepLogs: WATCH_LOG_EVENTS,
          removeOnComplete: false,
          removeOnFail: false,
        },
      );
      jobIds.push(jobId);
    }
    return { jobIds };
  } finally {
    await queue.close();
  }
}

/** Asks the workers watching these jobs to stop; a job still waiting is removed. Ids not on the queue are ignored. */
export async function stopWatchJobs(queueUrl: string, jobIds: readonly string[]): Promise<void> {
  const queue = openQueue(queueUrl);
  try {
    for (const id of jobIds) {
      const job = await queue.getJob(id);
      if (!job) continue;
      const state = await job.getState();
      if (state === 'active') await job.updateData({ ...job.data, stop: true });
      else if (state !== 'completed' && state !== 'failed') await job.remove();
    }
  } finally {
    await queue.close();
  }
}

/** Where each camera job stands. */
export async function cameraStatus(queueUrl: string, jobIds: readonly string[]): Promise<CameraStatus[]> {
  const queue = openQueue(queueUrl);
  try {
    const out: CameraStatus[] = [];
    for (const id of jobIds) {
      const state = await queue.getJobState(id);
      const job = await queue.getJob(id);
      if (!job) continue;
      out.push({
        jobId: id,
        source: job.data.source,
        state,
        attempts: job.attemptsStarted,
        ...(state === 'completed' ? { result: job.returnvalue } : {}),
        ...(state === 'failed' ? { failedReason: job.failedReason } : {}),
      });
    }
    return out;
  } finally {
    await queue.close();
  }
}

/** A camera job's events (watch() events as parsed JSON), oldest first, from `start`. */
export async function cameraEvents(queueUrl: string, jobId: string, start = 0): Promise<unknown[]> {
  const queue = openQueue(queueUrl);
  try {
    const { logs } = await queue.getJobLogs(jobId, start, -1, true);
    return logs.map((l) => JSON.parse(l) as unknown);
  } finally {
    await queue.close();
  }
}
