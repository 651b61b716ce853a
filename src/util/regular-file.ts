import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { FaceKitError } from '../errors.js';

/**
 * O_NONBLOCK makes open() return at once on a FIFO with no writer (a plain open blocks until one
 * comes, forever for `mkfifo x.jpg`), so the type check after it can refuse the file. On regular
 * files the flag changes nothing.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

export interface ReadRegularFileOptions {
  /** What errors call the file; defaults to the path. */
  readonly name?: string;
  /** Refuse files larger than this many bytes (from fstat, before reading); undefined or 0: no cap. */
  readonly maxBytes?: number;
}

/**
 * The bytes of a regular file. FIFOs, devices, sockets and folders are refused before a byte is
 * read (a read from /dev/zero or a pipe could last forever), and so is a file over `maxBytes`,
 * which is checked on the open handle, so a file swapped in between check and read changes nothing.
 */
export async function readRegularFile(path: string, options: ReadRegularFileOptions = {}): Promise<Buffer> {
  const name = options.name ?? path;
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (cause) {
    throw fileError(cause, name);
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new FaceKitError('FILE_UNREADABLE', 'is a directory, not a file', { file: name });
    if (!stat.isFile())
      throw new FaceKitError('FILE_UNREADABLE', `is a ${kindOf(stat)}, not a regular file`, { file: name });
    if (options.maxBytes && stat.size > options.maxBytes) throw tooLarge(stat.size, options.maxBytes, name);
    const bytes = await handle.readFile();
    // A file still growing after the fstat (being written or appended) is held to the same cap.
    if (options.maxBytes && bytes.length > options.maxBytes) throw tooLarge(bytes.length, options.maxBytes, name);
    return bytes;
  } catch (cause) {
    throw cause instanceof FaceKitError ? cause : fileError(cause, name);
  } finally {
    await handle.close();
  }
}

function tooLarge(size: number, maxBytes: number, name: string): FaceKitError {
  return new FaceKitError(
    'IMAGE_TOO_LARGE',
    `is ${size} bytes, above the limit of ${maxBytes} (raise maxFileBytes to accept it)`,
    { file: name },
  );
}

function kindOf(stat: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (stat.isFIFO()) return 'named pipe (FIFO)';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'device';
  return 'socket or other special file';
}

/** A file-system error as FILE_NOT_FOUND or FILE_UNREADABLE naming the file. */
export function fileError(cause: unknown, name: string): FaceKitError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return new FaceKitError('FILE_NOT_FOUND', 'no such file', { file: name, cause });
  if (code === 'EISDIR')
    return new FaceKitError('FILE_UNREADABLE', 'is a directory, not a file', { file: name, cause });
  return new FaceKitError('FILE_UNREADABLE', `cannot be read (${code ?? String(cause)})`, { file: name, cause });
}
