import { constants } from 'node:fs';
import { lstat, mkdir, open, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FaceKitError, invalidArgument } from '../errors.js';
import { checkNotPseudoFs } from './pseudo-fs.js';

/**
 * O_CREAT|O_EXCL: the file must not exist, and a symlink in its place is not followed (open fails
 * on it, wherever it points): `ln -s ../victim.txt out/photo.jpg` cannot redirect a write.
 * O_NOFOLLOW says the same for the last component a second time.
 */
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Makes (or accepts) the folder `dir` for a command's output files and proves it writable by
 * creating and removing a probe file, so that a folder that cannot take the results fails before
 * the work, not after it. '' is refused: it would mean the current folder. `failure` starts the
 * message when the folder cannot take files ("cannot create the folder for face crops").
 */
export async function prepareOutputFolder(dir: string, failure: string, field = 'out'): Promise<void> {
  if (typeof dir !== 'string' || dir.trim() === '')
    throw invalidArgument(field, 'is empty: give a folder for the output files');
  checkNotPseudoFs(dir, field);
  try {
    await mkdir(dir, { recursive: true });
    const probe = join(dir, `.facekit-probe-${process.pid}`);
    await (await open(probe, NEW_FILE, 0o600)).close();
    await unlink(probe);
  } catch (cause) {
    throw new FaceKitError('FILE_UNWRITABLE', `${failure} (${errnoOf(cause)})`, {
      file: resolve(dir),
      field,
      cause,
    });
  }
}

/** A folder inside an output folder: made if missing; a symlink or file in its place is refused. */
export async function makeOutputSubfolder(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new FaceKitError('FILE_UNWRITABLE', `cannot create the folder (${errnoOf(cause)})`, { file: dir, cause });
  }
  const stat = await lstat(dir);
  if (!stat.isDirectory())
    throw new FaceKitError('FILE_UNWRITABLE', 'is in the way: a symlink or file where an output folder belongs', {
      file: dir,
    });
}

/**
 * Writes `bytes` to a new file at `path`. An existing file (or symlink) there is refused with
 * FILE_EXISTS unless `replace`, which removes it first (the link itself, never its target).
 */
export async function writeNewFile(path: string, bytes: Uint8Array, replace: boolean): Promise<void> {
  try {
    if (replace)
      await unlink(path).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
    const handle = await open(path, NEW_FILE, 0o644);
    try {
      await handle.writeFile(bytes);
    } finally {
      await handle.close();
    }
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ELOOP')
      throw new FaceKitError('FILE_EXISTS', 'exists already: not replaced (give --force to replace it)', {
        file: path,
        cause,
      });
    throw new FaceKitError('FILE_UNWRITABLE', `cannot be written (${errnoOf(cause)})`, { file: path, cause });
  }
}

/**
 * `name` made unique among `taken` (which it is added to): photos of one name from different
 * folders would otherwise write one crop over the other. `a.jpg`, then `a-2.jpg`, `a-3.jpg`...
 */
export function uniqueName(name: string, taken: Set<string>): string {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  let candidate = name;
  for (let i = 2; taken.has(candidate); i++) candidate = `${stem}-${i}${ext}`;
  taken.add(candidate);
  return candidate;
}

function errnoOf(cause: unknown): string {
  return (cause as NodeJS.ErrnoException | undefined)?.code ?? String(cause);
}
