/** `facekit calibrate --far 0.001 [--from labelled/]`: thresholds with a known false-accept rate, stored in the gallery. */
import { stat } from 'node:fs/promises';
import type { DetectorName } from '../entry/detect.js';
import { FaceKitError } from '../errors.js';
import type { CalibrationRecord, LabelledFaces } from '../entry/gallery.js';
import { collectKnownPeople, type InputError } from './files.js';
import { singleFace } from '../pipeline/enroll.js';
import { withGallery, type DbCliOptions } from './gallery.js';
import { DISTANCE_DECIMALS, printJson, printLine, reportInputError, round, warn } from './output.js';
import { analyzeFiles, recordFailure, type CpuChoice } from './analyze.js';
import { analyzerSettings, type AnalysisCliOptions } from './analysis-options.js';
import { startProgress } from './progress.js';

export interface CalibrateCliOptions extends DbCliOptions, AnalysisCliOptions {
  far: number[];
  from?: string;
  cpus?: CpuChoice;
  model: DetectorName;
  json?: boolean;
}

/** Faces of a labelled folder (`<person>/*.jpg`): the largest face of each photo, named after its folder. */
async function labelledFaces(dir: string, opts: CalibrateCliOptions, errors: InputError[]): Promise<LabelledFaces> {
  const info = await stat(dir).catch(() => null);
  if (!info) throw new FaceKitError('FILE_NOT_FOUND', 'labelled folder does not exist', { file: dir, field: 'from' });
  if (!info.isDirectory())
    throw new FaceKitError('INVALID_ARGUMENT', 'is not a folder: give a folder of <person>/ sub-folders of photos', {
      file: dir,
      field: 'from',
    });
  const people = await collectKnownPeople(dir, errors);
  const files = people.flatMap((p) => p.files);
  const nameOf = new Map(people.flatMap((p) => p.files.map((f) => [f, p.name] as const)));
  const descriptors: Float32Array[] = [];
  const names: string[] = [];
  const progress = startProgress(files.length, opts);
  await analyzeFiles(analyzerSettings(opts, 'analyze'), opts.cpus, files, (r) => {
    progress.tick(r);
    if (recordFailure(r, errors)) return;
    const face = singleFace(r, true, errors);
    if (!face) return reportInputError(errors[errors.length - 1]);
    descriptors.push(face.descriptor as Float32Array);
    names.push(nameOf.get(r.file) as string);
  });
  progress.finish({ people: new Set(names).size, errors: errors.length });
  return { descriptors, names, source: dir };
}

const r6 = (x: number | null): number | null => (x === null ? null : round(x, DISTANCE_DECIMALS));

function summary(c: CalibrationRecord) {
  return {
    far: c.far,
    pairThreshold: r6(c.pairThreshold),
    searchThreshold: r6(c.searchThreshold),
    impostorPairs: c.impostors.total,
    searchProbes: c.searchImpostors?.total ?? 0,
    genuinePairs: c.genuine.total,
    source: c.source,
    people: c.people,
    faces: c.faces,
    createdAt: c.createdAt,
  };
}

export async function runCalibrate(opts: CalibrateCliOptions): Promise<number> {
  const errors: InputError[] = [];
  const from = opts.from === undefined ? undefined : await labelledFaces(opts.from, opts, errors);
  // Calibrating on a labelled folder may come before any enrolment; from the gallery it may not.
  return withGallery(opts, from !== undefined, async (gallery) => {
    const records = await gallery.calibrate({ far: opts.far, from });
    const rows = records.map(summary);
    if (opts.json) {
      printJson({ db: gallery.file, calibrations: rows, errors });
    } else {
      printLine('far       pair threshold  search threshold  impostor pairs  search probes  genuine pairs');
      for (const r of rows) {
        const search = r.searchThreshold === null ? 'too few probes' : r.searchThreshold.toFixed(4);
        printLine(
          `${String(r.far).padEnd(8)}  ${r.pairThreshold?.toFixed(4).padStart(14)}  ${search.padStart(16)}  ${String(r.impostorPairs).padStart(14)}  ${String(r.searchProbes).padStart(13)}  ${String(r.genuinePairs).padStart(13)}`,
        );
      }
      printLine(
        `stored in ${gallery.file}; identify uses the search threshold at FAR ${rows[0].far} (pair threshold when there is none), verify the pair threshold`,
      );
    }
    if (rows.some((r) => r.searchThreshold === null)) {
      warn(
        `too few search probes for some rates (a rate f needs 5/f): give --from a labelled folder with more people, or use a larger --far`,
      );
    }
    return errors.length > 0 ? 1 : 0;
  });
}
