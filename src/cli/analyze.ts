import {
  type AnalyzerSettings,
  analyzeFiles as analyzeInputs,
  type CpuChoice,
  type FileResult,
  type ResultSink,
} from '../pipeline/batch.js';
import type { InputError } from './files.js';
import { note, reportInputError, warn } from './output.js';

/** The CLI's side of a batch run: the pipeline's runner, with status lines and warnings on stderr. */

export type { AnalyzerSettings, CpuChoice, FaceData, FileResult } from '../pipeline/batch.js';
export { batchKit, largestFace, requiredModels } from '../pipeline/batch.js';

/** Runs `files` through the pipeline, saying on stderr what the user should know while it runs. */
export function analyzeFiles(
  settings: AnalyzerSettings,
  cpus: CpuChoice,
  files: readonly string[],
  onResult: ResultSink,
): Promise<void> {
  return analyzeInputs(settings, cpus, files, onResult, { onNote: note, onWarning: warn });
}

/** True for a file the pipeline could not read, after recording it in `errors` and reporting it on stderr. */
export function recordFailure(r: FileResult, errors: InputError[]): r is Extract<FileResult, { ok: false }> {
  if (r.ok) return false;
  errors.push(r.error);
  reportInputError(r.error);
  return true;
}
