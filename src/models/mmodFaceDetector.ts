import { attr, GraphBuilder } from '../onnx/graph.js';
import { takeWeight, type WeightTensor } from './weight-tensor.js';

/**
 * dlib's MMOD CNN face detector (mmod_human_face_detector.dat; the net_type of dlib's
 * dnn_mmod_face_detection_ex.cpp) as ONNX:
 *
 *   three "downsampler" blocks  con 5×5 stride 2, no padding → affine → relu   (16, 32, 32 filters)
 *   three "rcon5" blocks        con 5×5 stride 1, padding 2  → affine → relu   (45 filters each)
 *   the detector                con 9×9 stride 1, padding 4, one filter: the score map
 *
 * dlib's affine layer is its batch norm frozen for inference, y = gamma·x + beta per channel; it is
 * folded into the conv before it (W·gamma, b·gamma + beta), which leaves one Conv + Relu per block.
 *
 * Input `input`: float32 [1, 3, H, W], planar RGB, the tiled image pyramid dlib's
 * input_rgb_image_pyramid makes, already normalised ((v − channel mean) / 256, 0 in the padding):
 * see src/detect/mmod/pyramid.ts. Output `scores`: float32 [1, 1, H', W'], the raw detection score
 * of an 80×80 window centred on input pixel (MMOD_STRIDE·col + MMOD_OFFSET, same for rows).
 */

export const MMOD_INPUT = 'input';
export const MMOD_OUTPUT = 'scores';
/** Three stride-2 convolutions: one score per 8 input pixels. */
export const MMOD_STRIDE = 8;
/**
 * Input pixel a score's window is centred on, at output (0, 0): dlib's map_output_to_input through
 * each stride-2, unpadded 5×5 conv, p → 2p + 2, three times (8p + 14); the padded convs keep p.
 */
export const MMOD_OFFSET = 14;

/**
 * The smallest input side the network answers for: the three unpadded stride-2 5×5 convs need
 * 29 → 13 → 5 → 1. The tiled pyramid's outer padding (22 px) makes that an image of 7 px.
 */
export const MMOD_MIN_INPUT = 29;

const DOWNSAMPLER_FILTERS = [16, 32, 32];
const RCON_FILTERS = 45;
const RCON_BLOCKS = 3;
const CONV_KERNEL = 5;
const DETECTOR_KERNEL = 9;

interface ConvSpec {
  readonly index: number;
  readonly channelsIn: number;
  readonly filters: number;
  readonly kernel: number;
  readonly stride: number;
  readonly pad: number;
}

/** The network's convolutions in order; conv i is followed by affine i and a relu, except the last. */
function convSpecs(): ConvSpec[] {
  const specs: ConvSpec[] = [];
  let channelsIn = 3;
  for (const filters of DOWNSAMPLER_FILTERS) {
    specs.push({ index: specs.length, channelsIn, filters, kernel: CONV_KERNEL, stride: 2, pad: 0 });
    channelsIn = filters;
  }
  for (let i = 0; i < RCON_BLOCKS; i++) {
    specs.push({ index: specs.length, channelsIn, filters: RCON_FILTERS, kernel: CONV_KERNEL, stride: 1, pad: 2 });
    channelsIn = RCON_FILTERS;
  }
  specs.push({ index: specs.length, channelsIn, filters: 1, kernel: DETECTOR_KERNEL, stride: 1, pad: 4 });
  return specs;
}

/** Conv weights with the following affine layer folded in (the last conv has none). */
function foldedConv(
  weights: ReadonlyMap<string, WeightTensor>,
  spec: ConvSpec,
  withAffine: boolean,
): { filters: Float32Array; bias: Float32Array } {
  const { index, filters, channelsIn, kernel } = spec;
  const w = takeWeight(weights, `conv${index}/filters`, [filters, channelsIn, kernel, kernel]).data;
  const b = takeWeight(weights, `conv${index}/bias`, [filters]).data;
  if (!withAffine) return { filters: Float32Array.from(w), bias: Float32Array.from(b) };
  const gamma = takeWeight(weights, `affine${index}/gamma`, [filters]).data;
  const beta = takeWeight(weights, `affine${index}/beta`, [filters]).data;
  const perFilter = channelsIn * kernel * kernel;
  const folded = new Float32Array(w.length);
  for (let o = 0; o < filters; o++) {
    const g = gamma[o] as number;
    for (let i = 0; i < perFilter; i++) folded[o * perFilter + i] = (w[o * perFilter + i] as number) * g;
  }
  return { filters: folded, bias: Float32Array.from(b, (v, o) => v * (gamma[o] as number) + (beta[o] as number)) };
}

export function buildMmodFaceDetector(weights: ReadonlyMap<string, WeightTensor>): Uint8Array {
  const g = new GraphBuilder('mmod_face_detector');
  let x = g.input(MMOD_INPUT, 'float', [1, 3, 'height', 'width']);
  const specs = convSpecs();
  for (const spec of specs) {
    const last = spec.index === specs.length - 1;
    const { filters, bias } = foldedConv(weights, spec, !last);
    x = g.node(
      'Conv',
      [
        x,
        g.floats(`conv${spec.index}_w`, filters, [spec.filters, spec.channelsIn, spec.kernel, spec.kernel]),
        g.floats(`conv${spec.index}_b`, bias),
      ],
      {
        kernel_shape: attr.ints([spec.kernel, spec.kernel]),
        strides: attr.ints([spec.stride, spec.stride]),
        pads: attr.ints([spec.pad, spec.pad, spec.pad, spec.pad]),
      },
    );
    if (!last) x = g.node('Relu', [x]);
  }
  g.output(x, MMOD_OUTPUT, 'float', [1, 1, 'score_h', 'score_w']);
  return g.toModel({
    producer: 'facekit',
    version: '1',
    docString:
      "dlib's MMOD face detector; input the normalised tiled pyramid [1, 3, H, W], output the 80×80 window scores [1, 1, H', W']",
    metadata: { source: 'dlib-models mmod_human_face_detector.dat (CC0)', layout: 'NCHW' },
  });
}
