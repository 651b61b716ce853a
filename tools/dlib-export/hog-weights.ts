/**
 * Turns ./hog_export's JSON into src/detect/hog/frontal-face-weights.ts, the module facekit ships.
 *   ./hog_export > /tmp/hog.json && npx tsx tools/dlib-export/hog-weights.ts /tmp/hog.json
 * Only the separable filters are kept: hog_export reports that dlib scores all five filters with
 * them (scan_fhog_pyramid picks them when they are cheaper than the full 10×10×31 filters).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Plane {
  readonly full: number[];
  readonly rows: number[][];
  readonly cols: number[][];
}
interface Exported {
  readonly cellSize: number;
  readonly windowWidth: number;
  readonly windowHeight: number;
  readonly filterWidth: number;
  readonly filterHeight: number;
  readonly padding: number;
  readonly maxPyramidLevels: number;
  readonly minPyramidLayerWidth: number;
  readonly minPyramidLayerHeight: number;
  readonly nuclearNormRegularizationStrength: number;
  readonly nmsIouThreshold: number;
  readonly nmsPercentCoveredThreshold: number;
  readonly filters: readonly { threshold: number; separable: boolean; planes: Plane[] }[];
}

const input = process.argv[2];
if (input === undefined) throw new Error('usage: hog-weights.ts hog_export-output.json');
const model = JSON.parse(readFileSync(input, 'utf8')) as Exported;
if (!model.filters.every((f) => f.separable)) throw new Error('a filter is scored with its full form: not supported');

const here = dirname(fileURLToPath(import.meta.url));
const licence = readFileSync(join(here, '..', '..', 'src', 'detect', 'hog', 'LICENSE-dlib-Boost.txt'), 'utf8');
const numbers = (v: readonly number[]): string => `[${v.join(',')}]`;
const filters = model.filters.map(
  (f) =>
    `  {\n    threshold: ${f.threshold},\n    planes: [\n${f.planes
      .map(
        (p) =>
          `      [${p.rows.map((row, j) => `{ row: ${numbers(row)}, col: ${numbers(p.cols[j] ?? [])} }`).join(', ')}],`,
      )
      .join('\n')}\n    ],\n  },`,
);
const text = `/*
 * dlib's frontal face detector (dlib/image_processing/frontal_face_detector.h), converted by
 * tools/dlib-export (hog_export + hog-weights.ts). Generated: do not edit.
 *
 * Copyright (C) 2013  Davis E. King (davis@dlib.net)
 * License: Boost Software License, below.
 *
${licence
  .trimEnd()
  .split('\n')
  .map((line) => ` * ${line}`.trimEnd())
  .join('\n')}
 */
import type { HogModel } from './model.js';

export const FRONTAL_FACE_DETECTOR: HogModel = {
  cellSize: ${model.cellSize},
  windowWidth: ${model.windowWidth},
  windowHeight: ${model.windowHeight},
  filterWidth: ${model.filterWidth},
  filterHeight: ${model.filterHeight},
  minPyramidLayerWidth: ${model.minPyramidLayerWidth},
  minPyramidLayerHeight: ${model.minPyramidLayerHeight},
  maxPyramidLevels: ${model.maxPyramidLevels},
  nmsIouThreshold: ${model.nmsIouThreshold},
  nmsPercentCoveredThreshold: ${model.nmsPercentCoveredThreshold},
  filters: [
${filters.join('\n')}
  ],
};
`;
writeFileSync(join(here, '..', '..', 'src', 'detect', 'hog', 'frontal-face-weights.ts'), text);
