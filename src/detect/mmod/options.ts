/**
 * The MMOD detector's settings that are not weights: dlib's input layer (channel means, pyramid
 * padding) and loss layer (detection window, NMS overlap test), as mmod_export wrote them from
 * the trained .dat next to the weights (weights/dlib-mmod/mmod_human_face_detector_options.json).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FaceKitError } from '../../errors.js';
import { modelSpec, weightsFolder } from '../../models/registry.js';

export const MMOD_OPTIONS_FILE = 'mmod_human_face_detector_options.json';
/** The input layer this port implements: input_rgb_image_pyramid<pyramid_down<6>>. */
const PYRAMID_DOWN = 6;

export interface MmodOptions {
  /** input_rgb_image_pyramid's avg_red/green/blue (float32 in dlib), subtracted before dividing by 256. */
  readonly channelMeans: readonly [number, number, number];
  /** Pixels between pyramid levels in the tiled image, and around the whole of it. */
  readonly pyramidPadding: number;
  readonly pyramidOuterPadding: number;
  /** The one detector window (loss_mmod's detector_windows), in pixels of a pyramid level. */
  readonly windowWidth: number;
  readonly windowHeight: number;
  /** loss_mmod's overlaps_nms (dlib's test_box_overlap). */
  readonly nmsIouThreshold: number;
  readonly nmsPercentCoveredThreshold: number;
}

interface ExportedOptions {
  input?: {
    avgRed?: unknown;
    avgGreen?: unknown;
    avgBlue?: unknown;
    pyramidDown?: unknown;
    pyramidPadding?: unknown;
    pyramidOuterPadding?: unknown;
  };
  loss?: {
    detectorWindows?: { width?: unknown; height?: unknown }[];
    overlapsNms?: { iou?: unknown; percentCovered?: unknown };
    useBoundingBoxRegression?: unknown;
  };
}

function corrupt(file: string, problem: string): FaceKitError {
  return new FaceKitError('MODEL_CORRUPT', `MMOD options: ${problem}`, { file });
}

function num(value: unknown, file: string, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw corrupt(file, `${field} must be a number`);
  return value;
}

/** Checks what mmod_export wrote: MODEL_CORRUPT naming the file and field for anything this port cannot run. */
export function parseMmodOptions(json: unknown, file: string): MmodOptions {
  const o = (json ?? {}) as ExportedOptions;
  const input = o.input ?? {};
  const loss = o.loss ?? {};
  if (input.pyramidDown !== PYRAMID_DOWN) throw corrupt(file, `input.pyramidDown must be ${PYRAMID_DOWN}`);
  const windows = loss.detectorWindows;
  // face_recognition's model has one 80×80 window; several windows would need per-window score maps.
  if (!Array.isArray(windows) || windows.length !== 1) throw corrupt(file, 'loss.detectorWindows must hold one window');
  if (loss.useBoundingBoxRegression !== false) throw corrupt(file, 'loss.useBoundingBoxRegression must be false');
  const window = windows[0] as { width?: unknown; height?: unknown };
  const padding = num(input.pyramidPadding, file, 'input.pyramidPadding');
  const outer = num(input.pyramidOuterPadding, file, 'input.pyramidOuterPadding');
  if (!Number.isInteger(padding) || padding < 0 || !Number.isInteger(outer) || outer < 0)
    throw corrupt(file, 'pyramid paddings must be non-negative integers');
  return {
    channelMeans: [
      num(input.avgRed, file, 'input.avgRed'),
      num(input.avgGreen, file, 'input.avgGreen'),
      num(input.avgBlue, file, 'input.avgBlue'),
    ],
    pyramidPadding: padding,
    pyramidOuterPadding: outer,
    windowWidth: num(window.width, file, 'loss.detectorWindows[0].width'),
    windowHeight: num(window.height, file, 'loss.detectorWindows[0].height'),
    nmsIouThreshold: num(loss.overlapsNms?.iou, file, 'loss.overlapsNms.iou'),
    nmsPercentCoveredThreshold: num(loss.overlapsNms?.percentCovered, file, 'loss.overlapsNms.percentCovered'),
  };
}

/** The options shipped beside the MMOD weights. */
export async function loadMmodOptions(): Promise<MmodOptions> {
  const file = join(weightsFolder(modelSpec('mmod_face_detector')), MMOD_OPTIONS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new FaceKitError('MODEL_MISSING', 'cannot read the MMOD detector options', { file, cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new FaceKitError('MODEL_CORRUPT', 'MMOD options are not JSON', { file, cause });
  }
  return parseMmodOptions(json, file);
}
