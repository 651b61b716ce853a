import { attr, GraphBuilder, type GraphPass } from '../onnx/graph.js';
import { conv, depthwiseConv, nchwToNhwc, nhwcToNchw } from './layers.js';
import { takeWeight, type WeightTensor } from './weight-tensor.js';

/**
 * face-api's SsdMobilenetv1 (TF object-detection SSD on MobileNet v1, depth 1.0) as one ONNX graph:
 * 0..255 NHWC RGB in, decoded boxes and face scores for every anchor out. NMS stays in TypeScript
 * (src/detect/ssd.ts) because it is data-dependent and cheap.
 */

/** The network was trained on 512×512 squares; the anchors are laid out for exactly this size. */
export const SSD_INPUT_SIZE = 512;
/** 32²·3 + (16² + 8² + 4² + 2² + 1²)·6 anchors over the six feature maps. */
export const SSD_ANCHOR_COUNT = 5118;

/** TF's default BatchNorm epsilon as a float32, the value face-api passes to tf.batchNorm. */
const BN_EPSILON = 0.0010000000474974513;
/** Input normalisation of face-api: x / 127.5 - 1 maps 0..255 to -1..1. */
const INPUT_HALF_RANGE = 127.5;
/** TF object detection's box coder scales: centres were encoded ×10, log sizes ×5. */
const CENTER_SCALE = 10;
const SIZE_SCALE = 5;
/** Classes per anchor: background, face, and a third never read. Index 1 is the face score. */
const CLASSES = 3;
const FACE_CLASS = 1;
/** MobileNet depthwise layers that halve the resolution (conv_0 does too). */
const STRIDE_TWO_LAYERS = new Set([2, 4, 6, 12]);

const BACKBONE = 'MobilenetV1';
const PREDICTION = 'Prediction';

function relu6(g: GraphBuilder, x: string, zero: string, six: string): string {
  return g.node('Clip', [x, zero, six]);
}

/** Depthwise conv followed by batch norm with the norm folded into the filter and a bias. */
function foldBatchNorm(weights: ReadonlyMap<string, WeightTensor>, prefix: string, channels: number) {
  const filter = takeWeight(weights, `${prefix}/depthwise_weights`, [3, 3, channels, 1]);
  const gamma = takeWeight(weights, `${prefix}/BatchNorm/gamma`, [channels]).data;
  const beta = takeWeight(weights, `${prefix}/BatchNorm/beta`, [channels]).data;
  const mean = takeWeight(weights, `${prefix}/BatchNorm/moving_mean`, [channels]).data;
  const variance = takeWeight(weights, `${prefix}/BatchNorm/moving_variance`, [channels]).data;
  const scale = new Float32Array(channels);
  const bias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    scale[c] = gamma[c] / Math.sqrt(variance[c] + BN_EPSILON);
    bias[c] = beta[c] - mean[c] * scale[c];
  }
  const folded = new Float32Array(filter.data.length);
  // HWC1 layout: the channel is the fastest-varying index.
  for (let i = 0; i < folded.length; i++) folded[i] = filter.data[i] * scale[i % channels];
  return { filter: { shape: filter.shape, data: folded }, bias };
}

/** Box-encoding and class convs of one predictor, flattened to tfjs's NHWC anchor order. */
function boxPredictor(g: GraphBuilder, weights: ReadonlyMap<string, WeightTensor>, x: string, idx: number) {
  const p = `${PREDICTION}/BoxPredictor_${idx}`;
  const head = (name: string, perAnchor: number) => {
    const w = takeWeight(weights, `${p}/${name}/weights`);
    const b = takeWeight(weights, `${p}/${name}/biases`);
    const y = conv(g, x, w, b, { padding: 'same' }, `box${idx}_${name}`);
    return g.node('Reshape', [nchwToNhwc(g, y), g.int64s('shape', [1, -1, perAnchor])]);
  };
  return { encoding: head('BoxEncodingPredictor', 4), classes: head('ClassPredictor', CLASSES) };
}

/** Anchor centres and sizes ([cy, cx] and [h, w]), rounded to float32 step by step as tfjs does. */
function anchorGeometry(anchors: WeightTensor): { centers: Float32Array; sizes: Float32Array } {
  const n = anchors.shape[1];
  const a = anchors.data;
  const centers = new Float32Array(n * 2);
  const sizes = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 2; k++) {
      const size = Math.fround(a[i * 4 + 2 + k] - a[i * 4 + k]);
      sizes[i * 2 + k] = size;
      centers[i * 2 + k] = Math.fround(a[i * 4 + k] + Math.fround(size / 2));
    }
  }
  return { centers, sizes };
}

/** `pass` rewrites the finished graph before it is serialized (the int8 build quantizes it). */
export function buildSsdMobilenetV1(weights: ReadonlyMap<string, WeightTensor>, pass?: GraphPass): Uint8Array {
  const g = new GraphBuilder('ssd_mobilenetv1');
  const input = g.input('input', 'float', [1, SSD_INPUT_SIZE, SSD_INPUT_SIZE, 3]);
  const zero = g.scalar('zero', 0);
  const six = g.scalar('six', 6);

  // Div-then-Sub rather than one multiply-add keeps the rounding identical to face-api's.
  const normalized = g.node('Sub', [
    g.node('Div', [input, g.scalar('half_range', INPUT_HALF_RANGE)]),
    g.scalar('one', 1),
  ]);
  let x = nhwcToNchw(g, normalized);

  const pointwise = (prefix: string, idx: number, stride: number, h: string): string => {
    const w = takeWeight(weights, `${prefix}/Conv2d_${idx}_pointwise/weights`);
    const b = takeWeight(weights, `${prefix}/Conv2d_${idx}_pointwise/convolution_bn_offset`);
    return relu6(g, conv(g, h, w, b, { stride, padding: 'same' }, `${prefix}_pw${idx}`), zero, six);
  };

  x = pointwise(BACKBONE, 0, 2, x);
  let conv11 = '';
  for (let i = 1; i <= 13; i++) {
    const channels = takeWeight(weights, `${BACKBONE}/Conv2d_${i}_depthwise/depthwise_weights`).shape[2];
    const { filter, bias } = foldBatchNorm(weights, `${BACKBONE}/Conv2d_${i}_depthwise`, channels);
    const stride = STRIDE_TWO_LAYERS.has(i) ? 2 : 1;
    x = relu6(g, depthwiseConv(g, x, filter, bias, { stride, padding: 'same' }, `dw${i}`), zero, six);
    x = pointwise(BACKBONE, i, 1, x);
    if (i === 11) conv11 = x;
  }

  // Extra feature layers: pairs of 1×1 reduce and 3×3 stride-2 expand.
  const extra: string[] = [];
  let y = x;
  for (let i = 0; i < 8; i++) {
    y = pointwise(PREDICTION, i, i % 2 === 1 ? 2 : 1, y);
    if (i % 2 === 1) extra.push(y);
  }

  const sources = [conv11, x, ...extra];
  const heads = sources.map((s, i) => boxPredictor(g, weights, s, i));
  const encodings = g.node(
    'Concat',
    heads.map((h) => h.encoding),
    { axis: attr.int(1) },
  );
  const classes = g.node(
    'Concat',
    heads.map((h) => h.classes),
    { axis: attr.int(1) },
  );

  const faceLogits = g.node('Slice', [
    classes,
    g.int64s('start', [FACE_CLASS]),
    g.int64s('end', [FACE_CLASS + 1]),
    g.int64s('axes', [2]),
  ]);
  const scores = g.node('Reshape', [g.node('Sigmoid', [faceLogits]), g.int64s('shape', [1, SSD_ANCHOR_COUNT])]);

  const anchors = takeWeight(weights, 'Output/extra_dim', [1, SSD_ANCHOR_COUNT, 4]);
  const { centers, sizes } = anchorGeometry(anchors);
  const anchorCenters = g.floats('anchor_centers', centers, [1, SSD_ANCHOR_COUNT, 2]);
  const anchorSizes = g.floats('anchor_sizes', sizes, [1, SSD_ANCHOR_COUNT, 2]);
  const [centerCode, sizeCode] = g.nodeN('Split', [encodings, g.int64s('split', [2, 2])], 2, { axis: attr.int(2) });
  const center = g.node('Add', [
    g.node('Mul', [g.node('Div', [centerCode, g.scalar('center_scale', CENTER_SCALE)]), anchorSizes]),
    anchorCenters,
  ]);
  const halfSize = g.node('Div', [
    g.node('Mul', [g.node('Exp', [g.node('Div', [sizeCode, g.scalar('size_scale', SIZE_SCALE)])]), anchorSizes]),
    g.scalar('two', 2),
  ]);
  // [ymin, xmin, ymax, xmax] in 0..1 of the 512 square, face-api's order.
  const boxes = g.node('Concat', [g.node('Sub', [center, halfSize]), g.node('Add', [center, halfSize])], {
    axis: attr.int(2),
  });

  g.output(boxes, 'boxes', 'float', [1, SSD_ANCHOR_COUNT, 4]);
  g.output(scores, 'scores', 'float', [1, SSD_ANCHOR_COUNT]);
  return g.toModel(
    {
      producer: 'facekit',
      version: '1',
      docString:
        'face-api.js SsdMobilenetv1 face detector: input NHWC RGB 0..255, outputs boxes [ymin,xmin,ymax,xmax] and face scores per anchor',
    },
    pass,
  );
}
