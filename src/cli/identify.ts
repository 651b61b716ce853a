import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { FaceKitError } from '../errors.js';
import { rankPeople, type KnownFace, type PersonDistance } from '../entry/match.js';
import type { Box } from '../index.js';
import { collectKnownPeople, collectPhotos, type InputError, type KnownPerson } from './files.js';
import {
  DISTANCE_DECIMALS,
  NO_PERSONS_FOUND,
  printJson,
  printLine,
  reportInputError,
  round,
  roundBox,
  SCORE_DECIMALS,
  UNKNOWN_PERSON,
  note,
  warn,
} from './output.js';
import { analyzeFiles, largestFace, recordFailure, type CpuChoice, type FaceData, type FileResult } from './analyze.js';
import { analyzerSettings, type AnalysisCliOptions } from './analysis-options.js';
import {
  describeThreshold,
  identifyThreshold,
  matchesWithin,
  printAllMatches,
  type IdentifyThreshold,
} from './identify-threshold.js';
import { startProgress } from './progress.js';

export interface IdentifyCliOptions extends AnalysisCliOptions {
  /** Absent: the built-in open-set threshold for `far` over the known people. */
  tolerance?: number;
  far?: number;
  allMatches?: boolean;
  showDistance?: boolean;
  cpus?: CpuChoice;
  json?: boolean;
}

interface IdentifiedFace {
  box: Box;
  score: number;
  /** The closest person when within tolerance, else null. */
  name: string | null;
  distance: number;
  /** Closest known person whatever the distance: says who an unknown face resembled. */
  nearest: string;
  runnerUp: PersonDistance | null;
  /** With --all-matches: every known photo within the threshold, as face_recognition lists them. */
  matches?: PersonDistance[];
}

function identifyFace(face: FaceData, known: readonly KnownFace[], tolerance: number, all: boolean): IdentifiedFace {
  const ranked = rankPeople(known, face.descriptor as Float32Array);
  const [first, second] = ranked;
  return {
    ...(all ? { matches: matchesWithin(known, face.descriptor as Float32Array, tolerance) } : {}),
    box: roundBox(face.box),
    score: round(face.score, SCORE_DECIMALS),
    name: first.distance <= tolerance ? first.name : null,
    distance: round(first.distance, DISTANCE_DECIMALS),
    nearest: first.name,
    runnerUp: second ? { name: second.name, distance: round(second.distance, DISTANCE_DECIMALS) } : null,
  };
}

/** face_recognition's lines for one photo: `file,name[,distance]` per face, or `file,no_persons_found[,None]`. */
export function printFaceLines(
  file: string,
  faces: readonly { name: string | null; distance: number }[],
  showDistance: boolean,
): void {
  if (faces.length === 0) printLine(showDistance ? `${file},${NO_PERSONS_FOUND},None` : `${file},${NO_PERSONS_FOUND}`);
  for (const f of faces) {
    const name = f.name ?? UNKNOWN_PERSON;
    printLine(showDistance ? `${file},${name},${f.distance.toFixed(DISTANCE_DECIMALS)}` : `${file},${name}`);
  }
}

async function checkKnownDir(dir: string): Promise<void> {
  let info: Stats;
  try {
    info = await stat(dir);
  } catch {
    throw new FaceKitError('FILE_NOT_FOUND', 'known-people folder does not exist', { file: dir });
  }
  if (!info.isDirectory()) {
    throw new FaceKitError(
      'INVALID_ARGUMENT',
      'is not a folder: give a folder of known people (<name>.jpg files or <name>/ sub-folders)',
      { file: dir, field: 'known_dir' },
    );
  }
}

export async function runIdentify(knownDir: string, paths: string[], opts: IdentifyCliOptions): Promise<number> {
  const json = opts.json === true;
  let threshold: IdentifyThreshold | undefined;
  await checkKnownDir(knownDir);
  const errors: InputError[] = [];
  const people: KnownPerson[] = await collectKnownPeople(knownDir, errors);
  if (people.length === 0) {
    throw new FaceKitError(
      'INVALID_ARGUMENT',
      'holds no photos of known people: put <name>.jpg files or <name>/ sub-folders of photos in it',
      { file: knownDir, field: 'known_dir' },
    );
  }
  errors.forEach(reportInputError);
  const unknown = await collectPhotos(paths);
  errors.push(...unknown.errors);

  const knownFiles = people.flatMap((p) => p.files);
  const nameOf = new Map(people.flatMap((p) => p.files.map((f) => [f, p.name] as const)));
  const known: KnownFace[] = [];
  const noUsableFace = (): FaceKitError =>
    new FaceKitError('INVALID_ARGUMENT', 'holds no usable face of a known person (see the warnings above)', {
      file: knownDir,
      field: 'known_dir',
    });

  const takeKnown = (r: FileResult): void => {
    if (recordFailure(r, errors)) return;
    if (r.faces.length === 0) {
      warn(`No faces found in ${r.file}. Ignoring file.`);
      return;
    }
    if (r.faces.length > 1) warn(`More than one face found in ${r.file}. Only considering the largest face.`);
    known.push({
      name: nameOf.get(r.file) as string,
      file: r.file,
      descriptor: largestFace(r.faces).descriptor as Float32Array,
    });
  };

  const results: { file: string; width: number; height: number; faces: IdentifiedFace[] }[] = [];
  const takeUnknown = (r: FileResult): void => {
    if (recordFailure(r, errors)) return;
    // Every known face is in by the first unknown one (results arrive in input order): the threshold can count the people.
    if (threshold === undefined) {
      threshold = identifyThreshold(known, opts);
      if (!opts.quiet) note(describeThreshold(threshold));
    }
    const t = threshold.value;
    const faces = r.faces.map((f) => identifyFace(f, known, t, opts.allMatches === true));
    if (json) {
      results.push({ file: r.file, width: r.width, height: r.height, faces });
      return;
    }
    if (opts.allMatches && faces.length > 0) printAllMatches(r.file, faces, opts.showDistance === true);
    else printFaceLines(r.file, faces, opts.showDistance === true);
  };

  // Known and unknown photos go through one queue so no worker idles between the two; results
  // arrive in input order, so every known face is in before the first unknown one is matched.
  const progress = startProgress(knownFiles.length + unknown.files.length, opts);
  await analyzeFiles(analyzerSettings(opts, 'analyze'), opts.cpus, [...knownFiles, ...unknown.files], (r, index) => {
    progress.tick(r);
    if (index < knownFiles.length) return takeKnown(r);
    if (known.length === 0) throw noUsableFace();
    takeUnknown(r);
  });
  if (known.length === 0) throw noUsableFace();
  threshold ??= identifyThreshold(known, opts);
  progress.finish({ people: new Set(known.map((k) => k.name)).size, errors: errors.length });

  if (json) {
    const used = people
      .map((p) => ({ name: p.name, files: known.filter((k) => k.name === p.name).map((k) => k.file) }))
      .filter((p) => p.files.length > 0);
    printJson({ tolerance: threshold.value, threshold, known: used, results, errors });
  }
  return errors.length > 0 ? 1 : 0;
}
