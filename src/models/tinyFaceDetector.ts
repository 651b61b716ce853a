import { attr, GraphBuilder } from '../onnx/graph.js';
import { conv, foldInputNormalization, maxPool, nchwToNhwc, nhwcToNchw, separableConv } from './layers.js';
import { takeWeight, type WeightTensor } from './weight-tensor.js';

/**
 * face-api.js's TinyFaceDetector (a Tiny-YOLOv2 with depthwise-separable convolutions) as ONNX.
 *
 * Input `input`: float32 [1, H, W, 3], NHWC, RGB in 0..255; H and W are multiples of
 * TINY_STRIDE (face-api always feeds a square inputSize × inputSize).
 * Output `grid`: float32 [1, H/32, W/32, 25], raw logits exactly as face-api's net returns them;
 * the last axis is TINY_ANCHOR_COUNT anchors × [tx, ty, tw, th, objectness]. Decoding (sigmoid,
 * anchors, score threshold) is left to the detector: it touches only a few hundred cells, reads
 * clearer in TypeScript, and keeps this output comparable element for element with face-api.
 */

export const TINY_INPUT = 'input';
export const TINY_OUTPUT = 'grid';
/** Five max-pools of stride 2: one output cell per 32×32 input pixels. */
export const TINY_STRIDE = 32;
/** The trained net predicts five anchor boxes per cell. */
export const TINY_ANCHOR_COUNT = 5;
/** Per anchor: tx, ty, tw, th and the objectness logit (one class, so no class scores). */
export const TINY_BOX_ENCODING = 5;

/** Per-channel mean the weights were trained with (face-api's MEAN_RGB for this net). */
const MEAN_RGB = [117.001, 114.697, 97.404];
/** face-api divides by 255 after the mean subtraction (not 256). */
const PIXEL_SCALE = 255;
/**
 * face-api's leaky ReLU slope: it computes relu(x - 0.1x) + 0.1x with 0.1 as a float32, which is
 * LeakyRelu(alpha = 0.1) up to one rounding step.
 */
const LEAKY_ALPHA = 0.1;
/** Channel widths after conv0..conv5; conv6/conv7 of the full Tiny-YOLOv2 are absent in this net. */
const CHANNELS = [16, 32, 64, 128, 256, 512];

function leaky(g: GraphBuilder, x: string): string {
  return g.node('LeakyRelu', [x], { alpha: attr.float(LEAKY_ALPHA) });
}

export function buildTinyFaceDetector(weights: ReadonlyMap<string, WeightTensor>): Uint8Array {
  const g = new GraphBuilder('tiny_face_detector');
  const input = g.input(TINY_INPUT, 'float', [1, 'height', 'width', 3]);

  let x = nhwcToNchw(g, input);

  // conv0 is a plain 3×3 conv with 'valid' padding: the map shrinks by 2 before the first pool,
  // which is why a 416 input still ends on a 13×13 grid (414 → 207 → 104 → 52 → 26 → 13).
  // face-api feeds conv0 (rgb - MEAN_RGB) / PIXEL_SCALE; folded into conv0's weights, that drops two
  // full-resolution elementwise passes, about a quarter of the whole net's time at 416 on one thread.
  const conv0 = foldInputNormalization(
    takeWeight(weights, 'conv0/filters', [3, 3, 3, CHANNELS[0]]),
    takeWeight(weights, 'conv0/bias', [CHANNELS[0]]),
    MEAN_RGB,
    PIXEL_SCALE,
  );
  x = leaky(g, conv(g, x, conv0.filter, conv0.bias, { padding: 'valid' }, 'conv0'));
  x = maxPool(g, x, 2, 2, 'same');

  for (let i = 1; i <= 5; i++) {
    const cin = CHANNELS[i - 1];
    const cout = CHANNELS[i];
    // face-api pads by 1 on every side then convolves 'valid': for a 3×3 stride-1 kernel that is 'same'.
    x = separableConv(
      g,
      x,
      {
        depthwise: takeWeight(weights, `conv${i}/depthwise_filter`, [3, 3, cin, 1]),
        pointwise: takeWeight(weights, `conv${i}/pointwise_filter`, [1, 1, cin, cout]),
        bias: takeWeight(weights, `conv${i}/bias`, [cout]),
      },
      { padding: 'same' },
      `conv${i}`,
    );
    x = leaky(g, x);
    // The last pool has stride 1 (padded at bottom/right like tfjs 'same'), so it keeps the grid size.
    x = maxPool(g, x, 2, i < 5 ? 2 : 1, 'same');
  }

  const outChannels = TINY_ANCHOR_COUNT * TINY_BOX_ENCODING;
  x = conv(
    g,
    x,
    takeWeight(weights, 'conv8/filters', [1, 1, CHANNELS[5], outChannels]),
    takeWeight(weights, 'conv8/bias', [outChannels]),
    { padding: 'valid' },
    'conv8',
  );
  g.output(nchwToNhwc(g, x), TINY_OUTPUT, 'float', [1, 'grid_h', 'grid_w', outChannels]);

  return g.toModel({
    producer: 'facekit',
    version: '1',
    docString:
      'face-api.js TinyFaceDetector; input NHWC RGB 0..255, output raw [1, H/32, W/32, 5 anchors × (tx, ty, tw, th, obj)]',
    metadata: { source: '@vladmandic/face-api tiny_face_detector_model', layout: 'NHWC' },
  });
}
