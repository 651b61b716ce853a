/**
 * `facekit find <face-photo> | --person NAME`: the photos of the photo index (`facekit index`)
 * where that face or that enrolled person appears, closest first, with the face's box and distance.
 */
import { FaceKitError, type FaceKitErrorCode, invalidArgument } from '../errors.js';
import type { IndexSearch } from '../entry/gallery.js';
import { type FileResult, largestFace } from '../pipeline/batch.js';
import { analyzeFiles, type CpuChoice } from './analyze.js';
import { analyzerSettings, type AnalysisCliOptions } from './analysis-options.js';
import { thresholdJson, withGallery, type DbCliOptions } from './gallery.js';
import { DISTANCE_DECIMALS, note, printJson, printLine, round, roundBox, warn } from './output.js';

export interface FindCliOptions extends DbCliOptions, AnalysisCliOptions {
  person?: string;
  /** --threshold: a distance that overrides the gallery's calibrated pair threshold. */
  threshold?: number;
  far?: number;
  limit?: number;
  cpus?: CpuChoice;
  json?: boolean;
}

/** The query photo's face: NO_FACE when it shows none; its largest, with a warning, when several. */
async function queryDescriptor(photo: string, opts: FindCliOptions): Promise<Float32Array> {
  let result: FileResult | null = null;
  await analyzeFiles(analyzerSettings({ ...opts, quiet: true }, 'analyze'), opts.cpus, [photo], (r) => {
    result = r;
  });
  const r = result as FileResult | null;
  if (r === null) throw new FaceKitError('INTERNAL', 'the query photo gave no result', { file: photo });
  if (!r.ok) throw new FaceKitError(r.error.code as FaceKitErrorCode, r.error.message, { file: photo, field: 'photo' });
  if (r.faces.length === 0)
    throw new FaceKitError('NO_FACE', 'no face found in the query photo', { file: photo, field: 'photo' });
  if (r.faces.length > 1) warn(`${photo}: ${r.faces.length} faces found; searching for the largest`);
  const descriptor = largestFace(r.faces).descriptor;
  if (descriptor === undefined) throw new FaceKitError('INTERNAL', 'analysed without a descriptor', { file: photo });
  return descriptor;
}

function print(found: IndexSearch, query: string, opts: FindCliOptions, db: string): void {
  const matches = found.matches.map((m) => ({
    file: m.sourceFile,
    distance: round(m.distance, DISTANCE_DECIMALS),
    face: m.faceNumber,
    box: roundBox(m.box),
    score: round(m.score, 4),
  }));
  if (opts.json === true) {
    printJson({
      db,
      query,
      threshold: thresholdJson(found.threshold),
      searched: { photos: found.photos, faces: found.faces },
      matches,
    });
    return;
  }
  // file,distance,top,right,bottom,left: detect's box columns, so the lines feed the same scripts.
  for (const m of matches)
    printLine(
      `${m.file},${m.distance.toFixed(DISTANCE_DECIMALS)},${Math.round(m.box.y)},${Math.round(m.box.x + m.box.width)},${Math.round(m.box.y + m.box.height)},${Math.round(m.box.x)}`,
    );
  if (opts.quiet !== true)
    note(
      `${matches.length} of ${found.photos} indexed photos with faces within ${found.threshold.value.toFixed(3)} (${found.threshold.source} threshold)`,
    );
}

export async function runFind(photo: string | undefined, opts: FindCliOptions): Promise<number> {
  if ((photo === undefined) === (opts.person === undefined))
    throw invalidArgument('photo', 'give a face photo or --person NAME (one of them)');
  return withGallery(opts, 'read', async (gallery) => {
    const stats = await gallery.photoIndexStats();
    if (stats.photos === 0)
      throw new FaceKitError(
        'INVALID_ARGUMENT',
        'the photo index is empty: index photos first (facekit index <folder>)',
        {
          file: gallery.file,
          field: 'db',
        },
      );
    const search = { threshold: opts.threshold, far: opts.far, limit: opts.limit };
    const found =
      opts.person !== undefined
        ? await gallery.searchIndexForPerson(opts.person, search)
        : await gallery.searchIndex([await queryDescriptor(photo as string, opts)], search);
    print(found, opts.person !== undefined ? `person:${opts.person}` : (photo as string), opts, gallery.file);
    return 0;
  });
}
