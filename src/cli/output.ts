import { availableParallelism } from 'node:os';
import { InvalidArgumentError, Option } from 'commander';
import { MAX_TOLERANCE } from '../entry/match.js';
import {
  checkDetectorName,
  DEFAULT_DETECTOR,
  DETECTOR_CHOICES,
  DETECTOR_NAMES,
  DETECTORS,
  HOG_MAX_UPSAMPLE,
} from '../entry/detect.js';
import { PRECISIONS } from '../entry/models.js';
import type { Box, Point } from '../index.js';
import { forTerminal, lineForTerminal } from '../util/terminal-text.js';
import type { InputError } from './files.js';

/**
 * Decimals kept in machine output: a hundredth of a pixel is below any detector's precision,
 * four places of score separate every threshold anyone sets, and six places of distance are
 * what face_recognition users compare against.
 */
export const PIXEL_DECIMALS = 2;
export const SCORE_DECIMALS = 4;
export const DISTANCE_DECIMALS = 6;

export function round(n: number, decimals: number): number {
  const k = 10 ** decimals;
  return Math.round(n * k) / k;
}

export const roundBox = (b: Box): Box => ({
  x: round(b.x, PIXEL_DECIMALS),
  y: round(b.y, PIXEL_DECIMALS),
  width: round(b.width, PIXEL_DECIMALS),
  height: round(b.height, PIXEL_DECIMALS),
});

export const roundPoint = (p: Point): Point => ({ x: round(p.x, PIXEL_DECIMALS), y: round(p.y, PIXEL_DECIMALS) });

/**
 * face_recognition's (top, right, bottom, left), in whole pixels and trimmed to the image like
 * its `_trim_css_to_bounds`, so scripts written for `face_detection` read our lines unchanged.
 */
export function cssBox(box: Box, width: number, height: number): [number, number, number, number] {
  const top = Math.max(Math.round(box.y), 0);
  const right = Math.min(Math.round(box.x + box.width), width);
  const bottom = Math.min(Math.round(box.y + box.height), height);
  const left = Math.max(Math.round(box.x), 0);
  return [top, right, bottom, left];
}

/** face_recognition's words for "a face nobody knows" and "no face at all"; scripts grep for them. */
export const UNKNOWN_PERSON = 'unknown_person';
export const NO_PERSONS_FOUND = 'no_persons_found';

export const DEFAULT_DEMO_DIR = './facekit-demo';

/** One line of human output; file and person names in it cannot steer the terminal (see forTerminal). */
export function printLine(line: string): void {
  process.stdout.write(`${lineForTerminal(line)}\n`);
}

export function printJson(doc: unknown): void {
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}

/** A skipped input, as `file: message` on stderr; the run goes on. */
export function reportInputError(e: InputError): void {
  process.stderr.write(`${forTerminal(e.file)}: ${forTerminal(e.message)}\n`);
}

export function warn(message: string): void {
  process.stderr.write(`WARNING: ${forTerminal(message)}\n`);
}

/** Status lines (model builds) go to stderr whenever stdout carries data a script may parse. */
export function note(message: string): void {
  process.stderr.write(`facekit: ${forTerminal(message)}\n`);
}

// Option parsers: commander turns InvalidArgumentError into "option '--x <n>' argument 'v' is invalid. <why>" and exit 1.

export function parseTolerance(value: string): number {
  const n = Number(value);
  // Above MAX_TOLERANCE every face matches every other: a typo (60 for 0.6) must not name everyone.
  if (value.trim() === '' || !(n > 0 && n <= MAX_TOLERANCE))
    throw new InvalidArgumentError(
      `must be a number above 0 and at most ${MAX_TOLERANCE}, e.g. 0.6 (lower is stricter).`,
    );
  return n;
}

/** [0, 1), as every detector takes it: a score is at most 1, so a threshold of 1 would find nothing in any photo. */
export function parseConfidence(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n < 1))
    throw new InvalidArgumentError('must be a number from 0 up to, not including, 1.');
  return n;
}

export function parseCpus(value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || (n < 1 && n !== -1))
    throw new InvalidArgumentError('must be a positive integer, or -1 for every core.');
  return capCpus(n, availableParallelism(), note);
}

/**
 * The detector option. Spelled `--model` as face_recognition's CLI does (`--model hog|cnn`), at this
 * edge only: everywhere else the concept is `detector`.
 */
export function modelOption(): Option {
  return (
    new Option('--model <name>', `face detector: ${DETECTOR_NAMES.map((name) => DETECTORS[name].summary).join(', ')}`)
      .choices(DETECTOR_CHOICES)
      // After choices(), which lists the names in --help: an alias ('cnn') arrives as its detector's name.
      .argParser((value: string) => {
        if (!(DETECTOR_CHOICES as readonly string[]).includes(value))
          throw new InvalidArgumentError(`Allowed choices are ${DETECTOR_CHOICES.join(', ')}.`);
        return checkDetectorName(value, '--model');
      })
      .default(DEFAULT_DETECTOR)
  );
}

/** --embedder: the built-in dlib128 or an embedder `facekit train` saved in the model cache. */
export function embedderOption(): Option {
  return new Option(
    '--embedder <name>',
    "which embedder encodes faces: dlib128 (default) or a name 'facekit train --out' saved; a gallery holds one embedder's descriptors",
  );
}

export function precisionOption(): Option {
  return new Option(
    '--precision <p>',
    "network arithmetic: 'fp32' (the reference) or 'int8' (encoder and SSD about twice as fast, descriptors about 0.04 from fp32's)",
  )
    .choices(PRECISIONS)
    .default('fp32');
}

export function cpusOption(): Option {
  return new Option(
    '--cpus <n>',
    'worker threads analysing photos in parallel (-1 = one per core); default: one process whose inference uses every core',
  ).argParser(parseCpus);
}

export function jsonOption(): Option {
  return new Option('--json', 'print one JSON document instead of text');
}

/**
 * Workers beyond the cores only wait for each other: `--cpus 8` on 2 cores ran 3.9 times slower
 * with 3 times the memory (issue 17). More than the cores is capped, with a note saying so.
 */
export function capCpus(wanted: number, cores: number, tell: (message: string) => void): number {
  if (wanted <= cores) return wanted;
  tell(`--cpus ${wanted} is more than the ${cores} cores here; using ${cores}`);
  return cores;
}

/** face_recognition's --upsample: times the image is doubled before the HOG detector runs. */
export function upsampleOption(): Option {
  return new Option(
    '--upsample <n>',
    'with --model hog or cnn: times the photo is doubled first, 0 to 3 (default 1; more finds smaller faces, ~4x slower each)',
  ).argParser(parseUpsample);
}

export function parseUpsample(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > HOG_MAX_UPSAMPLE)
    throw new InvalidArgumentError(`must be an integer from 0 to ${HOG_MAX_UPSAMPLE}.`);
  return n;
}
