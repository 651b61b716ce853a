/** The gallery commands' option parsing; light, so that --help never loads the search code. */
import { InvalidArgumentError, Option } from 'commander';
import { FaceKitError, invalidArgument } from '../errors.js';
import { checkMetadataKey, defaultGalleryPath, GALLERY_ENV } from '../entry/gallery.js';
import { checkFar } from '../entry/match.js';
import { printJson } from './output.js';

export interface DbCliOptions {
  db?: string;
  /** The embedder the command encodes with: the gallery must hold its descriptors. */
  embedder?: string;
}

export function dbOption(): Option {
  return new Option(
    '--db <file|url>',
    `gallery file or postgres:// URL (default: $${GALLERY_ENV}, else ${defaultGalleryPath({})})`,
  );
}

/** `--far 0.01,0.001`: one or more false-accept rates. */
export function parseFars(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  return parts.map((p) => {
    const n = Number(p);
    try {
      if (p === '') throw new Error();
      return checkFar(n);
    } catch {
      throw new InvalidArgumentError(
        'must be false-accept rates above 0 and below 0.5, comma-separated, e.g. 0.001 or 0.01,0.001.',
      );
    }
  });
}

export function parseFar(value: string): number {
  const fars = parseFars(value);
  if (fars.length !== 1) throw new InvalidArgumentError('must be one false-accept rate, e.g. 0.001.');
  return fars[0];
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) throw new InvalidArgumentError('must be a positive integer.');
  return n;
}

/** A CLI value in seconds (how users type timeouts) as the milliseconds the library takes; left out stays left out. */
export function msFromSeconds(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : seconds * 1000;
}

/** `key=value` as typed after `people set` or `--meta`: the key up to the first `=`, trimmed; the value as typed, kept as a string. */
export function parseMetaPair(pair: string, field = 'metadata'): [string, string] {
  const at = pair.indexOf('=');
  const key = at < 0 ? '' : pair.slice(0, at).trim();
  if (key === '') throw invalidArgument(field, `"${pair}" is not key=value (e.g. team=research)`);
  checkMetadataKey(key, field);
  return [key, pair.slice(at + 1)];
}

/** `--meta key=value`, repeatable: the pairs collected into one object. */
export function collectMeta(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  try {
    const [key, v] = parseMetaPair(value, '--meta');
    return { ...previous, [key]: v };
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.replace(/^--meta: /, ''));
  }
}

/** A repeatable option's values, in order. */
export function collectValues(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A fatal error as `--json` prints it. */
export function errorJson(e: unknown): { code: string; message: string; file?: string; field?: string } {
  if (!(e instanceof FaceKitError)) return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
  return {
    code: e.code,
    message: e.message,
    ...(e.file === undefined ? {} : { file: e.file }),
    ...(e.field === undefined ? {} : { field: e.field }),
  };
}

/**
 * Runs a gallery command; under --json a fatal error also goes to stdout as one `{ error }`
 * object, so a script reading stdout learns why there is no answer. The error is then thrown
 * on for main to print on stderr and set the exit code.
 */
export async function withJsonErrors(json: boolean | undefined, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (e) {
    if (json === true) printJson({ error: errorJson(e) });
    throw e;
  }
}
