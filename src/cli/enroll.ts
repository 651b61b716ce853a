import { stat } from 'node:fs/promises';
import { basename, extname, join, resolve, sep } from 'node:path';
import type { DetectorName } from '../detect/detector.js';
import type { Precision } from '../models/registry.js';
import { FaceKitError } from '../errors.js';
import { DLIB_CHIP_SIZE } from '../align/templates.js';
import type { Gallery } from '../gallery/gallery.js';
import type { Metadata, NewFace } from '../gallery/store.js';
import { checkName } from '../gallery/validate.js';
import { collectImageFiles, collectKnownPeople, isImageName, type InputError, type KnownPerson } from './files.js';
import { hashFiles, singleFace, withGallery, type DbCliOptions } from './gallery.js';
import { errorJson } from './gallery-options.js';
import { note, printJson, printLine, reportInputError, round, SCORE_DECIMALS, warn } from './output.js';
import { analyzeFiles, recordFailure, type CpuChoice, type FileResult } from './pool.js';

export interface EnrollCliOptions extends DbCliOptions {
  name?: string;
  /** `--meta key=value` pairs, set on every person this run enrols. */
  meta?: Metadata;
  largest?: boolean;
  cpus?: CpuChoice;
  model: DetectorName;
  precision?: Precision;
  json?: boolean;
}

interface PlannedPerson {
  name: string;
  files: string[];
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
    let info;
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

/** How much of the 150-px chip's resolution the face supplies: a 40-px face is upsampled almost 4×. */
export function faceQuality(box: { width: number; height: number }): number {
  return Math.min(1, Math.min(box.width, box.height) / DLIB_CHIP_SIZE);
}

interface PersonReport {
  name: string;
  created: boolean;
  added: { file: string; faceId: number }[];
  duplicates: { file: string; person: string; faceId: number }[];
}

interface Pending {
  faces: NewFace[];
  files: string[];
  /** Photos of this person still being analysed. */
  left: number;
  /** Every photo queued for analysis (for the report of people a failed run did not enrol). */
  queued: string[];
}

function sayPerson(r: PersonReport): void {
  const parts = [
    `${r.added.length} face${r.added.length === 1 ? '' : 's'} enrolled${r.created ? ' (new person)' : ''}`,
  ];
  if (r.duplicates.length > 0) parts.push(`${r.duplicates.length} already in the gallery`);
  printLine(`${r.name}: ${parts.join(', ')}`);
  for (const d of r.duplicates) note(`${d.file}: already enrolled as ${d.person} (face ${d.faceId}); skipped`);
}

/**
 * One enrolment run: photos are analysed in order, and each person is committed in one
 * transaction as soon as their last photo is, so a run killed half-way keeps every person it
 * reported, each with all their faces. The first failure that is not one photo's (the store,
 * the models) stops the run: nothing more is analysed or written.
 */
class Enrolment {
  readonly reports: Map<string, PersonReport>;
  readonly pending = new Map<string, Pending>();
  readonly rejected: InputError[] = [];
  private readonly committed = new Set<string>();
  private commits: Promise<void> = Promise.resolve();
  /** The first store failure: later commits are not tried, and analysis stops at the next photo. */
  private failure: { error: unknown } | null = null;

  constructor(
    private readonly gallery: Gallery,
    private readonly opts: EnrollCliOptions,
    people: readonly PlannedPerson[],
    private readonly hashes: Map<string, string>,
    private readonly errors: InputError[],
  ) {
    this.reports = new Map(people.map((p) => [p.name, { name: p.name, created: false, added: [], duplicates: [] }]));
  }

  /** Queues a photo for analysis. */
  queue(person: string, file: string): void {
    const e = this.pending.get(person) ?? { faces: [], files: [], left: 0, queued: [] };
    e.left++;
    e.queued.push(file);
    this.pending.set(person, e);
  }

  private say(r: PersonReport): void {
    if (this.opts.json !== true) sayPerson(r);
  }

  private commit(name: string): void {
    const e = this.pending.get(name) as Pending;
    const report = this.reports.get(name) as PersonReport;
    this.commits = this.commits.then(async () => {
      if (this.failure) return;
      try {
        if (e.faces.length > 0) {
          const outcome = await this.gallery.enroll(name, e.faces, this.opts.meta);
          report.created = outcome.created;
          const dupOf = new Map(outcome.duplicates.map((d) => [d.index, d]));
          let k = 0;
          e.faces.forEach((_, i) => {
            const dup = dupOf.get(i);
            if (dup)
              report.duplicates.push({ file: e.files[i], person: dup.existingPerson, faceId: dup.existingFaceId });
            else report.added.push({ file: e.files[i], faceId: outcome.added[k++] });
          });
        }
        this.committed.add(name);
        this.say(report);
      } catch (error) {
        this.failure = { error };
      }
    });
  }

  /** One analysed photo: its face joins the person's, who is committed once all their photos are in. */
  take(r: FileResult, person: string): void {
    // Thrown into the analyser, which stops: every photo analysed after a failed commit would be wasted.
    if (this.failure) throw this.failure.error;
    const e = this.pending.get(person) as Pending;
    if (!recordFailure(r, this.errors)) {
      const face = singleFace(r, this.opts.largest === true, this.rejected);
      if (face === null) reportInputError(this.rejected[this.rejected.length - 1]);
      else {
        if (r.faces.length > 1) warn(`More than one face found in ${r.file}. Only considering the largest face.`);
        e.faces.push({
          descriptor: face.descriptor as Float32Array,
          sourceFile: resolve(r.file),
          contentHash: this.hashes.get(r.file),
          box: face.box,
          score: face.score,
          quality: round(faceQuality(face.box), SCORE_DECIMALS),
        });
        e.files.push(r.file);
      }
    }
    if (--e.left === 0) this.commit(person);
  }

  /** Waits for the commits queued so far; the run's fatal error, if any (a store failure comes first: it stopped the analysis). */
  async settle(analysisError: { error: unknown } | null): Promise<{ error: unknown } | null> {
    await this.commits;
    return this.failure ?? analysisError;
  }

  /** People with photos to enrol whom the run did not store. */
  notEnrolled(): { name: string; files: string[] }[] {
    return [...this.pending.entries()]
      .filter(([name]) => !this.committed.has(name))
      .map(([name, e]) => ({ name, files: e.queued }));
  }

  /** People whose every photo was stored already: nothing to write, said once. */
  sayDuplicatesOnly(): void {
    for (const r of this.reports.values())
      if (r.added.length === 0 && r.duplicates.length > 0 && !this.pending.has(r.name)) this.say(r);
  }

  reported(): PersonReport[] {
    return [...this.reports.values()].filter((r) => r.added.length > 0 || r.duplicates.length > 0);
  }
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
    await analyzeFiles(
      { detector: opts.model, precision: opts.precision, stage: 'analyze' },
      opts.cpus,
      queue.map((q) => q.file),
      (r, index) => run.take(r, queue[index].person),
    );
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

  return withGallery(opts, true, async (gallery) => {
    const hashes = await hashFiles(
      people.flatMap((p) => p.files),
      errors,
    );
    const run = new Enrolment(gallery, opts, people, hashes, errors);
    const queue = await queuePhotos(run, gallery, people, hashes);
    const fatal = await run.settle(await analyse(run, queue, opts));
    if (fatal) return reportStopped(run, gallery, fatal.error, errors, json);
    run.sayDuplicatesOnly();
    if (json) printJson({ db: gallery.file, people: run.reported(), notEnrolled: [], rejected: run.rejected, errors });
    return errors.length > 0 || run.rejected.length > 0 ? 1 : 0;
  });
}
