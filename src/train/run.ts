import { join } from 'node:path';
import { defaultCacheDir } from '../models/cache.js';
import { createFaceKit } from '../pipeline/kit.js';
import type { FaceKitOptions } from '../pipeline/options.js';
import { readDataset } from './dataset.js';
import { splitByPerson } from './dataset.js';
import { exportTuned } from './export.js';
import { FeatureCache, fileFeatures, type RecordLayout, recordViews } from './features.js';
import { FeatureNetwork, stockTail } from './network.js';
import { checkTrainOptions, type EpochReport, type TrainOptions, trainTail } from './trainer.js';
import { checkTunedName } from '../embed/tuned.js';

/**
 * `facekit train` as a library call: read a folder of people, detect + align + cache the frozen
 * network's features once per photo, tune the last layer with person-split early stopping, and
 * save the result as the embedder `name`. Nothing here prints; progress comes through events.
 */

export interface TrainFolderOptions extends Omit<TrainOptions, 'onEpoch'> {
  /** The models folder the embedder is saved in (the model cache by default). */
  readonly modelsDir?: string;
  /** Replace a saved embedder of the same name. */
  readonly replace?: boolean;
  /** Share of the people (at least 2) kept for validation. Default 0.2. */
  readonly validationShare?: number;
  /** The kit that finds and aligns the faces (its detector and knobs); the embedder is always dlib128's network. */
  readonly kit?: Omit<FaceKitOptions, 'embedder'>;
  readonly onPhoto?: (done: number, total: number, file: string, found: boolean) => void;
  readonly onEpoch?: (report: EpochReport) => void;
}

export interface TrainFolderResult {
  readonly name: string;
  readonly modelId: string;
  readonly onnx: string;
  readonly spec: string;
  readonly photos: number;
  readonly facesFound: number;
  readonly trainPeople: number;
  readonly validationPeople: number;
  readonly bestEpoch: number;
  readonly stockValidation: number;
  readonly validation: number;
  readonly threshold: number;
  readonly history: readonly EpochReport[];
}

export async function trainFromFolder(
  dir: string,
  name: string,
  options: TrainFolderOptions = {},
): Promise<TrainFolderResult> {
  // Every mistake in the call is reported before a photo is read.
  checkTunedName(name, 'out');
  checkTrainOptions(options);
  const people = await readDataset(dir);
  const modelsDir = options.modelsDir ?? defaultCacheDir();
  const files = people.flatMap((p) => p.files);
  const personOf = people.flatMap((p, i) => p.files.map(() => i));
  const kitOptions = options.kit ?? {};
  const kit = createFaceKit({ ...kitOptions, cacheDir: kitOptions.cacheDir ?? modelsDir } as FaceKitOptions);
  // What each photo's cached record holds: the last block's input to train it, the mirror image to flip.
  const layout: RecordLayout = { stage: options.part === 'last-stage', flip: options.flip ?? false };
  const network = await FeatureNetwork.open(
    { threads: kitOptions.threads, cacheDir: modelsDir },
    { stage: layout.stage },
  );
  // The features depend on how faces were found: the kit's options are part of every cache key.
  const cache = new FeatureCache(
    join(modelsDir, 'train-cache'),
    JSON.stringify({ largest: true, ...kitOptions }),
    layout,
  );
  let records: (Float32Array | null)[];
  try {
    records = await fileFeatures(files, { kit, network, cache, onPhoto: options.onPhoto });
  } finally {
    await kit.dispose();
    await network.dispose();
  }
  const found = records.flatMap((f, i) => (f ? [i] : []));
  const views = found.map((i) => recordViews(records[i] as Float32Array, layout));
  const stageOf = (v: { stage?: Float32Array }) => v.stage as Float32Array;
  const samples = {
    features: views.map((v) => v[0].features),
    stage: layout.stage ? views.map((v) => stageOf(v[0])) : undefined,
    flipFeatures: layout.flip ? views.map((v) => v[1].features) : undefined,
    flipStage: layout.flip && layout.stage ? views.map((v) => stageOf(v[1])) : undefined,
    labels: Int32Array.from(found.map((i) => personOf[i])),
  };
  const split = splitByPerson(samples, options.validationShare ?? 0.2, options.seed ?? 1);
  const stock = await stockTail({ lastStage: layout.stage });
  const result = await trainTail(split.train, split.validation, stock, options);
  const training = {
    dataset: dir,
    mining: options.mining ?? 'batch-hard',
    part: options.part ?? 'fc',
    flip: layout.flip,
    seed: options.seed ?? 1,
    photos: files.length,
    facesFound: found.length,
    trainPeople: new Set(split.train.labels).size,
    validationPeople: new Set(split.validation.labels).size,
    bestEpoch: result.bestEpoch,
    epochsRun: result.history.length,
    stockValidation: result.stockValidation,
    validation: result.validation,
  };
  const saved = await exportTuned(name, result.tail, {
    lastStage: result.lastStage,
    modelsDir,
    replace: options.replace,
    threshold: result.threshold > 0 ? result.threshold : 0.6,
    training,
  });
  return {
    name,
    ...saved,
    photos: files.length,
    facesFound: found.length,
    trainPeople: training.trainPeople,
    validationPeople: training.validationPeople,
    bestEpoch: result.bestEpoch,
    stockValidation: result.stockValidation,
    validation: result.validation,
    threshold: result.threshold,
    history: result.history,
  };
}
