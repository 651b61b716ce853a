import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname, join, resolve, sep } from 'node:path';
import type { DetectorName } from '../entry/detect.js';
import type { Precision } from '../entry/models.js';
import { FaceKitError } from '../errors.js';
import { checkName, type Gallery, type Metadata } from '../entry/gallery.js';
import { collectImageFiles, collectKnownPeople, isImageName, type InputError, type KnownPerson } from './files.js';
import { Enrolment, hashFiles, type PersonReport, type PlannedPerson } from '../pipeline/enroll.js';
import { withGallery, type DbCliOptions } from './gallery.js';
import { errorJson } from './gallery-options.js';
import { note, printJson, printLine, reportInputError, warn } from './output.js';
import { analyzeFiles, type CpuChoice } from './analyze.js';
import { analyzerSettings, type AnalysisCliOptions } from './analysis-options.js';
import { startProgress } from './progress.js';
import { announceJobs, jobsNote } from './queued-jobs.js';

export interface EnrollCliOptions extends DbCliOptions, AnalysisCliOptions {
  name?: string;
  /** `--meta key=value` pairs, set on every person this run enrols. */
  meta?: Metadata;
  /** Refuse photos with several faces (MULTIPLE_FACES) instead of taking the largest, as identify does. */
  oneFaceOnly?: boolean;
  cpus?: CpuChoice;
  model: DetectorName;
  precision?: Precision;
  json?: boolean;
  /** redis:// URL: enrol through jobs that `facekit worker` processes take. */
  queue?: string;
  /** With --queue: follow the jobs until they finish (default true; --no-wait). */
  wait?: boolean;
  jobPhotos?: number;
}

/** A folder's or file's name as a person's name; null, with the problem recorded against `source`, when it cannot be one. */
function personName(raw: string, source: string, errors: InputError[]): string | null {
  try {
    return checkName(raw, 'name');
  } catch (e) {
    const why = (e as FaceKitError).message.replace(/^name: /, '');
    errors.push({ file: source, code: (e as FaceKitError).code, message: `cannot be a person's name: ${why}` });
    return null;
  }
}

/** Where a known person's name came from, for messages: their folder, else their photo. */
function nameSource(dir: string, p: KnownPerson): string {
  const folder = join(dir, p.name);
  return p.files.every((f) => f.startsWith(folder + sep)) ? folder : p.files[0];
}

async function planNamed(paths: readonly string[], name: string, errors: InputError[]): Promise<PlannedPerson[]> {
  const collected = await collectImageFiles(paths);
  errors.push(...collected.errors);
  for (const dir of collected.emptyFolders) warn(`No image files found in ${dir}.`);
  return collected.files.length > 0 ? [{ name, files: collected.files }] : [];
}

/**
 * Who each photo is: with --name, everyone in the arguments is that person; otherwise a folder is
 * a known-people folder (`<person>/*.jpg` sub-folders or `<person>.jpg` files) and a file is the
 * person its name says, as in face_recognition. Names are checked here, before anything is
 * analysed: a folder whose name cannot be a person's is reported and skipped.
 */
async function plan(
  paths: readonly string[],
  name: string | undefined,
  errors: InputError[],
): Promise<PlannedPerson[]> {
  if (name !== undefined) return planNamed(paths, checkName(name, '--name'), errors);
  const byName = new Map<string, string[]>();
  const add = (raw: string, source: string, files: string[]): void => {
    const person = personName(raw, source, errors);
    if (person !== null) byName.set(person, [...(byName.get(person) ?? []), ...files]);
  };
  for (const path of paths) {
    let info: Stats;
    try {
      info = await stat(path);
    } catch {
      errors.push({ file: path, code: 'FILE_NOT_FOUND', message: 'no such file or directory' });
      continue;
    }
    if (info.isDirectory()) {
      const people = await collectKnownPeople(path, errors);
      if (people.length === 0)
        warn(`No people found in ${path}: expected <person>/ sub-folders of photos or <person>.jpg files.`);
      for (const p of people) add(p.name, nameSource(path, p), p.files);
    } else if (isImageName(path)) {
      add(basename(path, extname(path)), path, [path]);
    } else {
      errors.push({
        file: path,
        code: 'INVALID_ARGUMENT',
        message: 'not an image name: give --name to say whose photo it is',
      });
    }
  }
  return [...byName.entries()].map(([person, files]) => ({ name: person, files }));
}

function sayPerson(r: PersonReport): void {
  const parts = [
    `${r.added.length} face${r.added.length === 1 ? '' : 's'} enrolled${r.created ? ' (new person)' : ''}`,
  ];
  if (r.duplicates.length > 0) parts.push(`${r.duplicates.length} already in the gallery`);
  printLine(`${r.name}: ${parts.join(', ')}`);
  for (const d of r.duplicates) note(`${d.file}: already enrolled as ${d.person} (face ${d.faceId}); skipped`);
}

/** Photos already in the gallery (same bytes) are set aside before anything is analysed; the rest are queued. */
async function queuePhotos(
  run: Enrolment,
  gallery: Gallery,
  people: readonly PlannedPerson[],
  hashes: Map<string, string>,
): Promise<{ person: string; file: string }[]> {
  const known = new Map((await gallery.facesWithHashes([...hashes.values()])).map((f) => [f.contentHash as string, f]));
  const queue: { person: string; file: string }[] = [];
  for (const p of people) {
    for (const f of p.files) {
      const hash = hashes.get(f);
      if (hash === undefined) continue;
      const dup = known.get(hash);
      if (dup)
        (run.reports.get(p.name) as PersonReport).duplicates.push({ file: f, person: dup.person, faceId: dup.id });
      else {
        queue.push({ person: p.name, file: f });
        run.queue(p.name, f);
      }
    }
  }
  return queue;
}

async function analyse(
  run: Enrolment,
  queue: { person: string; file: string }[],
  opts: EnrollCliOptions,
): Promise<{ error: unknown } | null> {
  if (queue.length === 0) return null;
  try {
    const progress = startProgress(queue.length, opts);
    await analyzeFiles(
      analyzerSettings(opts, 'analyze'),
      opts.cpus,
      queue.map((q) => q.file),
      (r, index) => {
        progress.tick(r);
        run.take(r, queue[index].person);
      },
    );
    progress.finish({ people: new Set(queue.map((q) => q.person)).size });
    return null;
  } catch (error) {
    return { error };
  }
}

/** After a fatal error: who was not enrolled, then the error (on stdout too under --json, with the rest of the report). */
function reportStopped(run: Enrolment, gallery: Gallery, fatal: unknown, errors: InputError[], json: boolean): number {
  const left = run.notEnrolled();
  if (!json) {
    if (left.length > 0)
      warn(
        `not enrolled, as the run stopped: ${left.map((p) => p.name).join(', ')} (run the command again: photos already stored are skipped)`,
      );
    throw fatal;
  }
  printJson({
    db: gallery.file,
    people: run.reported(),
    notEnrolled: left,
    rejected: run.rejected,
    errors,
    error: errorJson(fatal),
  });
  note(errorJson(fatal).message);
  return 1;
}

export async function runEnroll(paths: string[], opts: EnrollCliOptions): Promise<number> {
  const json = opts.json === true;
  const errors: InputError[] = [];
  const people = await plan(paths, opts.name, errors);
  errors.forEach(reportInputError);
  if (people.length === 0)
    throw new FaceKitError('INVALID_ARGUMENT', 'no photos to enrol (see the messages above)', { field: 'paths' });

  if (opts.queue !== undefined) return runQueuedEnroll(people, opts, errors);
  return withGallery(opts, true, async (gallery) => {
    const hashes = await hashFiles(
      people.flatMap((p) => p.files),
      (e) => {
        errors.push(e);
        reportInputError(e);
      },
    );
    const run = new Enrolment(gallery, { largest: opts.oneFaceOnly !== true, meta: opts.meta }, people, hashes, {
      onPerson: (r) => {
        if (!json) sayPerson(r);
      },
      onFailure: (e) => {
        errors.push(e);
        reportInputError(e);
      },
      onRejected: reportInputError,
      onWarning: warn,
    });
    const queue = await queuePhotos(run, gallery, people, hashes);
    const fatal = await run.settle(await analyse(run, queue, opts));
    if (fatal) return reportStopped(run, gallery, fatal.error, errors, json);
    run.reportDuplicatesOnly();
    if (json) printJson({ db: gallery.file, people: run.reported(), notEnrolled: [], rejected: run.rejected, errors });
    return errors.length > 0 || run.rejected.length > 0 ? 1 : 0;
  });
}

/** `enroll --queue`: the plan becomes jobs on the queue; workers analyse and commit them. */
async function runQueuedEnroll(people: PlannedPerson[], opts: EnrollCliOptions, errors: InputError[]): Promise<number> {
  const { submitEnrollJobs, waitForJobs } = await import('../entry/queue.js');
  // Opened here so a wrong --db is reported now, not by every worker; also makes (or migrates) it.
  const gallery = await withGallery(opts, true, async (g) => g.file);
  const absolute = people.map((p) => ({ name: p.name, files: p.files.map((f) => resolve(f)) }));
  const submitted = await submitEnrollJobs(opts.queue as string, {
    gallery,
    people: absolute,
    settings: analyzerSettings(opts, 'analyze'),
    largest: opts.oneFaceOnly !== true,
    meta: opts.meta,
    jobPhotos: opts.jobPhotos,
  });
  const stop = announceJobs(opts, gallery, submitted, errors);
  if (stop !== null) return stop;
  const p = await waitForJobs(
    opts.queue as string,
    submitted.jobIds,
    jobsNote(opts, (q) => `${q.added} faces enrolled, ${q.duplicates} already stored`),
  );
  for (const r of p.rejected) reportInputError(r as InputError);
  for (const e of p.errors) warn(`job for ${e.person} failed: ${e.message}`);
  if (opts.json === true)
    printJson({
      db: gallery,
      jobs: p.total,
      failed: p.failed,
      added: p.added,
      duplicates: p.duplicates,
      rejected: p.rejected,
      errors: [...errors, ...p.errors],
    });
  else printLine(`${p.added} faces enrolled, ${p.duplicates} already in the gallery, ${p.failed} jobs failed`);
  return errors.length > 0 || p.failed > 0 || p.rejected.length > 0 ? 1 : 0;
}
