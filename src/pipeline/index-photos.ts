/**
 * Indexing a photo archive (`facekit index`, locally or as a queue job): every photo hashed, those
 * already in the gallery's photo index set aside, the rest run through the pipeline and every face
 * found stored unlabelled, with its box, score and quality, so "in which photos does this person
 * appear?" can be asked later. Photos commit in small batches, so a run stopped half-way keeps
 * what it did and the next run skips it; an unreadable photo is reported and the run goes on.
 */
import type { Gallery } from '../gallery/gallery.js';
import type { IndexPhoto } from '../gallery/store.js';
import type { FileResult, InputError, ResultSink } from './batch.js';
import { faceQuality, hashFiles } from './enroll.js';

/** Photos per transaction: a killed run loses at most this many photos' analysis, and commits stay short. */
export const INDEX_COMMIT_PHOTOS = 20;

export interface IndexSummary {
  /** Photos given (after collecting folders). */
  readonly photos: number;
  /** Faces stored by this run. */
  readonly facesStored: number;
  /** Photos indexed now. */
  readonly photosIndexed: number;
  /** Photos already in the index (same bytes): nothing stored for them. */
  readonly alreadyIndexed: number;
  /** Photos indexed now in which no face was found (kept, so they are not analysed again). */
  readonly withoutFaces: string[];
  /** Photos that could not be read or decoded, with the reason. */
  readonly failed: InputError[];
}

export interface IndexEvents {
  readonly onFailure?: (e: InputError) => void;
  /** Once per photo analysed (not for photos skipped as already indexed). */
  readonly onResult?: (r: FileResult) => void;
}

/** Runs photos through the pipeline to the descriptors (the analyzer of the caller: CLI pool, or a worker's). */
export type RunAnalysis = (files: readonly string[], onResult: ResultSink) => Promise<void>;

/** A pipeline result as a photo of the index: every face, numbered in the detector's order. */
export function toIndexPhoto(r: Extract<FileResult, { ok: true }>, contentHash: string): IndexPhoto {
  return {
    sourceFile: r.file,
    contentHash,
    faces: r.faces.map((f) => {
      if (f.descriptor === undefined) throw new Error(`${r.file}: analysed without descriptors`);
      return { descriptor: f.descriptor, box: f.box, score: f.score, quality: faceQuality(f.box) };
    }),
  };
}

/**
 * Indexes `files` into `gallery`'s photo index. A fatal error (models missing, the gallery gone)
 * is thrown after the photos analysed before it are committed.
 */
export async function indexPhotoFiles(
  gallery: Gallery,
  files: readonly string[],
  analyse: RunAnalysis,
  events: IndexEvents = {},
): Promise<IndexSummary> {
  const failed: InputError[] = [];
  const fail = (e: InputError): void => {
    failed.push(e);
    events.onFailure?.(e);
  };
  const hashes = await hashFiles(files, fail);
  const known = new Set(await gallery.indexedHashes([...hashes.values()]));
  let alreadyIndexed = 0;
  const todo: string[] = [];
  for (const f of files) {
    const h = hashes.get(f);
    if (h === undefined) continue;
    // A copy of a photo given twice in one run is indexed once, like a photo indexed by an earlier run.
    if (known.has(h)) alreadyIndexed++;
    else {
      known.add(h);
      todo.push(f);
    }
  }
  let facesStored = 0;
  let photosIndexed = 0;
  const withoutFaces: string[] = [];
  let pending: IndexPhoto[] = [];
  let committing: Promise<void> = Promise.resolve();
  const commit = (): void => {
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    committing = committing.then(async () => {
      const outcomes = await gallery.indexPhotos(batch);
      outcomes.forEach((o, i) => {
        // Another worker or run may have indexed the same bytes meanwhile: counted as already indexed.
        if (o.already) alreadyIndexed++;
        else {
          photosIndexed++;
          facesStored += o.added;
          if (batch[i].faces.length === 0) withoutFaces.push(batch[i].sourceFile);
        }
      });
    });
    // Awaited below; handled here too, so a failed commit is not an unhandled rejection meanwhile.
    committing.catch(() => undefined);
  };
  let fatal: { error: unknown } | null = null;
  if (todo.length > 0) {
    try {
      await analyse(todo, (r) => {
        events.onResult?.(r);
        if (!r.ok) return fail(r.error);
        pending.push(toIndexPhoto(r, hashes.get(r.file) as string));
        if (pending.length >= INDEX_COMMIT_PHOTOS) commit();
      });
    } catch (error) {
      fatal = { error };
    }
  }
  commit();
  await committing;
  if (fatal) throw fatal.error;
  return { photos: files.length, facesStored, photosIndexed, alreadyIndexed, withoutFaces, failed };
}
