/** What the gallery commands share when they run: opening and closing, content hashes, one face per photo. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { openGallery, type Gallery, type ThresholdInfo } from '../gallery/gallery.js';
import { defaultGalleryPath } from '../gallery/paths.js';
import type { InputError } from './files.js';
import type { DbCliOptions } from './gallery-options.js';

export type { DbCliOptions };
import { note, reportInputError, warn } from './output.js';
import { largestFace, type FaceData, type FileResult } from './pool.js';

/** Runs `fn` on the gallery named by --db (or the default), closing it whatever happens. */
export async function withGallery<T>(opts: DbCliOptions, create: boolean, fn: (g: Gallery) => Promise<T>): Promise<T> {
  const gallery = await openGallery({ path: opts.db ?? defaultGalleryPath(), create, onNote: note });
  try {
    return await fn(gallery);
  } finally {
    await gallery.close();
  }
}

/** SHA-256 of a file's bytes, hex: a photo enrolled twice (renamed, copied) is recognised by it. */
export async function hashFile(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** Content hashes of `files`; a file that cannot be read is reported (stderr and `errors`) and left out. */
export async function hashFiles(files: readonly string[], errors: InputError[]): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for (const f of files) {
    try {
      hashes.set(f, await hashFile(f));
    } catch (cause) {
      const e: InputError = {
        file: f,
        code: 'FILE_UNREADABLE',
        message: `cannot be read (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`,
      };
      errors.push(e);
      reportInputError(e);
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

/** Says on stderr when the threshold in use is not the one its user probably expects. */
export function warnAboutThreshold(t: ThresholdInfo, faces: number, command: string): void {
  if (t.source === 'builtin') {
    note(
      `the gallery is not calibrated: using the built-in calibration, threshold ${t.value.toFixed(3)} for a false-accept rate of ${t.far}${t.level === 'search' ? ` over the gallery's people` : ''} (facekit calibrate measures one on your own faces)`,
    );
  } else if (t.source === 'default') {
    warn(
      `the gallery is not calibrated: using the default tolerance ${t.value} (run facekit calibrate --far 0.001 for a threshold with a known false-accept rate)`,
    );
  } else if (t.source === 'calibration' && t.level === 'pair' && command === 'identify') {
    warn(
      `the calibration at FAR ${t.far} had too few probes for a search threshold: using its pair threshold, which accepts strangers more often than ${t.far} when searching many people`,
    );
  } else if (t.source === 'calibration' && t.calibration && faces > 2 * t.calibration.faces && command === 'identify') {
    warn(
      `the gallery has grown from ${t.calibration.faces} to ${faces} faces since it was calibrated: strangers are accepted more often now; run facekit calibrate again`,
    );
  }
}

/** The threshold as --json prints it (without the calibration's distance samples). */
export function thresholdJson(
  t: ThresholdInfo | { value: number; source: string; far: number | null; level?: string | null },
) {
  return { value: t.value, source: t.source, far: t.far, level: 'level' in t ? (t.level ?? null) : null };
}
