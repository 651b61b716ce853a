import { FaceKitError, invalidArgument } from '../errors.js';
import { DLIB_CHIP_SIZE, DLIB_DESCRIPTOR_SIZE } from '../models/dlibResnet128.js';
import { modelFor, type Precision } from '../models/precision.js';
import type { ModelId } from '../models/registry.js';
import { ModelSession, type RuntimeOptions } from '../runtime/model-session.js';
import type { Descriptor } from '../types.js';
import type { Embedder } from './registry.js';

const CHIP_VALUES = DLIB_CHIP_SIZE * DLIB_CHIP_SIZE * 3;

/**
 * Most chips per inference. Measured on 1 CPU thread, time per chip is flat from 4 chips up
 * (about 6 ms), while onnxruntime's arena keeps ~1.6 MB per chip of the largest batch for the
 * session's life: slices of 16 cap that at ~25 MB, where 10 faces × 100 jitters in one run would
 * pin over 1.5 GB.
 */
export const DLIB_MAX_BATCH = 16;

/**
 * dlib's 128-d face encoder (face-api's FaceRecognitionNet) on onnxruntime. Chips are
 * 150×150 RGB floats 0..255, row-major and interleaved (NHWC), already aligned.
 */
export class DlibEncoder implements Embedder {
  /**
   * The descriptor space, whatever the precision: the int8 encoder is the same network quantized,
   * its descriptors about 0.04 from the fp32 ones (at most 0.05 on LFW; dlib's match threshold is
   * 0.6), so they are compared and stored alongside them.
   */
  readonly modelId: string;
  readonly chipSize = DLIB_CHIP_SIZE;
  readonly descriptorSize = DLIB_DESCRIPTOR_SIZE;
  readonly maxBatch = DLIB_MAX_BATCH;
  private disposed = false;

  private constructor(
    private readonly session: ModelSession,
    readonly precision: Precision,
    modelId: string = 'dlib_resnet128' satisfies ModelId,
  ) {
    this.modelId = modelId;
  }

  static async create(options: RuntimeOptions = {}): Promise<DlibEncoder> {
    const precision = options.precision ?? 'fp32';
    return new DlibEncoder(await ModelSession.open(modelFor('dlib_resnet128', precision), options), precision);
  }

  /**
   * The same network with another last layer (a tuned embedder's ONNX file, src/embed/tuned.ts):
   * same chips, same output, its own descriptor space `modelId`. Always fp32: no int8 build of it.
   */
  static async fromBytes(modelId: string, bytes: Uint8Array, options: RuntimeOptions = {}): Promise<DlibEncoder> {
    return new DlibEncoder(await ModelSession.fromBytes('dlib_resnet128', bytes, options), 'fp32', modelId);
  }

  /** One descriptor per chip, in order, from batched inferences of at most DLIB_MAX_BATCH chips. */
  async encode(chips: readonly Float32Array[]): Promise<Descriptor[]> {
    if (this.disposed) throw new FaceKitError('DISPOSED', 'DlibEncoder was disposed', { field: this.modelId });
    chips.forEach((chip, i) => {
      if (!(chip instanceof Float32Array) || chip.length !== CHIP_VALUES) {
        throw invalidArgument(
          `chips[${i}]`,
          `expected a Float32Array of ${DLIB_CHIP_SIZE}×${DLIB_CHIP_SIZE}×3 = ${CHIP_VALUES} values, got ${chip?.length ?? typeof chip}`,
        );
      }
    });
    const out: Descriptor[] = [];
    for (let start = 0; start < chips.length; start += DLIB_MAX_BATCH)
      out.push(...(await this.encodeBatch(chips.slice(start, start + DLIB_MAX_BATCH))));
    return out;
  }

  private async encodeBatch(chips: readonly Float32Array[]): Promise<Descriptor[]> {
    const batch = new Float32Array(chips.length * CHIP_VALUES);
    chips.forEach((chip, i) => batch.set(chip, i * CHIP_VALUES));
    const input = this.session.floatTensor(batch, [chips.length, DLIB_CHIP_SIZE, DLIB_CHIP_SIZE, 3]);
    const out = await this.session.run({ input });
    const data = out.descriptor.data as Float32Array;
    // slice, not subarray: each descriptor owns its memory, so keeping one keeps no batch alive.
    return chips.map((_, i) => data.slice(i * DLIB_DESCRIPTOR_SIZE, (i + 1) * DLIB_DESCRIPTOR_SIZE));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.dispose();
  }
}
