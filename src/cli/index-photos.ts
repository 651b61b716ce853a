/**
 * `facekit index <photos|folders...>`: every face of every photo into the gallery's photo index,
 * unlabelled, for `facekit find` to answer "in which photos does this person appear?". Locally
 * through the batch runner, or with --queue as jobs that `facekit worker` processes take.
 */
import { resolve } from 'node:path';
import { FaceKitError } from '../errors.js';
import type { InputError } from './files.js';
import { collectPhotos } from './files.js';
import { indexPhotoFiles, type IndexSummary } from '../pipeline/index-photos.js';
import { withGallery, type DbCliOptions } from './gallery.js';
import { printJson, printLine, reportInputError, warn } from './output.js';
import { analyzeFiles, type CpuChoice } from './analyze.js';
import { analyzerSettings, type AnalysisCliOptions } from './analysis-options.js';
import { startProgress } from './progress.js';
import { announceJobs, jobsNote } from './queued-jobs.js';

export interface IndexCliOptions extends DbCliOptions, AnalysisCliOptions {
  cpus?: CpuChoice;
  json?: boolean;
  /** redis:// URL: index through jobs that `facekit worker` processes take. */
  queue?: string;
  /** With --queue: follow the jobs until they finish (default true; --no-wait). */
  wait?: boolean;
  jobPhotos?: number;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function summaryText(s: {
  photos: number;
  photosIndexed: number;
  facesStored: number;
  alreadyIndexed: number;
  withoutFaces: readonly string[];
  unreadable: number;
}): string {
  return [
    `${plural(s.photos, 'photo')}: ${s.photosIndexed} indexed (${plural(s.facesStored, 'face')} stored)`,
    `${s.alreadyIndexed} already indexed`,
    `${s.withoutFaces.length} without a face`,
    `${s.unreadable} unreadable`,
  ].join(', ');
}

export async function runIndex(paths: string[], opts: IndexCliOptions): Promise<number> {
  const { files, errors } = await collectPhotos(paths);
  if (files.length === 0)
    throw new FaceKitError('INVALID_ARGUMENT', 'no photos to index (see the messages above)', { field: 'paths' });
  if (opts.queue !== undefined) return runQueuedIndex(files, opts, errors);
  return withGallery(opts, true, async (gallery) => {
    const progress = startProgress(files.length, opts);
    let summary: IndexSummary;
    try {
      summary = await indexPhotoFiles(
        gallery,
        files,
        (todo, onResult) => analyzeFiles(analyzerSettings(opts, 'analyze'), opts.cpus, todo, onResult),
        {
          onResult: (r) => progress.tick(r),
          onFailure: (e) => {
            // A file the pipeline could not decode is ticked by onResult; one that could not be hashed is not.
            reportInputError(e);
          },
        },
      );
    } finally {
      progress.finish();
    }
    const all = [...errors, ...summary.failed];
    const text = { ...summary, unreadable: summary.failed.length };
    if (opts.json === true)
      printJson({
        db: gallery.file,
        photos: summary.photos,
        photosIndexed: summary.photosIndexed,
        facesStored: summary.facesStored,
        alreadyIndexed: summary.alreadyIndexed,
        withoutFaces: summary.withoutFaces,
        errors: all,
      });
    else printLine(summaryText(text));
    return all.length > 0 ? 1 : 0;
  });
}

/** `index --queue`: the photos become jobs on the queue; workers analyse and commit them. */
async function runQueuedIndex(files: string[], opts: IndexCliOptions, errors: InputError[]): Promise<number> {
  const { redisConnection, submitIndexJobs, waitForIndexJobs } = await import('../entry/queue.js');
  redisConnection(opts.queue as string, '--queue');
  // Opened here so a wrong --db is reported now, not by every worker; also makes (or migrates) it.
  const gallery = await withGallery(opts, true, async (g) => g.file);
  const submitted = await submitIndexJobs(opts.queue as string, {
    gallery,
    files: files.map((f) => resolve(f)),
    settings: analyzerSettings(opts, 'analyze'),
    jobPhotos: opts.jobPhotos,
  });
  const stop = announceJobs(opts, gallery, submitted, errors);
  if (stop !== null) return stop;
  const p = await waitForIndexJobs(
    opts.queue as string,
    submitted.jobIds,
    jobsNote(
      opts,
      (q) => `${q.photosIndexed} photos indexed, ${q.facesStored} faces, ${q.alreadyIndexed} already indexed`,
    ),
  );
  for (const e of p.unreadable) reportInputError(e);
  for (const e of p.errors) warn(`job of ${plural(e.files.length, 'photo')} (${e.files[0]} …) failed: ${e.message}`);
  const all = [...errors, ...p.unreadable];
  if (opts.json === true)
    printJson({
      db: gallery,
      jobs: p.total,
      failed: p.failed,
      photos: submitted.photos,
      photosIndexed: p.photosIndexed,
      facesStored: p.facesStored,
      alreadyIndexed: p.alreadyIndexed,
      withoutFaces: p.withoutFaces,
      errors: all,
      jobErrors: p.errors,
    });
  else
    printLine(
      `${summaryText({ ...p, photos: submitted.photos, unreadable: p.unreadable.length })}, ${plural(p.failed, 'job')} failed`,
    );
  return all.length > 0 || p.failed > 0 ? 1 : 0;
}
