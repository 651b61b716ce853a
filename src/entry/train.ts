/** facekit/train: tune the embedding on your own people (triplet loss, online mining) and evaluate it. */
export { MININGS } from '../train/loss.js';
export type { Mining } from '../train/loss.js';
export { TRAINED_PARTS } from '../train/model.js';
export type { TrainedPart } from '../train/model.js';
export type { EpochReport } from '../train/trainer.js';
export { trainFromFolder } from '../train/run.js';
export { evaluateFolder, rocFormat, rocPng, rocSvg, writeRocPlot } from '../train/evaluate.js';
