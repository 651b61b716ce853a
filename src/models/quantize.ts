import { FaceKitError } from '../errors.js';
import { attr, type Graph, type GraphNode, type TensorValue, type ValueInfo } from '../onnx/graph.js';

/**
 * int8 quantization of a built fp32 graph, in the QDQ form onnxruntime fuses: every Conv reads
 * DequantizeLinear(uint8 activation), DequantizeLinear(int8 weights, per output channel) and
 * DequantizeLinear(int32 bias), and its result passes QuantizeLinear→DequantizeLinear. onnxruntime
 * turns each such group into one QLinearConv (integer arithmetic, VNNI where the CPU has it); what
 * lies between a DQ and the next Q (Relu, Add, Pad, pooling) it runs in int8 where it has a kernel
 * (residual Adds become QLinearAdd, Relus vanish into the ranges) and in float elsewhere.
 *
 * Two passes over the same graph: `observeConvs` exposes the tensors to be quantized as graph
 * outputs, so a calibration run can measure their ranges; `quantizeConvs` then rewrites the graph
 * with those ranges.
 */

/** Smallest and largest value one tensor took over the calibration set. */
export interface TensorRange {
  readonly min: number;
  readonly max: number;
}

export type TensorRanges = ReadonlyMap<string, TensorRange>;

/** uint8 activations: 256 levels, the zero point wherever the range puts 0. */
const ACTIVATION_MAX = 255;
/**
 * Symmetric int8 weights use -127..127, not -128, so that w and -w quantize alike. (7-bit weights,
 * which would rule out the int16 saturation of x86's pre-VNNI u8×s8 instruction, doubled the
 * encoder's fp32–int8 distance on the calibration faces: see the README's note on such CPUs.)
 */
export const WEIGHT_MAX = 127;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

type Readers = ReadonlyMap<string, readonly GraphNode[]>;

function readersOf(graph: Graph): Readers {
  const readers = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) {
    for (const i of n.inputs) {
      if (i === '') continue;
      const list = readers.get(i);
      if (list) list.push(n);
      else readers.set(i, [n]);
    }
  }
  return readers;
}

/** The bounds of a Clip whose bounds are constants (an omitted one is unbounded). */
function clipBounds(node: GraphNode, graph: Graph): TensorRange | undefined {
  if (node.op !== 'Clip') return undefined;
  const bound = (name: string | undefined, none: number): number | undefined => {
    if (name === undefined || name === '') return none;
    const t = graph.initializers.get(name);
    return t !== undefined && t.data.length === 1 ? Number(t.data[0]) : undefined;
  };
  const min = bound(node.inputs[1], -Infinity);
  const max = bound(node.inputs[2], Infinity);
  return min === undefined || max === undefined ? undefined : { min, max };
}

/**
 * Relu, or Clip whose lower bound is 0 (ReLU6): a uint8 range that starts at 0 clamps as they do,
 * so onnxruntime drops them and the Conv feeds its QuantizeLinear directly.
 */
function clampsAtZero(node: GraphNode, graph: Graph): boolean {
  return node.op === 'Relu' || clipBounds(node, graph)?.min === 0;
}

/** Where a Conv's result is quantized: after its activation when that activation alone reads it. */
function quantizedOutput(conv: GraphNode, readers: Readers, graph: Graph): string {
  const out = conv.outputs[0];
  const next = readers.get(out) ?? [];
  const isGraphOutput = graph.outputs.some((o) => o.name === out);
  return next.length === 1 && !isGraphOutput && clampsAtZero(next[0], graph) ? next[0].outputs[0] : out;
}

/**
 * Each Conv's input, and its output (or its activation's, see quantizedOutput). Each is quantized
 * where it is made and every reader, Convs or not, reads the dequantized value: a residual Add
 * whose inputs and output are all quantized becomes onnxruntime's QLinearAdd, so the tensors stay
 * uint8 between layers (measured on the dlib encoder: 25 % faster than keeping the shortcuts float,
 * for +0.002 mean descriptor distance to fp32).
 */
function plan(graph: Graph): Set<string> {
  const readers = readersOf(graph);
  const tensors = new Set<string>();
  for (const n of graph.nodes) {
    if (n.op !== 'Conv') continue;
    tensors.add(n.inputs[0]);
    tensors.add(quantizedOutput(n, readers, graph));
  }
  return tensors;
}

/** Every tensor the QDQ pass quantizes, in graph order: what calibration has to measure. */
export function quantizedTensors(graph: Graph): string[] {
  const quantized = plan(graph);
  return [...graph.inputs.map((v) => v.name), ...graph.nodes.flatMap((n) => n.outputs)].filter((t) => quantized.has(t));
}

/**
 * The graph with every tensor `quantizedTensors` names also exposed as a graph output (shape left
 * to the runtime), for the calibration run. The graph computes exactly what it did.
 */
export function observeConvs(graph: Graph): Graph {
  const existing = new Set(graph.outputs.map((o) => o.name));
  const extra: ValueInfo[] = quantizedTensors(graph)
    .filter((t) => !existing.has(t))
    .map((name) => ({ name, dtype: 'float' }));
  return { ...graph, outputs: [...graph.outputs, ...extra] };
}

/** Scale and zero point of a uint8 activation spanning `range` (widened to hold 0: zero padding must stay exact). */
export function activationQuantization(range: TensorRange): { scale: number; zeroPoint: number } {
  const low = Math.min(range.min, 0);
  const high = Math.max(range.max, 0);
  // A tensor that was 0 everywhere quantizes exactly with any scale.
  const scale = Math.fround(high > low ? (high - low) / ACTIVATION_MAX : 1);
  const zeroPoint = Math.min(ACTIVATION_MAX, Math.max(0, Math.round(-low / scale)));
  return { scale, zeroPoint };
}

/**
 * Symmetric int8 quantization per output channel of a Conv filter laid out [out, ...]: each
 * channel's largest magnitude maps to ±WEIGHT_MAX.
 */
export function quantizeWeights(data: Float32Array, channels: number): { values: Int8Array; scales: Float32Array } {
  const per = data.length / channels;
  if (!Number.isInteger(per))
    throw new FaceKitError(
      'MODEL_BUILD_FAILED',
      `a filter of ${data.length} values does not split into ${channels} channels`,
    );
  const values = new Int8Array(data.length);
  const scales = new Float32Array(channels);
  for (let o = 0; o < channels; o++) {
    let largest = 0;
    for (let i = o * per; i < (o + 1) * per; i++) largest = Math.max(largest, Math.abs(data[i]));
    // An all-zero channel quantizes exactly with any scale.
    scales[o] = largest > 0 ? largest / WEIGHT_MAX : 1;
    for (let i = o * per; i < (o + 1) * per; i++)
      values[i] = Math.max(-WEIGHT_MAX, Math.min(WEIGHT_MAX, Math.round(data[i] / scales[o])));
  }
  return { values, scales };
}

function floatInitializer(graph: Graph, name: string, what: string): TensorValue {
  const t = graph.initializers.get(name);
  if (t?.dtype !== 'float')
    throw new FaceKitError('MODEL_BUILD_FAILED', `cannot quantize: ${what} ${name} is not a float constant`, {
      field: name,
    });
  return t;
}

/**
 * The QDQ int8 graph. `ranges` must hold every tensor `quantizedTensors(graph)` names, measured on
 * this same graph (names are the builder's, identical from one build to the next).
 */
export function quantizeConvs(graph: Graph, ranges: TensorRanges): Graph {
  const quantized = plan(graph);
  const initializers = new Map(graph.initializers);
  const nodes: GraphNode[] = [];
  const scaleOf = new Map<string, number>();
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  // A graph input keeps its name for the caller, so its readers are pointed at the dequantized copy instead.
  const renamedInputs = new Map(graph.inputs.filter((v) => quantized.has(v.name)).map((v) => [v.name, `${v.name}_dq`]));
  const reading = (x: string): string => renamedInputs.get(x) ?? x;

  const constant = (name: string, value: TensorValue): string => {
    initializers.set(name, value);
    return name;
  };
  /** QuantizeLinear(from) → DequantizeLinear → `to`, with the range calibration measured for `tensor`. */
  const quantizeActivation = (tensor: string, from: string, to: string): void => {
    const measured = ranges.get(tensor);
    if (!measured || !Number.isFinite(measured.min) || !Number.isFinite(measured.max)) {
      throw new FaceKitError('MODEL_BUILD_FAILED', `no calibrated range for tensor ${tensor}`, { field: tensor });
    }
    // A Clip's output never leaves its bounds: a range past them (calibration headroom) would waste
    // levels, and would keep onnxruntime from dropping the Clip, leaving its Conv in float.
    const made = producer.get(tensor);
    const bounds = made && clipBounds(made, graph);
    const range = bounds
      ? { min: Math.max(measured.min, bounds.min), max: Math.min(measured.max, bounds.max) }
      : measured;
    const { scale, zeroPoint } = activationQuantization(range);
    scaleOf.set(tensor, scale);
    const s = constant(`${tensor}_scale`, { dtype: 'float', dims: [], data: Float32Array.of(scale) });
    const z = constant(`${tensor}_zero`, { dtype: 'uint8', dims: [], data: Uint8Array.of(zeroPoint) });
    nodes.push({
      op: 'QuantizeLinear',
      inputs: [from, s, z],
      outputs: [`${tensor}_q`],
      name: `${tensor}_Q`,
      attrs: {},
    });
    nodes.push({
      op: 'DequantizeLinear',
      inputs: [`${tensor}_q`, s, z],
      outputs: [to],
      name: `${tensor}_DQ`,
      attrs: {},
    });
  };

  const quantizedConv = (conv: GraphNode, convOutputs: readonly string[]): GraphNode => {
    const [x, w, b] = conv.inputs;
    const filter = floatInitializer(graph, w, `the filter of ${conv.name}`);
    const channels = filter.dims[0];
    const { values, scales } = quantizeWeights(filter.data as Float32Array, channels);
    const perChannel = { axis: attr.int(0) };
    const wq = constant(`${conv.name}_w_int8`, { dtype: 'int8', dims: filter.dims, data: values });
    const ws = constant(`${conv.name}_w_scale`, { dtype: 'float', dims: [channels], data: scales });
    const wz = constant(`${conv.name}_w_zero`, { dtype: 'int8', dims: [channels], data: new Int8Array(channels) });
    nodes.push({
      op: 'DequantizeLinear',
      inputs: [wq, ws, wz],
      outputs: [`${conv.name}_w_dq`],
      name: `${conv.name}_w_DQ`,
      attrs: perChannel,
    });
    const convInputs = [reading(x), `${conv.name}_w_dq`];
    if (b !== undefined && b !== '') {
      // onnxruntime fuses a Conv into QLinearConv only with an int32 bias whose scale is input scale × weight scale.
      const inputScale = scaleOf.get(x) as number;
      const bias = floatInitializer(graph, b, `the bias of ${conv.name}`).data as Float32Array;
      const bs = Float32Array.from(scales, (s) => inputScale * s);
      const bq = Int32Array.from(bias, (v, o) => Math.max(INT32_MIN, Math.min(INT32_MAX, Math.round(v / bs[o]))));
      const bqName = constant(`${conv.name}_b_int32`, { dtype: 'int32', dims: [channels], data: bq });
      const bsName = constant(`${conv.name}_b_scale`, { dtype: 'float', dims: [channels], data: bs });
      const bzName = constant(`${conv.name}_b_zero`, {
        dtype: 'int32',
        dims: [channels],
        data: new Int32Array(channels),
      });
      nodes.push({
        op: 'DequantizeLinear',
        inputs: [bqName, bsName, bzName],
        outputs: [`${conv.name}_b_dq`],
        name: `${conv.name}_b_DQ`,
        attrs: perChannel,
      });
      convInputs.push(`${conv.name}_b_dq`);
    }
    return { ...conv, inputs: convInputs, outputs: convOutputs };
  };

  for (const [name, copy] of renamedInputs) quantizeActivation(name, name, copy);
  for (const n of graph.nodes) {
    // A tensor quantized where it is made keeps its name for its readers: the producer writes the float under another.
    const made = n.outputs.map((o) => (quantized.has(o) ? `${o}_float` : o));
    nodes.push(n.op === 'Conv' ? quantizedConv(n, made) : { ...n, inputs: n.inputs.map(reading), outputs: made });
    n.outputs.forEach((o, i) => {
      if (quantized.has(o)) quantizeActivation(o, made[i], o);
    });
  }
  // The float filters and biases the int8 ones replaced are read by nobody now.
  const read = new Set(nodes.flatMap((n) => n.inputs));
  for (const name of [...initializers.keys()]) if (!read.has(name)) initializers.delete(name);
  return { ...graph, nodes, initializers };
}

/** Running min/max of named tensors over calibration batches. */
export class RangeRecorder {
  private readonly seen = new Map<string, { min: number; max: number }>();

  record(name: string, data: Float32Array): void {
    let { min, max } = this.seen.get(name) ?? { min: Infinity, max: -Infinity };
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    this.seen.set(name, { min, max });
  }

  ranges(): TensorRanges {
    return new Map(this.seen);
  }
}
