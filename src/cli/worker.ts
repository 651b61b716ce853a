/** `facekit worker`: takes enrolment jobs from a Redis queue (see `facekit enroll --queue`) until stopped. */
import { Command, Option } from 'commander';
import { FaceKitError } from '../errors.js';
import { dbOption, parsePositiveInt, type DbCliOptions } from './gallery-options.js';
import { note } from './output.js';

export interface WorkerCliOptions extends DbCliOptions {
  queue: string;
  concurrency?: number;
  lockMs?: number;
}

export async function runWorker(opts: WorkerCliOptions): Promise<number> {
  const { redisConnection } = await import('../entry/queue.js');
  redisConnection(opts.queue, '--queue');
  const { openGallery } = await import('../entry/gallery.js');
  const { defaultGalleryPath } = await import('../entry/gallery.js');
  const { startEnrollWorker } = await import('../entry/queue.js');
  const gallery = await openGallery({
    path: opts.db ?? defaultGalleryPath(),
    create: true,
    follow: true,
    onNote: note,
  });
  try {
    const worker = await startEnrollWorker({
      queueUrl: opts.queue,
      gallery,
      concurrency: opts.concurrency,
      lockMs: opts.lockMs,
      onNote: note,
    });
    worker.on('completed', (job, r) =>
      note(
        `job ${job.id}: ${job.data.person}: ${r.added} enrolled, ${r.duplicates} already stored, ${r.rejected.length} rejected`,
      ),
    );
    note(`worker: taking jobs from ${opts.queue} for ${gallery.file} (Ctrl-C to stop after the current job)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    note('worker: finishing the current job, then stopping');
    await worker.close();
    return 0;
  } finally {
    await gallery.close();
  }
}

export function workerCommand(): Command {
  return new Command('worker')
    .summary('take enrolment jobs from a Redis queue (facekit enroll --queue) and write them to the gallery')
    .description(
      'take enrolment jobs from a Redis queue and write their faces to --db (a postgres:// URL shared by every worker and service instance). ' +
        'Run as many as you like, on any hosts that see the photos under the same paths. A job whose worker dies is taken by another after --lock-ms; ' +
        'a photo already in the gallery (same bytes) is never enrolled twice. Stops after the current job on SIGINT/SIGTERM.',
    )
    .requiredOption('--queue <redis-url>', 'the queue, e.g. redis://127.0.0.1:6379')
    .addOption(dbOption())
    .option('--concurrency <n>', 'jobs this process runs at once (default 1)', parsePositiveInt)
    .addOption(
      new Option(
        '--lock-ms <ms>',
        "how long a dead worker's job stays locked before another takes it (default 30000)",
      ).argParser(parsePositiveInt),
    )
    .action(async (opts: WorkerCliOptions) => {
      try {
        process.exitCode = await runWorker(opts);
      } catch (e) {
        if (e instanceof FaceKitError) throw e;
        throw new FaceKitError('INTERNAL', `worker: ${(e as Error).message}`, { cause: e });
      }
    });
}
