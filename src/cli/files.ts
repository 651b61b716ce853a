import type { Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { FaceKitError } from '../errors.js';
import { reportInputError, warn } from './output.js';

/** Extensions taken when a folder is walked; a file named explicitly is tried whatever its name. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
  '.heic',
]);

import type { InputError } from '../pipeline/batch.js';

export type { InputError };

export interface CollectedFiles {
  /** Image files in argument order; each folder's files sorted, duplicates dropped. */
  readonly files: string[];
  readonly errors: InputError[];
  /** Folders that held no image file: not a failure, but worth a word on stderr. */
  readonly emptyFolders: string[];
}

export function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
}

/** Code-unit order, not locale order: the same tree lists the same way on every machine. */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Dot-files are skipped in folder walks: `.git`, `.thumbnails` and macOS `._photo.jpg`
 * resource forks (which carry an image extension but no image) are never what the user meant.
 */
function hidden(name: string): boolean {
  return name.startsWith('.');
}

function statError(path: string, cause: unknown): InputError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return { file: path, code: 'FILE_NOT_FOUND', message: 'no such file or directory' };
  return { file: path, code: 'FILE_UNREADABLE', message: `cannot be read (${code ?? String(cause)})` };
}

/**
 * Image files under `dir`, recursively, sorted by path. Symlinked folders are followed once:
 * `seen` holds real paths, so a link back up the tree cannot loop.
 */
export async function walkImages(dir: string, errors: InputError[], seen = new Set<string>()): Promise<string[]> {
  let real: string;
  try {
    real = await realpath(dir);
  } catch (cause) {
    errors.push(statError(dir, cause));
    return [];
  }
  if (seen.has(real)) return [];
  seen.add(real);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (cause) {
    errors.push(statError(dir, cause));
    return [];
  }
  const found: string[] = [];
  for await (const { name, path, isDirectory } of visibleEntries(dir, names)) {
    if (isDirectory) found.push(...(await walkImages(path, errors, seen)));
    else if (isImageName(name)) found.push(path);
  }
  return found.sort(byName);
}

/** Folders and regular files among `names` in `dir`, hidden ones skipped, sorted by name. */
async function* visibleEntries(
  dir: string,
  names: readonly string[],
): AsyncGenerator<{ name: string; path: string; isDirectory: boolean }> {
  for (const name of [...names].sort(byName)) {
    if (hidden(name)) continue;
    const path = join(dir, name);
    let info: Stats;
    try {
      info = await stat(path);
    } catch {
      // A dangling link or a file removed mid-walk: not something the user named, so not an error.
      continue;
    }
    if (info.isDirectory() || info.isFile()) yield { name, path, isDirectory: info.isDirectory() };
  }
}

/**
 * face_recognition's rule: a folder argument means every image in it, a file argument means
 * that file. A missing path is reported and skipped, like any other bad input.
 */
export async function collectImageFiles(inputs: readonly string[]): Promise<CollectedFiles> {
  const files: string[] = [];
  const errors: InputError[] = [];
  const emptyFolders: string[] = [];
  const taken = new Set<string>();
  const take = async (path: string): Promise<void> => {
    const key = await realpath(path).catch(() => path);
    if (taken.has(key)) return;
    taken.add(key);
    files.push(path);
  };
  for (const input of inputs) {
    let info: Stats;
    try {
      info = await stat(input);
    } catch (cause) {
      errors.push(statError(input, cause));
      continue;
    }
    if (info.isDirectory()) {
      const found = await walkImages(input, errors);
      if (found.length === 0) emptyFolders.push(input);
      for (const f of found) await take(f);
    } else {
      await take(input);
    }
  }
  return { files, errors, emptyFolders };
}

/** The photos to analyse: collectImageFiles, its problems reported on stderr (and returned), empty folders warned about. */
export async function collectPhotos(inputs: readonly string[]): Promise<{ files: string[]; errors: InputError[] }> {
  const collected = await collectImageFiles(inputs);
  collected.errors.forEach(reportInputError);
  for (const dir of collected.emptyFolders) warn(`No image files found in ${dir}.`);
  return { files: collected.files, errors: [...collected.errors] };
}

/** One known person's photos, face_recognition's layout plus one folder per person. */
export interface KnownPerson {
  readonly name: string;
  readonly files: string[];
}

/**
 * Known people in `dir`: an image directly inside is one person named after the file (without
 * extension); a first-level sub-folder is one person named after the folder, holding any number
 * of photos (walked recursively). Returns people sorted by name, photos sorted by path.
 */
export async function collectKnownPeople(dir: string, errors: InputError[]): Promise<KnownPerson[]> {
  const byPerson = new Map<string, string[]>();
  const add = (name: string, files: string[]): void => {
    const list = byPerson.get(name) ?? [];
    list.push(...files);
    byPerson.set(name, list);
  };
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (cause) {
    const e = statError(dir, cause);
    throw new FaceKitError(e.code === 'FILE_NOT_FOUND' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE', e.message, {
      file: dir,
      cause,
    });
  }
  const seen = new Set<string>([await realpath(dir)]);
  for await (const { name, path, isDirectory } of visibleEntries(dir, names)) {
    if (isDirectory) add(name, await walkImages(path, errors, seen));
    else if (isImageName(name)) add(basename(name, extname(name)), [path]);
  }
  return [...byPerson.entries()]
    .filter(([, files]) => files.length > 0)
    .map(([name, files]) => ({ name, files: files.sort(byName) }))
    .sort((a, b) => byName(a.name, b.name));
}
