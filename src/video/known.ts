/**
 * A folder of known people, as the identify command reads it: `dir/<name>.jpg` (one photo) or
 * `dir/<name>/*.jpg` (several). Each photo's largest face is encoded.
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join, parse } from 'node:path';
import { FaceKitError } from '../errors.js';
import type { AnalyzedFace, FaceKit } from '../index.js';
import { loadImage } from '../entry/image.js';
import type { KnownPerson } from './identities.js';

const PHOTO_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.avif', '.gif']);

export interface KnownFolder {
  readonly people: KnownPerson[];
  /** Photos that gave no face or could not be read, with why. */
  readonly skipped: { file: string; problem: string }[];
}

type Analyzer = Pick<FaceKit, 'analyze'>;

const largest = (faces: readonly AnalyzedFace[]): AnalyzedFace | undefined =>
  faces.reduce<AnalyzedFace | undefined>(
    (a, f) => (!a || f.box.width * f.box.height > a.box.width * a.box.height ? f : a),
    undefined,
  );

export async function loadKnownFolder(kit: Analyzer, dir: string): Promise<KnownFolder> {
  let entries: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a folder');
    entries = (await readdir(dir)).sort();
  } catch (cause) {
    throw new FaceKitError('FILE_NOT_FOUND', 'known people folder not found', { file: dir, field: 'known', cause });
  }
  const photosOf = new Map<string, string[]>();
  for (const entry of entries) {
    const path = join(dir, entry);
    const info = await stat(path);
    if (info.isDirectory()) {
      const photos = (await readdir(path)).sort().filter((f) => PHOTO_EXTENSIONS.has(extname(f).toLowerCase()));
      if (photos.length > 0)
        photosOf.set(
          entry,
          photos.map((f) => join(path, f)),
        );
    } else if (PHOTO_EXTENSIONS.has(extname(entry).toLowerCase())) {
      const name = parse(entry).name;
      photosOf.set(name, [...(photosOf.get(name) ?? []), path]);
    }
  }
  const people: KnownPerson[] = [];
  const skipped: { file: string; problem: string }[] = [];
  for (const [name, files] of photosOf) {
    const descriptors: Float32Array[] = [];
    for (const file of files) {
      try {
        const face = largest(await kit.analyze(await loadImage(file)));
        if (face) descriptors.push(face.descriptor);
        else skipped.push({ file, problem: 'no face found' });
      } catch (error) {
        skipped.push({ file, problem: error instanceof Error ? error.message : String(error) });
      }
    }
    if (descriptors.length > 0) people.push({ name, descriptors });
  }
  if (people.length === 0)
    throw new FaceKitError('NO_FACE', 'no known person: no photo in it shows a face', { file: dir, field: 'known' });
  return { people, skipped };
}
