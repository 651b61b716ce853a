import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { FaceKitError } from '../errors.js';
import type { Gallery } from '../gallery/gallery.js';
import { DEFAULT_MAX_FILE_BYTES } from '../image/decode.js';
import { readRegularFile } from '../util/regular-file.js';
import type { Metadata, NewFace } from '../gallery/store.js';
import { DLIB_CHIP_SIZE } from '../models/dlibResnet128.js';
import { type FaceData, type FileResult, type InputError, largestFace } from './batch.js';

/**
 * Enrolment as every front end does it: photos of known people analysed by the batch runner, one
 * face each, committed person by person into a gallery; what happens is told through callbacks.
 */

/** Decimals a face's quality is stored with: finer differences mean nothing. */
const QUALITY_DECIMALS = 4;

function roundQuality(q: number): number {
  const k = 10 ** QUALITY_DECIMALS;
  return Math.round(q * k) / k;
}

/** How much of the 150-px chip's resolution the face supplies: a 40-px face is upsampled almost 4×. */
export function faceQuality(box: { width: number; height: number }): number {
  return Math.min(1, Math.min(box.width, box.height) / DLIB_CHIP_SIZE);
}

/** SHA-256 of a file's bytes, hex: a photo enrolled twice (renamed, copied) is recognised by it. */
export async function hashFile(file: string): Promise<string> {
  // The reader the decoder uses: a FIFO or device is refused, not read forever, and so is a file over the size cap.
  return createHash('sha256')
    .update(await readRegularFile(file, { maxBytes: DEFAULT_MAX_FILE_BYTES }))
    .digest('hex');
}

/** Content hashes of `files`; a file that cannot be read goes to `onError` and is left out. */
export async function hashFiles(
  files: readonly string[],
  onError: (error: InputError) => void,
): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for (const f of files) {
    try {
      hashes.set(f, await hashFile(f));
    } catch (cause) {
      const e: InputError =
        cause instanceof FaceKitError
          ? { file: f, code: cause.code, message: cause.message.replace(`${f}: `, '') }
          : { file: f, code: 'FILE_UNREADABLE', message: `cannot be read (${String(cause)})` };
      onError(e);
    }
  }
  return hashes;
}

/**
 * The one face a photo is used for (enrolment, verification, calibration): null with the problem
 * recorded when the photo shows none, or several and `largest` does not allow taking the biggest.
 */
export function singleFace(
  r: Extract<FileResult, { ok: true }>,
  largest: boolean,
  problems: InputError[],
): FaceData | null {
  if (r.faces.length === 0) {
    problems.push({ file: r.file, code: 'NO_FACE', message: 'no face found' });
    return null;
  }
  if (r.faces.length > 1 && !largest) {
    problems.push({
      file: r.file,
      code: 'MULTIPLE_FACES',
      message: `${r.faces.length} faces found: give a photo of one person (without --one-face-only the largest face is taken)`,
    });
    return null;
  }
  return largestFace(r.faces);
}

export interface PlannedPerson {
  name: string;
  files: string[];
}

export interface EnrolmentOptions {
  /** Take the largest face of a photo that shows several (else the photo is rejected). */
  readonly largest: boolean;
  /** Set on every person this run enrols. */
  readonly meta?: Metadata;
}

export interface EnrolmentEvents {
  /** A person committed (or found already stored). */
  readonly onPerson?: (report: PersonReport) => void;
  /** A photo the pipeline could not read. */
  readonly onFailure?: (error: InputError) => void;
  /** A photo read but not usable: no face, or several without `largest`. */
  readonly onRejected?: (error: InputError) => void;
  readonly onWarning?: (message: string) => void;
}

export interface PersonReport {
  name: string;
  created: boolean;
  added: { file: string; faceId: number }[];
  duplicates: { file: string; person: string; faceId: number }[];
}

export interface Pending {
  faces: NewFace[];
  files: string[];
  /** Photos of this person still being analysed. */
  left: number;
  /** Every photo queued for analysis (for the report of people a failed run did not enrol). */
  queued: string[];
}

/**
 * One enrolment run: photos are analysed in order, and each person is committed in one
 * transaction as soon as their last photo is, so a run killed half-way keeps every person it
 * reported, each with all their faces. The first failure that is not one photo's (the store,
 * the models) stops the run: nothing more is analysed or written.
 */
export class Enrolment {
  readonly reports: Map<string, PersonReport>;
  readonly pending = new Map<string, Pending>();
  readonly rejected: InputError[] = [];
  private readonly committed = new Set<string>();
  private commits: Promise<void> = Promise.resolve();
  /** The first store failure: later commits are not tried, and analysis stops at the next photo. */
  private failure: { error: unknown } | null = null;

  constructor(
    private readonly gallery: Gallery,
    private readonly options: EnrolmentOptions,
    people: readonly PlannedPerson[],
    private readonly hashes: Map<string, string>,
    private readonly events: EnrolmentEvents = {},
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
    this.events.onPerson?.(r);
  }

  private commit(name: string): void {
    const e = this.pending.get(name) as Pending;
    const report = this.reports.get(name) as PersonReport;
    this.commits = this.commits.then(async () => {
      if (this.failure) return;
      try {
        if (e.faces.length > 0) {
          const outcome = await this.gallery.enroll(name, e.faces, this.options.meta);
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
    if (!r.ok) this.events.onFailure?.(r.error);
    else {
      const face = singleFace(r, this.options.largest, this.rejected);
      if (face === null) this.events.onRejected?.(this.rejected[this.rejected.length - 1]);
      else {
        // Every photo of a run comes from one kit: a descriptor of another model stops the run before anything is stored.
        if (face.modelId !== undefined && face.modelId !== this.gallery.modelId)
          throw new FaceKitError(
            'MODEL_MISMATCH',
            `${r.file}: a ${face.modelId} descriptor; this gallery holds ${this.gallery.modelId} descriptors, which cannot be compared with it`,
            { file: r.file },
          );
        if (r.faces.length > 1)
          this.events.onWarning?.(`More than one face found in ${r.file}. Only considering the largest face.`);
        e.faces.push({
          descriptor: face.descriptor as Float32Array,
          sourceFile: resolve(r.file),
          contentHash: this.hashes.get(r.file),
          box: face.box,
          score: face.score,
          quality: roundQuality(faceQuality(face.box)),
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

  /** People whose every photo was stored already: nothing to write, reported once through onPerson. */
  reportDuplicatesOnly(): void {
    for (const r of this.reports.values())
      if (r.added.length === 0 && r.duplicates.length > 0 && !this.pending.has(r.name)) this.say(r);
  }

  reported(): PersonReport[] {
    return [...this.reports.values()].filter((r) => r.added.length > 0 || r.duplicates.length > 0);
  }
}
