/** `facekit worker`: takes enrolment jobs from a Redis queue (see `facekit enroll --queue`) until stopped. */
import { Command, Option } from 'commander';
import { FaceKitError } from '../errors.js';
import { dbOption, parsePositiveInt, type DbCliOptions } from './gallery-options.js';
import { note } from './output.js';

export interface WorkerCliOptions extends DbCliOptions {
  queue: string;
  concurrency?: number;
  lockMs?: number;
  /** Also take a camera job (one at a time): `facekit watch <source> --queue`. */
  cameras?: boolean;
}

export async function runWorker(opts: WorkerCliOptions): Promise<number> {
  const { redisConnection } = await import('../entry/queue.js');
  redisConnection(opts.queue, '--queue');
  const { openGallery } = await import('../entry/gallery.js');
  const { defaultGalleryPath } = await import('../entry/gallery.js');
  const { startAnalyzeWorker, startEnrollWorker, startIndexWorker, startWatchWorker } = await import(
    '../entry/queue.js'
  );
  const gallery = await openGallery({
    path: opts.db ?? defaultGalleryPath(),
    create: true,
    follow: true,
    onNote: note,
  });
  try {
    const common = { queueUrl: opts.queue, lockMs: opts.lockMs, onNote: note };
    const worker = await startEnrollWorker({ ...common, gallery, concurrency: opts.concurrency });
    worker.on('completed', (job, r) =>
      note(
        `job ${job.id}: ${job.data.person}: ${r.added} enrolled, ${r.duplicates} already stored, ${r.rejected.length} rejected`,
      ),
    );
    const indexing = await startIndexWorker({ ...common, gallery, concurrency: opts.concurrency });
    indexing.on('completed', (job, r) =>
      note(
        `job ${job.id}: ${r.photosIndexed} photos indexed (${r.facesStored} faces), ${r.alreadyIndexed} already indexed, ${r.failed.length} unreadable`,
      ),
    );
    const analysis = await startAnalyzeWorker({ ...common, concurrency: opts.concurrency });
    analysis.on('completed', (job, r) => note(`job ${job.id}: ${r.photos.length} photos analysed`));
    const cameras = opts.cameras ? await startWatchWorker({ ...common, gallery }) : null;
    cameras?.on('active', (job) => note(`camera ${job.data.source}: watching`));
    cameras?.on('completed', (job, r) =>
      note(`camera ${job.data.source}: ${r.stopped ? 'stopped' : 'ended'} after ${r.frames} frames`),
    );
    note(`worker: taking jobs from ${opts.queue} for ${gallery.file} (Ctrl-C to stop after the current job)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    note('worker: finishing the current job, then stopping');
    await Promise.all([worker.close(), indexing.close(), analysis.close(), cameras?.close()]);
    return 0;
  } finally {
    await gallery.close();
  }
}

export function workerCommand(): Command {
  return new Command('worker')
    .summary(
      'take enrolment, photo-index, analysis and camera jobs from a Redis queue (enroll|index|cluster|watch --queue)',
    )
    .description(
      'take enrolment and photo-index jobs from a Redis queue and write their faces to --db (a postgres:// URL shared by every worker and service instance). ' +
        'Run as many as you like, on any hosts that see the photos under the same paths. A job whose worker dies is taken by another after --lock-ms; ' +
        'a photo already in the gallery (same bytes) is never enrolled twice. Stops after the current job on SIGINT/SIGTERM.',
    )
    .requiredOption('--queue <redis-url>', 'the queue, e.g. redis://127.0.0.1:6379')
    .addOption(dbOption())
    .option(
      '--concurrency <n>',
      'enrolment and analysis jobs this process runs at once, each (default 1)',
      parsePositiveInt,
    )
    .option(
      '--cameras',
      'also watch one camera or stream handed out with `facekit watch <source> --queue` (taken over by another worker if this one dies)',
    )
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
