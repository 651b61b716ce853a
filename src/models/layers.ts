import { attr, type GraphBuilder } from '../onnx/graph.js';
import type { WeightTensor } from './weight-tensor.js';

/**
 * Layer helpers shared by the network builders. Graphs run in NCHW; tfjs weights are HWIO
 * (conv) or HWC1 (depthwise), so every filter is transposed once here at build time.
 */

/** tfjs [kh, kw, in, out] → ONNX [out, in, kh, kw]. */
export function hwioToOihw(w: WeightTensor): { data: Float32Array; dims: number[] } {
  const [kh, kw, cin, cout] = w.shape;
  const src = w.data;
  const dst = new Float32Array(src.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++)
          dst[((o * cin + i) * kh + y) * kw + x] = src[((y * kw + x) * cin + i) * cout + o];
  return { data: dst, dims: [cout, cin, kh, kw] };
}

/** tfjs depthwise [kh, kw, c, 1] → ONNX grouped conv [c, 1, kh, kw]. */
export function depthwiseToOihw(w: WeightTensor): { data: Float32Array; dims: number[] } {
  const [kh, kw, c, mult] = w.shape;
  if (mult !== 1) throw new Error(`depthwise multiplier ${mult} is not supported`);
  const src = w.data;
  const dst = new Float32Array(src.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let ch = 0; ch < c; ch++) dst[(ch * kh + y) * kw + x] = src[(y * kw + x) * c + ch];
  return { data: dst, dims: [c, 1, kh, kw] };
}

export type Padding = 'same' | 'valid';

export interface ConvOptions {
  stride?: number;
  /** tfjs 'same' pads more at the bottom/right for even overhang, exactly ONNX's SAME_UPPER. */
  padding?: Padding;
  group?: number;
}

function convAttrs(kernel: readonly number[], o: ConvOptions) {
  const stride = o.stride ?? 1;
  return {
    kernel_shape: attr.ints(kernel),
    strides: attr.ints([stride, stride]),
    auto_pad: attr.string((o.padding ?? 'same') === 'same' ? 'SAME_UPPER' : 'VALID'),
    group: attr.int(o.group ?? 1),
  };
}

/** Conv2d with tfjs HWIO filter and optional bias. */
export function conv(
  g: GraphBuilder,
  x: string,
  filter: WeightTensor,
  bias: WeightTensor | Float32Array | undefined,
  o: ConvOptions = {},
  hint = 'conv',
): string {
  const { data, dims } = hwioToOihw(filter);
  const inputs = [x, g.floats(`${hint}_w`, data, dims)];
  if (bias) inputs.push(g.floats(`${hint}_b`, bias instanceof Float32Array ? bias : (bias.data as Float32Array)));
  return g.node('Conv', inputs, convAttrs([dims[2], dims[3]], o));
}

/** Depthwise conv with tfjs [kh, kw, c, 1] filter and optional bias. */
export function depthwiseConv(
  g: GraphBuilder,
  x: string,
  filter: WeightTensor,
  bias: WeightTensor | Float32Array | undefined,
  o: ConvOptions = {},
  hint = 'dw',
): string {
  const { data, dims } = depthwiseToOihw(filter);
  const inputs = [x, g.floats(`${hint}_w`, data, dims)];
  if (bias) inputs.push(g.floats(`${hint}_b`, bias instanceof Float32Array ? bias : (bias.data as Float32Array)));
  return g.node('Conv', inputs, convAttrs([dims[2], dims[3]], { ...o, group: dims[0] }));
}

/** tfjs separableConv2d: depthwise (no bias) then 1×1 pointwise with bias. */
export function separableConv(
  g: GraphBuilder,
  x: string,
  p: { depthwise: WeightTensor; pointwise: WeightTensor; bias?: WeightTensor },
  o: ConvOptions = {},
  hint = 'sep',
): string {
  const d = depthwiseConv(g, x, p.depthwise, undefined, o, `${hint}_dw`);
  return conv(g, d, p.pointwise, p.bias, { padding: 'valid' }, `${hint}_pw`);
}

export function relu(g: GraphBuilder, x: string): string {
  return g.node('Relu', [x]);
}

/** Per-channel affine y = x * scale + offset over NCHW, as a broadcast Mul/Add. */
export function channelAffine(
  g: GraphBuilder,
  x: string,
  scale: Float32Array | undefined,
  offset: Float32Array | undefined,
  hint = 'affine',
): string {
  let y = x;
  if (scale) y = g.node('Mul', [y, g.floats(`${hint}_scale`, scale, [1, scale.length, 1, 1])]);
  if (offset) y = g.node('Add', [y, g.floats(`${hint}_offset`, offset, [1, offset.length, 1, 1])]);
  return y;
}

export function maxPool(g: GraphBuilder, x: string, size: number, stride: number, padding: Padding = 'same'): string {
  return g.node('MaxPool', [x], {
    kernel_shape: attr.ints([size, size]),
    strides: attr.ints([stride, stride]),
    auto_pad: attr.string(padding === 'same' ? 'SAME_UPPER' : 'VALID'),
  });
}

/** NHWC → NCHW at the graph input, so callers can hand over interleaved RGB directly. */
export function nhwcToNchw(g: GraphBuilder, x: string): string {
  return g.node('Transpose', [x], { perm: attr.ints([0, 3, 1, 2]) });
}

export function nchwToNhwc(g: GraphBuilder, x: string): string {
  return g.node('Transpose', [x], { perm: attr.ints([0, 2, 3, 1]) });
}

/**
 * Folds an input normalisation into the first conv, which must pad nothing ('valid': every tap sees
 * a real pixel, so the fold is exact). The net was trained on x'[c] = (x[channelOf(c)] − mean[c]) /
 * divisor; the returned conv reads x directly: W'[.., c, o] = W[.., channelOf⁻¹…] / divisor and
 * b' = b − Σ W·mean / divisor. `channelOf` maps the net's input channel to the caller's (a BGR net
 * fed RGB: c → 2 − c). It saves full-resolution elementwise passes before the first conv.
 */
export function foldInputNormalization(
  filter: WeightTensor,
  bias: WeightTensor,
  mean: readonly number[],
  divisor: number,
  channelOf: (c: number) => number = (c) => c,
): { filter: WeightTensor; bias: Float32Array } {
  const [kh, kw, cin, cout] = filter.shape;
  const folded = new Float32Array(filter.data.length);
  const shift = new Float64Array(cout);
  for (let tap = 0; tap < kh * kw; tap++) {
    for (let c = 0; c < cin; c++) {
      for (let o = 0; o < cout; o++) {
        const w = filter.data[(tap * cin + c) * cout + o];
        folded[(tap * cin + channelOf(c)) * cout + o] = w / divisor;
        shift[o] += (w * mean[c]) / divisor;
      }
    }
  }
  return { filter: { shape: filter.shape, data: folded }, bias: Float32Array.from(bias.data, (b, o) => b - shift[o]) };
}
