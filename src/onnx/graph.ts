import { ProtoWriter } from './protobuf.js';

/** ONNX TensorProto.DataType values that facekit's graphs use. */
export const DataType = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9 } as const;
export type DataTypeName = keyof typeof DataType;

export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

export interface TensorValue {
  readonly dtype: DataTypeName;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** Attribute values are tagged so that 1 (int) and 1.0 (float) cannot be confused. */
export type Attribute =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'tensor'; readonly value: TensorValue };

export const attr = {
  int: (value: number): Attribute => ({ kind: 'int', value }),
  float: (value: number): Attribute => ({ kind: 'float', value }),
  string: (value: string): Attribute => ({ kind: 'string', value }),
  ints: (value: readonly number[]): Attribute => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): Attribute => ({ kind: 'floats', value }),
  tensor: (value: TensorValue): Attribute => ({ kind: 'tensor', value }),
};

/** A dimension is a fixed size or a symbolic name (batch, height, ...). */
export type Dim = number | string;

export interface GraphNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly attrs: Readonly<Record<string, Attribute>>;
}

export interface ValueInfo {
  readonly name: string;
  readonly dtype: DataTypeName;
  /** Absent: the shape is left to the runtime (an intermediate tensor exposed as an output). */
  readonly dims?: readonly Dim[];
}

/** A finished graph as plain data: nodes in topological order, as the builder recorded them. */
export interface Graph {
  readonly name: string;
  readonly nodes: readonly GraphNode[];
  readonly initializers: ReadonlyMap<string, TensorValue>;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
}

/** A rewrite of a whole graph (quantization, extra outputs for calibration) applied before serializing. */
export type GraphPass = (graph: Graph) => Graph;

export interface ModelMeta {
  readonly producer: string;
  readonly version: string;
  readonly docString?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;
/** IR 8 / opset 17: supported by every onnxruntime-node and onnxruntime-web release we target. */
export const IR_VERSION = 8;
export const OPSET = 17;

function tensorProto(name: string, t: TensorValue): ProtoWriter {
  const w = new ProtoWriter();
  w.packedInts(1, t.dims);
  w.int(2, DataType[t.dtype]);
  w.string(8, name);
  // raw_data is little-endian, which every platform onnxruntime runs on is.
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return w;
}

function attributeProto(name: string, a: Attribute): ProtoWriter {
  const w = new ProtoWriter();
  w.string(1, name);
  w.int(20, ATTRIBUTE_TYPE[a.kind]);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.int(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'tensor':
      w.message(5, tensorProto('', a.value));
      break;
    case 'floats':
      w.packedFloats(7, a.value);
      break;
    case 'ints':
      w.packedInts(8, a.value);
      break;
  }
  return w;
}

function valueInfoProto(v: ValueInfo): ProtoWriter {
  const tensorType = new ProtoWriter().int(1, DataType[v.dtype]);
  if (v.dims) {
    const shape = new ProtoWriter();
    for (const d of v.dims) {
      const dim = new ProtoWriter();
      if (typeof d === 'number') dim.int(1, d);
      else dim.string(2, d);
      shape.message(1, dim);
    }
    tensorType.message(2, shape);
  }
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, v.name).message(2, type);
}

/**
 * Builds an ONNX graph node by node. Value names are generated, so callers pass around the
 * strings that `node()` returns rather than inventing names.
 */
export class GraphBuilder {
  private readonly nodes: GraphNode[] = [];
  private readonly initializers = new Map<string, TensorValue>();
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  private fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }

  input(name: string, dtype: DataTypeName, dims: readonly Dim[]): string {
    this.inputs.push({ name, dtype, dims });
    return name;
  }

  /** Marks `value` as a graph output under `name` (an Identity node renames it if needed). */
  output(value: string, name: string, dtype: DataTypeName, dims: readonly Dim[]): void {
    if (value !== name)
      this.nodes.push({ op: 'Identity', inputs: [value], outputs: [name], name: this.fresh('Identity'), attrs: {} });
    this.outputs.push({ name, dtype, dims });
  }

  /** A constant tensor stored in the model file; `hint` makes the name readable in viewers. */
  constant(hint: string, value: TensorValue): string {
    const name = this.fresh(hint.replace(/[^A-Za-z0-9_]/g, '_'));
    this.initializers.set(name, value);
    return name;
  }

  floats(hint: string, data: Float32Array | readonly number[], dims: readonly number[] = [data.length]): string {
    return this.constant(hint, {
      dtype: 'float',
      dims,
      data: data instanceof Float32Array ? data : Float32Array.from(data),
    });
  }

  int64s(hint: string, values: readonly number[]): string {
    return this.constant(hint, { dtype: 'int64', dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
  }

  scalar(hint: string, value: number): string {
    return this.constant(hint, { dtype: 'float', dims: [], data: Float32Array.of(value) });
  }

  /** Adds one node and returns its single output. */
  node(op: string, inputs: readonly string[], attrs: Record<string, Attribute> = {}): string {
    return this.nodeN(op, inputs, 1, attrs)[0];
  }

  /** Adds one node with `outputCount` outputs; an empty string in `inputs` marks an omitted optional input. */
  nodeN(op: string, inputs: readonly string[], outputCount: number, attrs: Record<string, Attribute> = {}): string[] {
    const name = this.fresh(op);
    const outputs = Array.from({ length: outputCount }, (_, i) => `${name}_out${i}`);
    this.nodes.push({ op, inputs, outputs, name, attrs });
    return outputs;
  }

  /** The graph recorded so far, as plain data (a snapshot: later nodes do not appear in it). */
  toGraph(): Graph {
    return {
      name: this.name,
      nodes: [...this.nodes],
      initializers: new Map(this.initializers),
      inputs: [...this.inputs],
      outputs: [...this.outputs],
    };
  }

  /** Serializes to ModelProto bytes, ready for InferenceSession.create(); `pass` rewrites the graph first. */
  toModel(meta: ModelMeta, pass?: GraphPass): Uint8Array {
    const graph = this.toGraph();
    return serializeModel(pass ? pass(graph) : graph, meta);
  }
}

/** ModelProto bytes of `graph`. */
export function serializeModel(graph: Graph, meta: ModelMeta): Uint8Array {
  const g = new ProtoWriter();
  for (const n of graph.nodes) {
    const node = new ProtoWriter();
    for (const i of n.inputs) node.string(1, i);
    for (const o of n.outputs) node.string(2, o);
    node.string(3, n.name);
    node.string(4, n.op);
    for (const [k, a] of Object.entries(n.attrs)) node.message(5, attributeProto(k, a));
    g.message(1, node);
  }
  g.string(2, graph.name);
  for (const [name, t] of graph.initializers) g.message(5, tensorProto(name, t));
  for (const v of graph.inputs) g.message(11, valueInfoProto(v));
  for (const v of graph.outputs) g.message(12, valueInfoProto(v));

  const model = new ProtoWriter();
  model.int(1, IR_VERSION);
  model.string(2, meta.producer);
  model.string(3, meta.version);
  if (meta.docString) model.string(6, meta.docString);
  model.message(7, g);
  model.message(8, new ProtoWriter().string(1, '').int(2, OPSET));
  for (const [k, v] of Object.entries(meta.metadata ?? {}))
    model.message(14, new ProtoWriter().string(1, k).string(2, v));
  return model.finish();
}
