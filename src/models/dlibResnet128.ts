import { attr, GraphBuilder, type GraphPass } from '../onnx/graph.js';
import { conv, nhwcToNchw } from './layers.js';
import { takeWeight, type WeightTensor } from './weight-tensor.js';

/**
 * face-api's FaceRecognitionNet (dlib's `dlib_face_recognition_resnet_model_v1`, a ResNet-34
 * variant) as an ONNX graph: [N, 150, 150, 3] RGB 0..255 NHWC → [N, 128] descriptor.
 *
 * Every conv in the reference is conv + bias followed by a per-channel "scale" layer; the scale
 * is folded into the conv's filter and bias here, so onnxruntime sees plain Conv(+Relu) nodes it
 * can fuse. The input normalisation is folded into the first conv too: that conv pads nothing,
 * so no zero padding would have to be normalised and the fold only changes float rounding.
 */

/** Side of the square chip the network was trained on. */
export const DLIB_CHIP_SIZE = 150;
export const DLIB_DESCRIPTOR_SIZE = 128;

/** face-api subtracts this per-channel mean (RGB) before dividing by MEAN_DIVISOR. */
const MEAN_RGB = [122.782, 117.001, 104.298] as const;
/** face-api divides by 255 (not dlib's 256): matching the reference matters more than matching dlib. */
const MEAN_DIVISOR = 255;

type Weights = ReadonlyMap<string, WeightTensor>;

export interface FoldedConv {
  readonly filter: WeightTensor;
  readonly bias: Float32Array;
}

/**
 * `scale(conv(x, W) + b) = conv(x, W * s) + (b * s + t)` per output channel; with the input
 * normalisation `(x - m) / d` also folded, the bias loses `Σ W·m / d` (valid padding only).
 */
export function foldConvLayer(
  weights: Weights,
  prefix: string,
  cin: number,
  cout: number,
  k: number,
  inputNorm = false,
): FoldedConv {
  const w = takeWeight(weights, `${prefix}/conv/filters`, [k, k, cin, cout]);
  const b = takeWeight(weights, `${prefix}/conv/bias`, [cout]).data;
  const s = takeWeight(weights, `${prefix}/scale/weights`, [cout]).data;
  const t = takeWeight(weights, `${prefix}/scale/biases`, [cout]).data;
  const src = w.data;
  const filter = new Float32Array(src.length);
  const meanTerm = new Float64Array(cout);
  const divisor = inputNorm ? MEAN_DIVISOR : 1;
  // HWIO: the output channel is the fastest-moving index, the input channel the next.
  for (let i = 0; i < src.length; i++) {
    const o = i % cout;
    if (inputNorm) meanTerm[o] += (src[i] * MEAN_RGB[Math.floor(i / cout) % cin]) / divisor;
    filter[i] = (src[i] * s[o]) / divisor;
  }
  const bias = new Float32Array(cout);
  for (let o = 0; o < cout; o++) bias[o] = (b[o] - meanTerm[o]) * s[o] + t[o];
  return { filter: { shape: w.shape, data: filter }, bias };
}

interface Stage {
  /** Weight-map prefix of the residual block. */
  name: string;
  cout: number;
  down: boolean;
}

/** The block sequence of face-api's forwardInput after the stem. */
const STAGES: readonly Stage[] = [
  { name: 'conv32_1', cout: 32, down: false },
  { name: 'conv32_2', cout: 32, down: false },
  { name: 'conv32_3', cout: 32, down: false },
  { name: 'conv64_down', cout: 64, down: true },
  { name: 'conv64_1', cout: 64, down: false },
  { name: 'conv64_2', cout: 64, down: false },
  { name: 'conv64_3', cout: 64, down: false },
  { name: 'conv128_down', cout: 128, down: true },
  { name: 'conv128_1', cout: 128, down: false },
  { name: 'conv128_2', cout: 128, down: false },
  { name: 'conv256_down', cout: 256, down: true },
  { name: 'conv256_1', cout: 256, down: false },
  { name: 'conv256_2', cout: 256, down: false },
  { name: 'conv256_down_out', cout: 256, down: true },
];

/** Spatial side after a 'valid' window of `k` with stride `s`. */
const validOut = (size: number, k: number, s: number): number => Math.floor((size - k) / s) + 1;

/** Width of the pooled features the final fully connected layer reads (the last stage's channels). */
export const DLIB_FEATURE_SIZE = 256;

/**
 * A replacement for the network's last layer, as trained by facekit's metric learning (src/train/):
 * `e = features · fc + bias`, then optionally a residual head `e + relu(e · u + c) · v`. Plain data,
 * row-major: fc is DLIB_FEATURE_SIZE × 128, u is 128 × hidden, v is hidden × 128.
 */
export interface DlibTail {
  readonly fc: Float32Array;
  readonly bias: Float32Array;
  readonly head?: {
    readonly hidden: number;
    readonly u: Float32Array;
    readonly c: Float32Array;
    readonly v: Float32Array;
  };
}

/** Side of the activation map entering the last residual block (`conv256_down_out`), 256 channels. */
export const DLIB_STAGE_SIDE = 4;
/** Floats of that activation map (NCHW, one face). */
export const DLIB_STAGE_SIZE = DLIB_FEATURE_SIZE * DLIB_STAGE_SIDE * DLIB_STAGE_SIDE;
/** The last residual block, whose two convs `--train last-stage` tunes. */
export const DLIB_LAST_STAGE = 'conv256_down_out';

/** The last residual block's convs as trained (scale already folded in, HWIO filters). */
export interface DlibLastStage {
  readonly conv1: FoldedConv;
  readonly conv2: FoldedConv;
}

export interface DlibBuildOptions {
  /** The tuned last layer; absent: the stock fc from the weights (no bias). */
  readonly tail?: DlibTail;
  /** The tuned last residual block; absent: the stock one. */
  readonly lastStage?: DlibLastStage;
  /** Also output the pooled 256-d features as `features` (what the trainer caches). */
  readonly features?: boolean;
  /** Also output the activations entering the last residual block as `stage_input` [N, 256, 4, 4]. */
  readonly stageInput?: boolean;
}

/** The stock final layer's weights (DLIB_FEATURE_SIZE × 128, row-major): where training starts. */
export function dlibStockFc(weights: Weights): Float32Array {
  return Float32Array.from(takeWeight(weights, 'fc', [DLIB_FEATURE_SIZE, DLIB_DESCRIPTOR_SIZE]).data);
}

/** Appends the tuned tail's nodes after `pooled`; returns the descriptor value. */
function tailNodes(g: GraphBuilder, pooled: string, tail: DlibTail): string {
  const d = DLIB_DESCRIPTOR_SIZE;
  const fc = g.node('MatMul', [pooled, g.floats('tuned_fc_w', tail.fc, [DLIB_FEATURE_SIZE, d])]);
  const e = g.node('Add', [fc, g.floats('tuned_fc_b', tail.bias, [d])]);
  if (!tail.head) return e;
  const { hidden, u, c, v } = tail.head;
  const h = g.node('Relu', [
    g.node('Add', [g.node('MatMul', [e, g.floats('head_u', u, [d, hidden])]), g.floats('head_c', c, [hidden])]),
  ]);
  return g.node('Add', [e, g.node('MatMul', [h, g.floats('head_v', v, [hidden, d])])]);
}

/**
 * `pass` rewrites the finished graph before it is serialized (the int8 build quantizes it);
 * `options` swap in a tuned last layer or expose the pooled features.
 */
export function buildDlibResnet128(weights: Weights, pass?: GraphPass, options: DlibBuildOptions = {}): Uint8Array {
  const g = new GraphBuilder('dlib_resnet128');
  const input = g.input('input', 'float', ['batch', DLIB_CHIP_SIZE, DLIB_CHIP_SIZE, 3]);
  let x = nhwcToNchw(g, input);

  const stem = foldConvLayer(weights, 'conv32_down', 3, 32, 7, true);
  x = g.node('Relu', [conv(g, x, stem.filter, stem.bias, { stride: 2, padding: 'valid' }, 'conv32_down')]);
  let size = validOut(DLIB_CHIP_SIZE, 7, 2);
  x = g.node('MaxPool', [x], {
    kernel_shape: attr.ints([3, 3]),
    strides: attr.ints([2, 2]),
    auto_pad: attr.string('VALID'),
  });
  size = validOut(size, 3, 2);
  let channels = 32;
  let stageInput: string | undefined;

  for (const stage of STAGES) {
    const tuned = stage.name === DLIB_LAST_STAGE ? options.lastStage : undefined;
    if (stage.name === DLIB_LAST_STAGE) stageInput = x;
    const c1 = tuned?.conv1 ?? foldConvLayer(weights, `${stage.name}/conv1`, channels, stage.cout, 3);
    const c2 = tuned?.conv2 ?? foldConvLayer(weights, `${stage.name}/conv2`, stage.cout, stage.cout, 3);
    const first = stage.down
      ? conv(g, x, c1.filter, c1.bias, { stride: 2, padding: 'valid' }, `${stage.name}_conv1`)
      : conv(g, x, c1.filter, c1.bias, {}, `${stage.name}_conv1`);
    let out = conv(g, g.node('Relu', [first]), c2.filter, c2.bias, {}, `${stage.name}_conv2`);
    let shortcut = x;
    if (stage.down) {
      const convSize = validOut(size, 3, 2);
      const poolSize = validOut(size, 2, 2);
      shortcut = g.node('AveragePool', [x], {
        kernel_shape: attr.ints([2, 2]),
        strides: attr.ints([2, 2]),
        auto_pad: attr.string('VALID'),
      });
      // face-api widens the shortcut by appending zero channels rather than projecting it. (A fixed
      // 2×2/2 conv doing pool+widen in one node keeps onnxruntime in NCHWc layout but measured no faster.)
      if (stage.cout !== channels) {
        shortcut = g.node('Pad', [
          shortcut,
          g.int64s(`${stage.name}_chpad`, [0, 0, 0, 0, 0, stage.cout - channels, 0, 0]),
        ]);
      }
      // Where the strided valid conv comes out one smaller than the pool, face-api appends one
      // zero row (bottom) and one zero column (right) to the conv branch, and only one.
      if (convSize !== poolSize) {
        if (poolSize - convSize !== 1) throw new Error(`unexpected shortcut size mismatch in ${stage.name}`);
        out = g.node('Pad', [out, g.int64s(`${stage.name}_sppad`, [0, 0, 0, 0, 0, 0, 1, 1])]);
      }
      size = poolSize;
    }
    x = g.node('Relu', [g.node('Add', [out, shortcut])]);
    channels = stage.cout;
  }

  const pooled = g.node('Flatten', [g.node('GlobalAveragePool', [x])], { axis: attr.int(1) });
  const fc = takeWeight(weights, 'fc', [channels, DLIB_DESCRIPTOR_SIZE]);
  const descriptor = options.tail
    ? tailNodes(g, pooled, options.tail)
    : g.node('MatMul', [pooled, g.floats('fc_w', fc.data as Float32Array, [channels, DLIB_DESCRIPTOR_SIZE])]);
  g.output(descriptor, 'descriptor', 'float', ['batch', DLIB_DESCRIPTOR_SIZE]);
  if (options.features) g.output(pooled, 'features', 'float', ['batch', DLIB_FEATURE_SIZE]);
  if (options.stageInput && stageInput)
    g.output(stageInput, 'stage_input', 'float', ['batch', DLIB_FEATURE_SIZE, DLIB_STAGE_SIDE, DLIB_STAGE_SIDE]);
  return g.toModel(
    {
      producer: 'facekit',
      version: '1',
      docString: 'face-api.js FaceRecognitionNet (dlib ResNet) 150x150 RGB 0..255 NHWC -> 128-d descriptor',
      metadata: { source: '@vladmandic/face-api face_recognition_model' },
    },
    pass,
  );
}
