/** `facekit identify --db <file> <paths...>`: the people in photos, from the gallery instead of a folder. */
import type { DetectorName } from '../entry/detect.js';
import type { Precision } from '../entry/models.js';
import { FaceKitError } from '../errors.js';
import type { Aggregation } from '../entry/match.js';
import type { Box } from '../index.js';
import { collectPhotos } from './files.js';
import { thresholdJson, warnAboutThreshold, withGallery, type DbCliOptions } from './gallery.js';
import { printFaceLines } from './identify.js';
import { DISTANCE_DECIMALS, printJson, round, roundBox, SCORE_DECIMALS, warn } from './output.js';
import { analyzeFiles, recordFailure, type CpuChoice, type FileResult } from './analyze.js';
import { analyzerSettings, type AnalysisCliOptions } from './analysis-options.js';
import { startProgress } from './progress.js';

export interface IdentifyGalleryCliOptions extends DbCliOptions, AnalysisCliOptions {
  /** Set only when the user gave --tolerance: it then overrides the calibrated threshold. */
  threshold?: number;
  far?: number;
  k?: number;
  aggregate?: Aggregation;
  showDistance?: boolean;
  cpus?: CpuChoice;
  model: DetectorName;
  precision?: Precision;
  json?: boolean;
}

interface GalleryFace {
  box: Box;
  score: number;
  name: string | null;
  distance: number;
  nearest: string;
  faceId: number;
  confidence: number | null;
  margin: number | null;
  votes: number;
  runnerUp: { name: string; distance: number } | null;
}

const round6 = (x: number): number => round(x, DISTANCE_DECIMALS);

export async function runIdentifyGallery(paths: string[], opts: IdentifyGalleryCliOptions): Promise<number> {
  const json = opts.json === true;
  const { files, errors } = await collectPhotos(paths);

  return withGallery(opts, 'read', async (gallery) => {
    const t = await gallery.threshold({ threshold: opts.threshold, far: opts.far }, 'search');
    // An empty gallery fails here, before any photo is analysed.
    const info = await gallery.indexInfo();
    if (info.faces === 0)
      throw new FaceKitError('GALLERY_EMPTY', 'the gallery holds nobody yet: enrol people first (facekit enroll)', {
        file: gallery.file,
      });
    warnAboutThreshold(t, info.faces, 'identify');
    if (opts.aggregate === 'mean' && t.source === 'calibration') {
      warn(
        `--aggregate mean compares a mean of distances with a threshold calibrated on nearest-face distances: it accepts fewer people than FAR ${t.far} says, and its confidences are only indicative (best and vote match the calibration)`,
      );
    }

    const results: { file: string; width: number; height: number; faces: GalleryFace[] }[] = [];
    let chain: Promise<void> = Promise.resolve();
    const take = (r: FileResult): void => {
      if (recordFailure(r, errors)) return;
      // Matching waits for the gallery's own queue; printing stays in input order through the chain.
      chain = chain.then(async () => {
        const answers =
          r.faces.length === 0
            ? []
            : await gallery.identify(
                r.faces.map((f) => f.descriptor as Float32Array),
                { k: opts.k, aggregate: opts.aggregate, threshold: opts.threshold, far: opts.far },
              );
        const faces: GalleryFace[] = answers.map((a, i) => ({
          box: roundBox(r.faces[i].box),
          score: round(r.faces[i].score, SCORE_DECIMALS),
          name: a.person,
          distance: round6(a.distance),
          nearest: a.nearest,
          faceId: a.faceId,
          confidence: a.confidence === null ? null : round(a.confidence, SCORE_DECIMALS),
          margin: a.margin === null ? null : round6(a.margin),
          votes: a.votes,
          runnerUp: a.runnerUp ? { name: a.runnerUp.person, distance: round6(a.runnerUp.distance) } : null,
        }));
        if (json) results.push({ file: r.file, width: r.width, height: r.height, faces });
        else printFaceLines(r.file, faces, opts.showDistance === true);
      });
    };
    if (files.length > 0) {
      try {
        const progress = startProgress(files.length, opts);
        await analyzeFiles(analyzerSettings(opts, 'analyze'), opts.cpus, files, (r) => {
          progress.tick(r);
          take(r);
        });
        progress.finish({ errors: errors.length });
      } finally {
        await chain;
      }
    }
    if (json)
      printJson({
        db: gallery.file,
        index: info.mode,
        faces: info.faces,
        threshold: thresholdJson(t),
        aggregate: opts.aggregate ?? 'best',
        results,
        errors,
      });
    return errors.length > 0 ? 1 : 0;
  });
}
