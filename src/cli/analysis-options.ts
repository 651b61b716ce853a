/**
 * The options every command that analyses photos shares (issue 17): which detector, at which
 * precision and score threshold, whether misses are retried, and how loud the run is. One place
 * turns them into the analyzer's settings, so a new flag reaches every command at once.
 */
import { type Command, Option } from 'commander';
import type { DetectorName } from '../entry/detect.js';
import type { Precision } from '../entry/models.js';
import {
  cpusOption,
  embedderOption,
  jsonOption,
  modelOption,
  parseConfidence,
  precisionOption,
  upsampleOption,
} from './output.js';
import { quietOption } from './progress.js';
import { parsePositiveInt } from './gallery-options.js';
import type { AnalyzerSettings, Stage } from '../pipeline/batch.js';

export interface AnalysisCliOptions {
  model: DetectorName;
  precision?: Precision;
  minConfidence?: number;
  /** commander's `--no-retry`: false when given, else true. */
  retry?: boolean;
  quiet?: boolean;
  /** HOG and MMOD: face_recognition's number_of_times_to_upsample. */
  upsample?: number;
  /** --embedder: which embedder encodes (a tuned one by its name). */
  embedder?: string;
}

export function analyzerSettings(opts: AnalysisCliOptions, stage: Stage): AnalyzerSettings {
  return {
    detector: opts.model,
    precision: opts.precision,
    minConfidence: opts.minConfidence,
    retryOnMiss: opts.retry !== false,
    upsample: opts.upsample,
    embedder: opts.embedder,
    stage,
  };
}

export function noRetryOption(): Option {
  return new Option(
    '--no-retry',
    'answer "no face" after the chosen detector alone (by default a miss is retried with tiny at other sizes, SSD and MTCNN)',
  );
}

export function minConfidenceOption(): Option {
  return new Option(
    '--min-confidence <n>',
    'drop faces the detector scores below this (0 up to, not including, 1)',
  ).argParser(parseConfidence);
}

/** Adds `options` to `cmd`, in order. */
export function withOptions(cmd: Command, options: readonly Option[]): Command {
  for (const o of options) cmd.addOption(o);
  return cmd;
}

/**
 * The options of a command that runs photos through the whole pipeline (enroll, index, identify):
 * cores, detector and its settings, embedder, and how the run reports.
 */
export function photoAnalysisOptions(opts: { readonly upsample?: boolean } = {}): Option[] {
  return [
    cpusOption(),
    modelOption(),
    ...(opts.upsample ? [upsampleOption()] : []),
    precisionOption(),
    embedderOption(),
    minConfidenceOption(),
    noRetryOption(),
    quietOption(),
    jsonOption(),
  ];
}

/** --queue, --no-wait and --job-photos of a command whose photos can go to `facekit worker` processes as jobs. */
export function queueOptions(): Option[] {
  return [
    new Option(
      '--queue <redis-url>',
      'split the photos into jobs on this Redis queue for `facekit worker` processes (any hosts that see the same paths and --db), and follow them',
    ),
    new Option('--no-wait', 'with --queue: submit the jobs and return without following them'),
    new Option('--job-photos <n>', 'with --queue: photos per job (default 20)').argParser(parsePositiveInt),
  ];
}
