import { attr, GraphBuilder } from '../onnx/graph.js';
import { conv, nhwcToNchw, relu, separableConv } from './layers.js';
import { takeWeight, type WeightTensor } from './weight-tensor.js';

/**
 * face-api's FaceLandmark68Net and FaceLandmark68TinyNet: a stack of "dense blocks" of separable
 * convolutions, a global average pool and one fully connected layer giving 68 (x, y) pairs
 * relative to the 112×112 input.
 */

/** Side of the square input both variants were trained on. */
export const LANDMARK68_INPUT_SIZE = 112;
/** 68 points × (x, y). */
export const LANDMARK68_OUTPUTS = 136;
/** face-api subtracts this per-channel mean (its training set's) before dividing by 255. */
const MEAN_RGB = [122.782, 117.001, 104.298];

type Weights = ReadonlyMap<string, WeightTensor>;

interface Variant {
  readonly name: string;
  /** Output channels of each dense block; each block halves the resolution. */
  readonly channels: readonly number[];
  /** Separable convs after the first conv of a block: 3 in the full net, 2 in the tiny one. */
  readonly convsPerBlock: number;
}

const FULL: Variant = { name: 'face_landmark_68', channels: [32, 64, 128, 256], convsPerBlock: 4 };
const TINY: Variant = { name: 'face_landmark_68_tiny', channels: [32, 64, 128], convsPerBlock: 3 };

/**
 * One dense block: every separable conv sees the ReLU of the sum of all earlier outputs of the
 * block, and the block returns the ReLU of the sum of all of them.
 */
function denseBlock(
  g: GraphBuilder,
  x: string,
  w: Weights,
  prefix: string,
  cin: number,
  cout: number,
  convs: number,
  first: boolean,
): string {
  const stride2 = { stride: 2, padding: 'same' as const };
  let out1: string;
  if (first) {
    const filters = takeWeight(w, `${prefix}/conv0/filters`, [3, 3, cin, cout]);
    const bias = takeWeight(w, `${prefix}/conv0/bias`, [cout]);
    out1 = relu(g, conv(g, x, filters, bias, stride2, `${prefix}_conv0`));
  } else {
    out1 = relu(g, separableConv(g, x, sepParams(w, `${prefix}/conv0`, cin, cout), stride2, `${prefix}_conv0`));
  }
  let sum = out1;
  let next = out1;
  for (let i = 1; i < convs; i++) {
    const out = separableConv(
      g,
      next,
      sepParams(w, `${prefix}/conv${i}`, cout, cout),
      { padding: 'same' },
      `${prefix}_conv${i}`,
    );
    sum = g.node('Add', [sum, out]);
    next = relu(g, sum);
  }
  return next;
}

function sepParams(w: Weights, prefix: string, cin: number, cout: number) {
  return {
    depthwise: takeWeight(w, `${prefix}/depthwise_filter`, [3, 3, cin, 1]),
    pointwise: takeWeight(w, `${prefix}/pointwise_filter`, [1, 1, cin, cout]),
    bias: takeWeight(w, `${prefix}/bias`, [cout]),
  };
}

function build(weights: Weights, v: Variant): Uint8Array {
  const g = new GraphBuilder(v.name);
  const input = g.input('input', 'float', ['batch', LANDMARK68_INPUT_SIZE, LANDMARK68_INPUT_SIZE, 3]);
  // Mean subtraction stays separate from the first conv: its zero padding is zero after
  // normalisation, so folding the mean into the conv bias would be wrong at the borders.
  const centred = g.node('Sub', [nhwcToNchw(g, input), g.floats('mean_rgb', MEAN_RGB, [1, 3, 1, 1])]);
  let x = g.node('Div', [centred, g.scalar('pixel_scale', 255)]);

  let cin = 3;
  v.channels.forEach((cout, i) => {
    x = denseBlock(g, x, weights, `dense${i}`, cin, cout, v.convsPerBlock, i === 0);
    cin = cout;
  });
  // face-api's avgPool (7×7 or 14×14, 'valid') covers the whole final feature map.
  const pooled = g.node('Flatten', [g.node('GlobalAveragePool', [x])], { axis: attr.int(1) });
  const fcW = takeWeight(weights, 'fc/weights', [cin, LANDMARK68_OUTPUTS]);
  const fcB = takeWeight(weights, 'fc/bias', [LANDMARK68_OUTPUTS]);
  const out = g.node('Gemm', [
    pooled,
    g.floats('fc_w', fcW.data as Float32Array, [cin, LANDMARK68_OUTPUTS]),
    g.floats('fc_b', fcB.data as Float32Array),
  ]);
  g.output(out, 'landmarks', 'float', ['batch', LANDMARK68_OUTPUTS]);
  return g.toModel({
    producer: 'facekit',
    version: '1',
    docString: `${v.name}: face-api.js 68-point landmarks; input NHWC RGB 0..255, output (x, y) × 68 relative to the 112×112 input`,
  });
}

export function buildFaceLandmark68(weights: Weights): Uint8Array {
  return build(weights, FULL);
}

export function buildFaceLandmark68Tiny(weights: Weights): Uint8Array {
  return build(weights, TINY);
}
