import { invalidArgument } from '../errors.js';
import { DLIB_STAGE_SIZE, type DlibLastStage, type DlibTail } from '../models/dlibResnet128.js';
import { batchLoss, type LossOptions, type Mining, MININGS } from './loss.js';
import {
  anchorTargets,
  backward,
  cloneParams,
  DIMS,
  embed,
  FEATURES,
  forward,
  initialParams,
  type Params,
  paramArrays,
  seeded,
  type StockWeights,
  type TrainedPart,
  TRAINED_PARTS,
  toTail,
} from './model.js';
import { type BatchShape, epochBatches } from './sampler.js';
import { stageRows, toLastStage } from './stage.js';
import { bestBalancedAccuracy, pairDistances } from './verify.js';

/**
 * Cached features of labelled photos: one 256-d row per photo, labels 0..people-1; optionally,
 * per photo (same order), the activations entering the last block (`stage`, for 'last-stage') and
 * the mirrored view's features and stage input (`flipFeatures`, `flipStage`, for `flip`).
 */
export interface Samples {
  readonly features: readonly Float32Array[];
  readonly labels: Int32Array;
  readonly stage?: readonly Float32Array[];
  readonly flipFeatures?: readonly Float32Array[];
  readonly flipStage?: readonly Float32Array[];
}

/** The per-photo arrays a Samples may carry besides the labels (kept in step by subset()). */
export const SAMPLE_ROWS = ['features', 'stage', 'flipFeatures', 'flipStage'] as const;

export interface TrainOptions extends LossOptions {
  readonly mining?: Mining;
  readonly part?: TrainedPart;
  /**
   * Add each batch photo's mirror image as one more photo of its person (extra positives and
   * anchors for the mining); needs `flipFeatures` (and `flipStage` for 'last-stage') in train.
   */
  readonly flip?: boolean;
  /** Most epochs; early stopping usually ends sooner. Default 30. */
  readonly epochs?: number;
  readonly seed?: number;
  readonly batch?: BatchShape;
  /** Adam's step size. Default 1e-4. */
  readonly learningRate?: number;
  /** L2 pull of the weights toward the stock ones (and of the head toward zero). Default 1e-3. */
  readonly anchor?: number;
  /** Epochs without a better validation score before stopping. Default 4. */
  readonly patience?: number;
  readonly onEpoch?: (report: EpochReport) => void;
}

export interface EpochReport {
  readonly epoch: number;
  readonly epochs: number;
  readonly loss: number;
  /** Share of mined triplets (or pairs) with a non-zero loss, over the epoch. */
  readonly active: number;
  readonly meanPositive: number;
  readonly meanNegative: number;
  /** Balanced verification accuracy on the validation people, at its best threshold. */
  readonly validation: number;
  readonly threshold: number;
  readonly best: boolean;
}

export interface TrainResult {
  readonly params: Params;
  readonly tail: DlibTail;
  /** The trained last block ('last-stage' only). */
  readonly lastStage?: DlibLastStage;
  /** 0: the stock layer was never beaten on validation, and is what comes back. */
  readonly bestEpoch: number;
  readonly stockValidation: number;
  readonly validation: number;
  /** The distance threshold that scored `validation`: the tuned embedder's default. */
  readonly threshold: number;
  readonly history: readonly EpochReport[];
}

export const DEFAULT_BATCH: BatchShape = { people: 16, photos: 4 };

/** A batch's inputs: its photos, then (with flip) their mirror images, with their labels. */
function batchInput(s: Samples, idx: readonly number[], p: Params, flip: boolean) {
  const features = idx.map((k) => s.features[k]);
  const labels = idx.map((k) => s.labels[k]);
  const stage = p.stage ? idx.map((k) => (s.stage as readonly Float32Array[])[k]) : undefined;
  if (flip) {
    features.push(...idx.map((k) => (s.flipFeatures as readonly Float32Array[])[k]));
    labels.push(...labels);
    stage?.push(...idx.map((k) => (s.flipStage as readonly Float32Array[])[k]));
  }
  const x = new Float64Array(features.length * FEATURES);
  features.forEach((f, i) => x.set(f, i * FEATURES));
  return { x, n: features.length, labels, stage: stage && stageRows(stage) };
}

function validationScore(p: Params, v: Samples): { accuracy: number; threshold: number } {
  const { same, other } = pairDistances(embed(p, v.features, v.stage), v.labels, DIMS);
  return bestBalancedAccuracy(same, other);
}

/** Adam over every parameter array, in place. */
class Adam {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private t = 0;
  constructor(
    arrays: readonly Float64Array[],
    private readonly lr: number,
  ) {
    this.m = arrays.map((a) => new Float64Array(a.length));
    this.v = arrays.map((a) => new Float64Array(a.length));
  }
  step(arrays: readonly Float64Array[], grads: readonly Float64Array[]): void {
    this.t++;
    const b1 = 0.9,
      b2 = 0.999,
      eps = 1e-8;
    const c1 = 1 - b1 ** this.t,
      c2 = 1 - b2 ** this.t;
    arrays.forEach((a, k) => {
      const g = grads[k],
        m = this.m[k],
        v = this.v[k];
      for (let i = 0; i < a.length; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        a[i] -= (this.lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
      }
    });
  }
}

/** Every row array `needs` names is present, one per label, each of `size` floats. */
function checkSamples(s: Samples, field: string, needs: readonly (typeof SAMPLE_ROWS)[number][]): void {
  for (const name of needs) {
    const rows = s[name];
    if (!rows) throw invalidArgument(`${field}.${name}`, 'is needed by the chosen part/augmentation');
    if (rows.length !== s.labels.length)
      throw invalidArgument(`${field}.${name}`, `${rows.length} rows but ${s.labels.length} labels`);
    const size = name === 'features' || name === 'flipFeatures' ? FEATURES : DLIB_STAGE_SIZE;
    rows.forEach((f, i) => {
      if (!(f instanceof Float32Array) || f.length !== size)
        throw invalidArgument(`${field}.${name}[${i}]`, `expected ${size} floats`);
    });
  }
}

/** The options' mining, part and epochs, defaulted; INVALID_ARGUMENT naming the first bad one. */
export function checkTrainOptions(options: TrainOptions): { mining: Mining; part: TrainedPart; epochs: number } {
  const mining = options.mining ?? 'batch-hard';
  const part = options.part ?? 'fc';
  if (!MININGS.includes(mining))
    throw invalidArgument('mining', `unknown mining "${mining}" (use ${MININGS.join(', ')})`);
  if (!TRAINED_PARTS.includes(part))
    throw invalidArgument('part', `unknown part "${part}" (use ${TRAINED_PARTS.join(', ')})`);
  const epochs = options.epochs ?? 30;
  if (!(Number.isInteger(epochs) && epochs >= 1))
    throw invalidArgument('epochs', `must be a positive integer, got ${epochs}`);
  return { mining, part, epochs };
}

/**
 * Tunes the last layer on `train`, starting from `stock`, keeping the epoch that verifies the
 * `validation` people (none of them in `train`) best; stops after `patience` epochs without a gain.
 */
export async function trainTail(
  train: Samples,
  validation: Samples,
  stock: StockWeights,
  options: TrainOptions = {},
): Promise<TrainResult> {
  const { mining, part, epochs } = checkTrainOptions(options);
  const flip = options.flip ?? false;
  const staged = part === 'last-stage';
  checkSamples(train, 'train', [
    'features',
    ...(staged ? (['stage'] as const) : []),
    ...(flip ? (['flipFeatures'] as const) : []),
    ...(flip && staged ? (['flipStage'] as const) : []),
  ]);
  checkSamples(validation, 'validation', staged ? ['features', 'stage'] : ['features']);
  if (staged && !stock.lastStage) throw invalidArgument('part', "'last-stage' needs the stock last block");
  if (new Set(validation.labels).size < 2) throw invalidArgument('validation', 'needs photos of 2 or more people');
  const rnd = seeded(options.seed ?? 1);
  const params = initialParams(stock, part, rnd);
  const start = cloneParams(params);
  const targets = anchorTargets(start);
  const anchor = options.anchor ?? 1e-3;
  const adam = new Adam(paramArrays(params), options.learningRate ?? 1e-4);
  const stockScore = validationScore(params, validation);
  let best = { params: cloneParams(params), epoch: 0, ...stockScore };
  const history: EpochReport[] = [];
  const patience = options.patience ?? 4;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    let loss = 0,
      active = 0,
      ap = 0,
      an = 0,
      count = 0;
    for (const batch of epochBatches(train.labels, options.batch ?? DEFAULT_BATCH, rnd)) {
      const input = batchInput(train, batch, params, flip);
      const f = forward(params, input.x, input.n, input.stage);
      const r = batchLoss(mining, f.out, input.labels, DIMS, options);
      const g = backward(params, f, r.grad);
      const grads = paramArrays(g);
      const arrays = paramArrays(params);
      arrays.forEach((a, k) => {
        // Pull toward where training started: the stock layer and block, and a head that adds nothing.
        const target = targets[k];
        for (let i = 0; i < a.length; i++) grads[k][i] += anchor * (a[i] - (target ? target[i] : 0));
      });
      adam.step(arrays, grads);
      loss += r.loss;
      active += r.active;
      ap += r.meanPositive;
      an += r.meanNegative;
      count++;
    }
    const score = validationScore(params, validation);
    const improved = score.accuracy > best.accuracy;
    if (improved) best = { params: cloneParams(params), epoch, ...score };
    const report: EpochReport = {
      epoch,
      epochs,
      loss: loss / count,
      active: active / count,
      meanPositive: ap / count,
      meanNegative: an / count,
      validation: score.accuracy,
      threshold: score.threshold,
      best: improved,
    };
    history.push(report);
    options.onEpoch?.(report);
    // Let progress output and signals through between epochs.
    await new Promise((r) => setImmediate(r));
    if (epoch - best.epoch >= patience) break;
  }
  return {
    params: best.params,
    tail: toTail(best.params),
    lastStage: best.params.stage && stock.lastStage && toLastStage(best.params.stage, stock.lastStage),
    bestEpoch: best.epoch,
    stockValidation: stockScore.accuracy,
    validation: best.accuracy,
    threshold: best.threshold,
    history,
  };
}
