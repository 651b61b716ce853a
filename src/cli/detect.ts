import type { Box, Point } from '../index.js';
import { analyzerSettings, type AnalysisCliOptions } from './analysis-options.js';
import { startProgress } from './progress.js';
import { collectPhotos } from './files.js';
import { cssBox, printJson, printLine, round, roundBox, roundPoint, SCORE_DECIMALS } from './output.js';
import { analyzeFiles, recordFailure, type CpuChoice, type FaceData } from './analyze.js';

export interface DetectCliOptions extends AnalysisCliOptions {
  cpus?: CpuChoice;
  json?: boolean;
  landmarks?: boolean;
}

interface DetectedFile {
  file: string;
  width: number;
  height: number;
  faces: { box: Box; score: number; landmarks?: Point[]; landmarks5?: Point[] }[];
}

/** face_detection's line, `file,top,right,bottom,left`, then x,y of each landmark when asked for. */
function textLine(file: string, face: FaceData, width: number, height: number): string {
  const cells: (string | number)[] = [file, ...cssBox(face.box, width, height)];
  for (const p of face.landmarks ?? []) cells.push(Math.round(p.x), Math.round(p.y));
  return cells.join(',');
}

export async function runDetect(paths: string[], opts: DetectCliOptions): Promise<number> {
  const json = opts.json === true;
  const { files, errors } = await collectPhotos(paths);
  const settings = analyzerSettings(opts, opts.landmarks ? 'landmarks' : 'detect');
  const results: DetectedFile[] = [];
  if (files.length > 0) {
    const progress = startProgress(files.length, opts);
    await analyzeFiles(settings, opts.cpus, files, (r) => {
      progress.tick(r);
      if (recordFailure(r, errors)) return;
      if (json) {
        results.push({
          file: r.file,
          width: r.width,
          height: r.height,
          faces: r.faces.map((f) => ({
            box: roundBox(f.box),
            score: round(f.score, SCORE_DECIMALS),
            ...(f.landmarks ? { landmarks: f.landmarks.map(roundPoint) } : {}),
            ...(f.landmarks5 ? { landmarks5: f.landmarks5.map(roundPoint) } : {}),
          })),
        });
      } else {
        for (const face of r.faces) printLine(textLine(r.file, face, r.width, r.height));
      }
    });
    progress.finish({ errors: errors.length });
  }
  if (json) printJson({ results, errors });
  return errors.length > 0 ? 1 : 0;
}
