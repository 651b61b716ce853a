import { chipTransform, warpChip } from '../align/chip.js';
import { mirrorTransform } from '../align/jitter.js';
import { dlibChipTemplate } from '../align/templates.js';
import { DETECTORS } from '../detect/registry.js';
import { ssdInput } from '../detect/ssd.js';
import { FaceKitError } from '../errors.js';
import { loadImage } from '../image/decode.js';
import { Landmarker68 } from '../landmarks/landmarks68.js';
import { RangeRecorder, type TensorRanges } from '../models/quantize.js';
import type { BuildContext, Int8ModelId } from '../models/registry.js';
import { SSD_INPUT_SIZE } from '../models/ssdMobilenetv1.js';
import { ModelSession, onnxruntime } from '../runtime/session.js';

/**
 * Calibration of the int8 builds: the inputs each network sees in use, made from the build's
 * calibration photos by the fp32 pipeline, run through the fp32 graph with its Conv tensors
 * exposed (observeConvs) to measure their ranges. Same photos and fp32 models, same ranges.
 */

interface Batch {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/**
 * Encoder chips per calibration run: each chip's exposed tensors take about 6 MB, so 8 at a time
 * keep the build's memory near 50 MB above the fp32 model's.
 */
const CHIPS_PER_RUN = 8;

/**
 * The detector the encoder's calibration set is found with: written here rather than read from
 * DEFAULT_DETECTOR, so changing the default does not change the int8 encoder's ranges.
 */
const CALIBRATION_DETECTOR = 'tiny';

/**
 * The encoder's calibration set: every face the default fp32 pipeline (tiny detector, 68
 * landmarks, dlib alignment) finds in the photos, as the aligned chip and its mirror image, which
 * are what `encode()` feeds the encoder (the mirror with `flip`).
 */
async function faceChips(photos: readonly string[], cacheDir: string): Promise<Batch[]> {
  const calibrationDetector = DETECTORS[CALIBRATION_DETECTOR];
  const detector = await calibrationDetector.create({ cacheDir });
  const landmarker = await Landmarker68.create({ variant: 'full', cacheDir });
  const template = dlibChipTemplate();
  const chips: Float32Array[] = [];
  try {
    for (const photo of photos) {
      const image = await loadImage(photo);
      const found = await detector.detect(image, calibrationDetector.ownOptions({}));
      for (const landmarks of await landmarker.detect(
        image,
        found.map((d) => d.box),
      )) {
        const m = chipTransform(landmarks, template);
        chips.push(
          warpChip(image, m, template.size),
          warpChip(image, mirrorTransform(m, template.size), template.size),
        );
      }
    }
  } finally {
    await Promise.all([detector.dispose(), landmarker.dispose()]);
  }
  if (chips.length === 0)
    throw new FaceKitError(
      'MODEL_BUILD_FAILED',
      'the calibration photos show no face to calibrate the int8 encoder on',
      { file: photos[0] },
    );
  const values = template.size * template.size * 3;
  const batches: Batch[] = [];
  for (let start = 0; start < chips.length; start += CHIPS_PER_RUN) {
    const slice = chips.slice(start, start + CHIPS_PER_RUN);
    const data = new Float32Array(slice.length * values);
    slice.forEach((chip, i) => data.set(chip, i * values));
    batches.push({ data, dims: [slice.length, template.size, template.size, 3] });
  }
  return batches;
}

/** SSD's calibration set: each photo as the detector feeds it (padded square, 512×512). */
async function ssdInputs(photos: readonly string[]): Promise<Batch[]> {
  const batches: Batch[] = [];
  for (const photo of photos)
    batches.push({ data: ssdInput(await loadImage(photo)), dims: [1, SSD_INPUT_SIZE, SSD_INPUT_SIZE, 3] });
  return batches;
}

const CALIBRATION_SETS: Readonly<Record<Int8ModelId, (context: BuildContext) => Promise<Batch[]>>> = {
  dlib_resnet128_int8: (context) => faceChips(context.calibrationFiles, context.cacheDir),
  ssd_mobilenetv1_int8: (context) => ssdInputs(context.calibrationFiles),
};

/**
 * Feature maps of at most this many positions per channel (the encoder's 256-channel stages, 4×4
 * and smaller) give each calibration face only a few values per channel, and their peaks are
 * features of particular faces: the 20 calibration faces leave many of them unseen. On 344 LFW
 * faces that calibration never saw (many with darker skin than any calibration face), those maps
 * peaked at up to 1.9× the calibrated maximum, larger maps at up to 1.5×.
 */
const SMALL_MAP_POSITIONS = 16;
/**
 * Small maps' ranges are widened this much. On those LFW faces the largest fp32–int8 descriptor
 * distance fell from 0.23 to 0.054 and the mean stayed 0.036, as good as calibrating on the LFW
 * faces themselves (0.051, 0.035); 1.5× left 0.13, widening every map cost 0.014 of mean.
 */
const SMALL_MAP_HEADROOM = 2;

/**
 * Runs `observeModel` (an fp32 graph with its Conv tensors exposed as outputs) over the calibration
 * set of the int8 model `id` and returns each output's range: smallest to largest value seen,
 * widened SMALL_MAP_HEADROOM times on small feature maps.
 */
export async function calibrationRanges(
  id: Int8ModelId,
  observeModel: Uint8Array,
  context: BuildContext,
): Promise<TensorRanges> {
  const batches = await CALIBRATION_SETS[id](context);
  const session = await ModelSession.fromBytes(id, observeModel, {});
  const recorder = new RangeRecorder();
  const small = new Set<string>();
  try {
    for (const b of batches) {
      const out = await session.run({ [session.inputNames[0]]: new (onnxruntime().Tensor)('float32', b.data, b.dims) });
      for (const [name, tensor] of Object.entries(out)) {
        recorder.record(name, tensor.data as Float32Array);
        // NCHW: positions per channel are H × W.
        if (tensor.dims.length === 4 && tensor.dims[2] * tensor.dims[3] <= SMALL_MAP_POSITIONS) small.add(name);
      }
    }
  } finally {
    await session.dispose();
  }
  return new Map(
    [...recorder.ranges()].map(([name, r]) => [
      name,
      small.has(name) ? { min: r.min * SMALL_MAP_HEADROOM, max: r.max * SMALL_MAP_HEADROOM } : r,
    ]),
  );
}
