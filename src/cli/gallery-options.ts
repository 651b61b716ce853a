/** The gallery commands' option parsing; light, so that --help never loads the search code. */
import { InvalidArgumentError, Option } from 'commander';
import { checkFar } from '../match/calibrate.js';
import { defaultGalleryPath, GALLERY_ENV } from '../gallery/paths.js';

export interface DbCliOptions {
  db?: string;
}

export function dbOption(): Option {
  return new Option('--db <file>', `gallery file (default: $${GALLERY_ENV}, else ${defaultGalleryPath({})})`);
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
      throw new InvalidArgumentError('must be false-accept rates above 0 and below 0.5, comma-separated, e.g. 0.001 or 0.01,0.001.');
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
