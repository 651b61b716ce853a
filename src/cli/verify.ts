/** `facekit verify a.jpg b.jpg`: same person or not, the distance, and the threshold that decided. */
import type { DetectorName } from '../entry/detect.js';
import { embedderEntry } from '../entry/embed.js';
import type { Precision } from '../entry/models.js';
import { DEFAULT_PAIR_THRESHOLD, verifyDescriptors, type PairThreshold } from '../entry/match.js';
import type { InputError } from './files.js';
import { singleFace } from '../pipeline/enroll.js';
import { thresholdJson, warnAboutThreshold, withGallery, type DbCliOptions } from './gallery.js';
import {
  DISTANCE_DECIMALS,
  printJson,
  printLine,
  reportInputError,
  round,
  roundBox,
  SCORE_DECIMALS,
  warn,
} from './output.js';
import { analyzeFiles, type FaceData } from './analyze.js';
import { analyzerSettings, type AnalysisCliOptions } from './analysis-options.js';

export interface VerifyCliOptions extends DbCliOptions, AnalysisCliOptions {
  /** Set only when the user gave --tolerance. */
  threshold?: number;
  far?: number;
  model: DetectorName;
  precision?: Precision;
  json?: boolean;
}

async function pairThreshold(opts: VerifyCliOptions): Promise<PairThreshold> {
  // The gallery is consulted only when asked for: a plain verify needs no database.
  if (opts.db === undefined && opts.far === undefined) {
    if (opts.threshold !== undefined) return { value: opts.threshold, source: 'option', far: null, calibration: null };
    // A tuned embedder decides at its own threshold, the one its validation people gave it.
    if (opts.embedder !== undefined)
      return { ...DEFAULT_PAIR_THRESHOLD, value: embedderEntry(opts.embedder, '--embedder').thresholds.match };
    return DEFAULT_PAIR_THRESHOLD;
  }
  return withGallery(opts, 'read', async (g) => {
    const t = await g.threshold({ threshold: opts.threshold, far: opts.far }, 'pair');
    warnAboutThreshold(t, g.size, 'verify');
    return t;
  });
}

export async function runVerify(a: string, b: string, opts: VerifyCliOptions): Promise<number> {
  const threshold = await pairThreshold(opts);
  const problems: InputError[] = [];
  const faces: (FaceData | null)[] = [null, null];
  await analyzeFiles(analyzerSettings(opts, 'analyze'), undefined, [a, b], (r, i) => {
    if (!r.ok) {
      problems.push(r.error);
      return;
    }
    const face = singleFace(r, true, problems);
    if (face && r.faces.length > 1) warn(`More than one face found in ${r.file}. Only considering the largest face.`);
    faces[i] = face;
  });
  problems.forEach(reportInputError);
  const [fa, fb] = faces;
  if (!fa || !fb) {
    if (opts.json) printJson({ same: null, errors: problems });
    return 1;
  }
  const v = verifyDescriptors(fa.descriptor as Float32Array, fb.descriptor as Float32Array, threshold);
  const distance = round(v.distance, DISTANCE_DECIMALS);
  if (opts.json) {
    const face = (file: string, f: FaceData) => ({ file, box: roundBox(f.box), score: round(f.score, SCORE_DECIMALS) });
    printJson({
      a: face(a, fa),
      b: face(b, fb),
      same: v.same,
      distance,
      threshold: thresholdJson({ ...threshold, level: threshold.calibration ? 'pair' : null }),
      confidence: v.confidence === null ? null : round(v.confidence, SCORE_DECIMALS),
      errors: problems,
    });
  } else {
    printLine(`${a},${b},${v.same ? 'same' : 'different'},${distance.toFixed(DISTANCE_DECIMALS)},${v.threshold}`);
  }
  return 0;
}
