/**
 * `facekit watch <source> --queue redis://… --db postgres://…`: the source is handed to the
 * `facekit worker --cameras` processes instead of watched here (one source per worker, taken
 * over by another when its worker dies); `--status` shows where it stands with its latest
 * events, `--stop` ends it.
 */
import { FaceKitError } from '../errors.js';
import type { DetectorName } from '../entry/detect.js';
import type { RtspTransport } from '../entry/video.js';
import { msFromSeconds } from './gallery-options.js';
import { printJson, printLine } from './output.js';

export interface WatchQueueCliOptions {
  queue: string;
  db?: string;
  model?: DetectorName;
  every: number;
  fps?: number;
  saveUnknown?: boolean;
  rtspTransport?: RtspTransport;
  /** Seconds, as `--stall-timeout` takes it. */
  stallTimeout?: number;
  stop?: boolean;
  status?: boolean;
  json?: string;
}

/** Events `--status` prints: the latest few are what an operator looks at. */
const STATUS_EVENTS = 10;

/** Watch options that need this process's screen or disk, which a worker elsewhere cannot give. */
const LOCAL_ONLY = ['embedder', 'out', 'serve', 'known', 'blurUnknown'] as const;

export async function runWatchQueue(
  source: string,
  opts: WatchQueueCliOptions & Record<string, unknown>,
): Promise<number> {
  const { cameraEvents, cameraStatus, redisConnection, stopWatchJobs, submitWatchJobs, watchJobId } = await import(
    '../entry/queue.js'
  );
  redisConnection(opts.queue, '--queue');
  for (const o of LOCAL_ONLY)
    if (opts[o] !== undefined)
      throw new FaceKitError(
        'INVALID_ARGUMENT',
        `--${o.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: not with --queue (a worker watches the source, not this process)`,
        {
          field: o,
        },
      );
  if (opts.db === undefined)
    throw new FaceKitError(
      'INVALID_ARGUMENT',
      '--queue needs --db: the postgres:// gallery the workers recognise people from',
      {
        field: 'db',
      },
    );
  const { openGallery } = await import('../entry/gallery.js');
  // Opened here so a wrong --db is reported now, not by the worker; the job names it as its store does.
  const gallery = await openGallery({ path: opts.db });
  const name = gallery.file;
  await gallery.close();
  const id = watchJobId(name, source);
  if (opts.stop) {
    await stopWatchJobs(opts.queue, [id]);
    printLine(`${source}: asked to stop`);
    return 0;
  }
  if (opts.status) {
    const [status] = await cameraStatus(opts.queue, [id]);
    if (!status)
      throw new FaceKitError('INVALID_ARGUMENT', `${source}: not on ${opts.queue} for ${name}`, { field: 'source' });
    const events = await cameraEvents(opts.queue, id);
    if (opts.json !== undefined) printJson({ ...status, events: events.slice(-STATUS_EVENTS) });
    else {
      printLine(
        `${source}: ${status.state}, taken ${status.attempts} time(s)${status.failedReason ? ` (${status.failedReason})` : ''}`,
      );
      for (const e of events.slice(-STATUS_EVENTS)) printLine(`  ${JSON.stringify(e)}`);
    }
    return status.state === 'failed' ? 1 : 0;
  }
  await submitWatchJobs(opts.queue, {
    gallery: name,
    sources: [source],
    settings: {
      detector: opts.model,
      every: opts.every,
      fps: opts.fps,
      saveUnknown: opts.saveUnknown === true,
      rtspTransport: opts.rtspTransport,
      stallTimeoutMs: msFromSeconds(opts.stallTimeout),
    },
  });
  printLine(
    `${source}: handed to the workers on ${opts.queue} (start them with: facekit worker --cameras --queue ${opts.queue} --db ${name}); follow it with --status, end it with --stop`,
  );
  return 0;
}
