import { stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import type { DetectorName } from '../detect/detector.js';
import { FaceKitError } from '../errors.js';
import { DLIB_CHIP_SIZE } from '../align/templates.js';
import type { EnrollOutcome, NewFace } from '../gallery/store.js';
import { collectImageFiles, collectKnownPeople, isImageName, type InputError } from './files.js';
import { hashFiles, singleFace, withGallery, type DbCliOptions } from './gallery.js';
import { note, printJson, printLine, reportInputError, round, SCORE_DECIMALS, warn } from './output.js';
import { analyzeFiles, recordFailure, type CpuChoice } from './pool.js';

export interface EnrollCliOptions extends DbCliOptions {
  name?: string;
  largest?: boolean;
  cpus?: CpuChoice;
  model: DetectorName;
  json?: boolean;
}

interface PlannedPerson {
  name: string;
  files: string[];
}

/**
 * Who each photo is: with --name, everyone in the arguments is that person; otherwise a folder is
 * a known-people folder (`<person>/*.jpg` sub-folders or `<person>.jpg` files) and a file is the
 * person its name says, as in face_recognition.
 */
async function plan(paths: readonly string[], name: string | undefined, errors: InputError[]): Promise<PlannedPerson[]> {
  if (name !== undefined) {
    const collected = await collectImageFiles(paths);
    errors.push(...collected.errors);
    for (const dir of collected.emptyFolders) warn(`No image files found in ${dir}.`);
    return collected.files.length > 0 ? [{ name, files: collected.files }] : [];
  }
  const byName = new Map<string, string[]>();
  const add = (person: string, files: string[]): void => {
    byName.set(person, [...(byName.get(person) ?? []), ...files]);
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
      if (people.length === 0) warn(`No people found in ${path}: expected <person>/ sub-folders of photos or <person>.jpg files.`);
      for (const p of people) add(p.name, p.files);
    } else if (isImageName(path)) {
      add(basename(path, extname(path)), [path]);
    } else {
      errors.push({ file: path, code: 'INVALID_ARGUMENT', message: 'not an image name: give --name to say whose photo it is' });
    }
  }
  return [...byName.entries()].map(([person, files]) => ({ name: person, files }));
}

/** How much of the 150-px chip's resolution the face supplies: a 40-px face is upsampled almost 4×. */
function faceQuality(box: { width: number; height: number }): number {
  return Math.min(1, Math.min(box.width, box.height) / DLIB_CHIP_SIZE);
}

interface PersonReport {
  name: string;
  created: boolean;
  added: { file: string; faceId: number }[];
  duplicates: { file: string; person: string; faceId: number }[];
}

export async function runEnroll(paths: string[], opts: EnrollCliOptions): Promise<number> {
  const json = opts.json === true;
  const errors: InputError[] = [];
  const rejected: InputError[] = [];
  const people = await plan(paths, opts.name, errors);
  errors.forEach(reportInputError);
  if (people.length === 0) throw new FaceKitError('INVALID_ARGUMENT', 'no photos to enrol (see the messages above)', { field: 'paths' });

  return withGallery(opts, true, async (gallery) => {
    // Photos already in the gallery (same bytes) are skipped before anything is analysed.
    const hashes = await hashFiles(people.flatMap((p) => p.files), errors);
    const known = new Map((await gallery.facesWithHashes([...hashes.values()])).map((f) => [f.contentHash as string, f]));
    const reports = new Map<string, PersonReport>(people.map((p) => [p.name, { name: p.name, created: false, added: [], duplicates: [] }]));
    const queue: { person: PlannedPerson; file: string }[] = [];
    for (const p of people) {
      for (const f of p.files) {
        const hash = hashes.get(f);
        if (hash === undefined) continue;
        const dup = known.get(hash);
        if (dup) (reports.get(p.name) as PersonReport).duplicates.push({ file: f, person: dup.person, faceId: dup.id });
        else queue.push({ person: p, file: f });
      }
    }

    const say = (r: PersonReport): void => {
      if (json) return;
      const parts = [`${r.added.length} face${r.added.length === 1 ? '' : 's'} enrolled${r.created ? ' (new person)' : ''}`];
      if (r.duplicates.length > 0) parts.push(`${r.duplicates.length} already in the gallery`);
      printLine(`${r.name}: ${parts.join(', ')}`);
      for (const d of r.duplicates) note(`${d.file}: already enrolled as ${d.person} (face ${d.faceId}); skipped`);
    };

    // Each person is committed in one transaction as soon as their last photo is analysed: a run
    // killed half-way keeps every person it reported, each with all their faces.
    const pending = new Map<string, { faces: NewFace[]; files: string[]; left: number }>();
    for (const { person } of queue) {
      const e = pending.get(person.name) ?? { faces: [], files: [], left: 0 };
      e.left++;
      pending.set(person.name, e);
    }
    let commits: Promise<void> = Promise.resolve();
    const commit = (name: string): void => {
      const e = pending.get(name) as { faces: NewFace[]; files: string[] };
      const report = reports.get(name) as PersonReport;
      commits = commits.then(async () => {
        if (e.faces.length > 0) {
          const outcome: EnrollOutcome = await gallery.enroll(name, e.faces);
          report.created = outcome.created;
          const dupOf = new Map(outcome.duplicates.map((d) => [d.index, d]));
          let k = 0;
          e.faces.forEach((_, i) => {
            const dup = dupOf.get(i);
            if (dup) report.duplicates.push({ file: e.files[i], person: dup.existingPerson, faceId: dup.existingFaceId });
            else report.added.push({ file: e.files[i], faceId: outcome.added[k++] });
          });
        }
        say(report);
      });
    };

    if (queue.length > 0) {
      try {
        await analyzeFiles({ detector: opts.model, stage: 'analyze' }, opts.cpus, queue.map((q) => q.file), (r, index) => {
          const { person } = queue[index];
          const e = pending.get(person.name) as { faces: NewFace[]; files: string[]; left: number };
          if (!recordFailure(r, errors)) {
            const face = singleFace(r, opts.largest === true, rejected);
            if (face === null) reportInputError(rejected[rejected.length - 1]);
            else {
              if (r.faces.length > 1) warn(`More than one face found in ${r.file}. Only considering the largest face.`);
              e.faces.push({
                descriptor: face.descriptor as Float32Array, sourceFile: resolve(r.file), contentHash: hashes.get(r.file), box: face.box, score: face.score,
                quality: round(faceQuality(face.box), SCORE_DECIMALS),
              });
              e.files.push(r.file);
            }
          }
          if (--e.left === 0) commit(person.name);
        });
      } finally {
        await commits;
      }
    }
    // People whose every photo was a duplicate: said once, nothing written.
    for (const r of reports.values()) if (r.added.length === 0 && r.duplicates.length > 0 && !pending.has(r.name)) say(r);

    if (json) {
      const done = [...reports.values()].filter((r) => r.added.length > 0 || r.duplicates.length > 0);
      printJson({ db: gallery.file, people: done, rejected, errors });
    }
    return errors.length > 0 || rejected.length > 0 ? 1 : 0;
  });
}
