import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { FaceKitError } from '../../src/errors.js';
import { attr, GraphBuilder, serializeModel, type Graph } from '../../src/onnx/graph.js';
import {
  activationQuantization,
  observeConvs,
  quantizeConvs,
  quantizedTensors,
  quantizeWeights,
  RangeRecorder,
  WEIGHT_MAX,
  type TensorRanges,
} from '../../src/models/quantize.js';
import { opCount } from '../helpers/onnx.js';
import { tempDir } from '../helpers/temp.js';

const META = { producer: 'facekit-test', version: '0' };
const SHAPE = [2, 4, 8, 8];

/** Deterministic values in [-1, 1) (a fixed LCG, so a failure reproduces). */
function noise(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/**
 * x → 3×3 Conv → Relu → depthwise 3×3 Conv → Clip(0, 6) → 1×1 Conv → y: the three shapes of conv
 * the face networks use, filters of a different magnitude per output channel.
 */
function convGraph(): Graph {
  const g = new GraphBuilder('convs');
  const x = g.input('x', 'float', ['n', 4, 8, 8]);
  const w1 = noise(6 * 4 * 9, 1).map((v, i) => v / (1 + Math.floor(i / 36)));
  const c1 = g.node('Conv', [x, g.floats('w1', w1, [6, 4, 3, 3]), g.floats('b1', noise(6, 2))], {
    pads: attr.ints([1, 1, 1, 1]),
  });
  const r1 = g.node('Relu', [c1]);
  const c2 = g.node('Conv', [r1, g.floats('w2', noise(6 * 9, 3), [6, 1, 3, 3]), g.floats('b2', noise(6, 4))], {
    group: attr.int(6),
    pads: attr.ints([1, 1, 1, 1]),
  });
  const r2 = g.node('Clip', [c2, g.scalar('zero', 0), g.scalar('six', 6)]);
  const c3 = g.node('Conv', [r2, g.floats('w3', noise(3 * 6, 5), [3, 6, 1, 1]), g.floats('b3', noise(3, 6))]);
  g.output(c3, 'y', 'float', ['n', 3, 8, 8]);
  return g.toGraph();
}

async function run(
  graph: Graph,
  input: Float32Array,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(serializeModel(graph, META), { logSeverityLevel: 3, ...options });
  try {
    const out = await s.run({ x: new ort.Tensor('float32', input, SHAPE) });
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await s.release();
  }
}

/** Ranges of every quantized tensor over a few inputs, as the int8 builds measure them. */
async function calibrate(graph: Graph): Promise<TensorRanges> {
  const recorder = new RangeRecorder();
  for (let seed = 10; seed < 14; seed++) {
    for (const [name, data] of Object.entries(
      await run(
        observeConvs(graph),
        noise(
          SHAPE.reduce((a, b) => a * b),
          seed,
        ).map((v) => v * 3),
      ),
    ))
      recorder.record(name, data);
  }
  return recorder.ranges();
}

test('int8 weights: per output channel, symmetric, within half a step of the float value', () => {
  const w = Float32Array.of(
    0.5,
    -0.25,
    0.125,
    0.01,
    /* channel 1, 1000× smaller */ 5e-4,
    -2.5e-4,
    1e-4,
    0,
    /* channel 2 */ 0,
    0,
    0,
    0,
  );
  const { values, scales } = quantizeWeights(w, 3);
  assert.deepEqual([...scales.slice(0, 2)], [Math.fround(0.5 / WEIGHT_MAX), Math.fround(5e-4 / WEIGHT_MAX)]);
  for (let i = 0; i < 8; i++) {
    const s = scales[Math.floor(i / 4)];
    assert.ok(Math.abs(values[i] * s - w[i]) <= s / 2 + 1e-12, `value ${i}: ${values[i]} × ${s} vs ${w[i]}`);
  }
  // Each channel's largest magnitude takes the full range, whatever the other channels hold.
  assert.equal(values[0], WEIGHT_MAX);
  assert.equal(values[4], WEIGHT_MAX);
  assert.equal(values[5], -64);
  // An all-zero channel stays exactly zero with a usable scale.
  assert.deepEqual([...values.slice(8)], [0, 0, 0, 0]);
  assert.ok(scales[2] > 0 && Number.isFinite(scales[2]));
  assert.throws(
    () => quantizeWeights(w, 5),
    (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_BUILD_FAILED',
  );
});

test('uint8 activations: the range widened to hold 0 exactly, 255 steps across it', () => {
  const signed = activationQuantization({ min: -1, max: 3 });
  assert.equal(signed.scale, Math.fround(4 / 255));
  assert.equal(signed.zeroPoint, 64);
  // After a Relu: zero point 0, so the whole range is spent on positive values.
  assert.deepEqual(activationQuantization({ min: 2, max: 5.1 }), { scale: Math.fround(5.1 / 255), zeroPoint: 0 });
  assert.equal(activationQuantization({ min: -6, max: -1 }).zeroPoint, 255);
  assert.deepEqual(activationQuantization({ min: 0, max: 0 }), { scale: 1, zeroPoint: 0 });
});

test('the range recorder keeps the extremes over every batch', () => {
  const r = new RangeRecorder();
  r.record('a', Float32Array.of(1, -2, 3));
  r.record('a', Float32Array.of(0.5, 7));
  r.record('b', Float32Array.of(-1));
  assert.deepEqual(r.ranges().get('a'), { min: -2, max: 7 });
  assert.deepEqual(r.ranges().get('b'), { min: -1, max: -1 });
});

test('the observe graph exposes each conv input and each conv output after its Relu/Clip, and computes the same y', async () => {
  const graph = convGraph();
  const tensors = quantizedTensors(graph);
  // x, the Relu's output, the Clip's output, the last conv's output: a conv output read only by a Relu/Clip is taken after it.
  assert.equal(tensors.length, 4);
  assert.equal(tensors[0], 'x');
  const ops = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n.op] as const)));
  assert.deepEqual(
    tensors.slice(1).map((t) => ops.get(t)),
    ['Relu', 'Clip', 'Conv'],
  );
  const input = noise(
    SHAPE.reduce((a, b) => a * b),
    7,
  );
  const [plain, observed] = await Promise.all([run(graph, input), run(observeConvs(graph), input)]);
  assert.deepEqual(Object.keys(observed).sort(), ['y', ...tensors.filter((t) => t !== 'y')].sort());
  assert.deepEqual(observed.y, plain.y);
});

test('the QDQ graph stays within a few output steps of fp32, and onnxruntime runs every conv as QLinearConv', async () => {
  const graph = convGraph();
  const ranges = await calibrate(graph);
  const quantized = quantizeConvs(graph, ranges);
  // No float filter or bias is left in the file: int8 filters, int32 biases.
  assert.ok([...quantized.initializers.values()].every((t) => t.dtype !== 'float' || t.dims.length <= 1));
  assert.equal([...quantized.initializers.values()].filter((t) => t.dtype === 'int8' && t.dims.length === 4).length, 3);
  assert.equal([...quantized.initializers.values()].filter((t) => t.dtype === 'int32').length, 6);

  const input = noise(
    SHAPE.reduce((a, b) => a * b),
    99,
  ).map((v) => v * 3);
  const optimized = join(tempDir('facekit-qdq-'), 'optimized.onnx');
  const [f, q] = await Promise.all([
    run(graph, input),
    run(quantized, input, { graphOptimizationLevel: 'all', optimizedModelFilePath: optimized }),
  ]);
  const step = activationQuantization(ranges.get('y') as { min: number; max: number }).scale;
  let worst = 0;
  for (let i = 0; i < f.y.length; i++) worst = Math.max(worst, Math.abs(f.y[i] - q.y[i]));
  // Three layers of rounding (inputs, weights, two hidden activations) add up to a few steps of the output's scale.
  assert.ok(worst <= 4 * step, `max |int8 − fp32| = ${worst}, output step ${step}`);
  assert.ok(worst > 0, 'the int8 graph computes in int8, not float');

  const bytes = readFileSync(optimized);
  assert.equal(opCount(bytes, 'QLinearConv'), 3);
  assert.equal(opCount(bytes, 'Conv') + opCount(bytes, 'FusedConv'), 0, 'no conv left in float');
});

test("a range wider than a Clip's bounds is cut to them, so onnxruntime still drops the Clip and fuses its conv", async () => {
  const graph = convGraph();
  const clipped = quantizedTensors(graph)[2];
  const ranges = new Map([...(await calibrate(graph))].map(([t, r]) => [t, t === clipped ? { min: 0, max: 12 } : r]));
  const quantized = quantizeConvs(graph, ranges);
  assert.deepEqual([...(quantized.initializers.get(`${clipped}_scale`)?.data ?? [])], [Math.fround(6 / 255)]);
  const optimized = join(tempDir('facekit-qdq-'), 'optimized.onnx');
  await run(
    quantized,
    noise(
      SHAPE.reduce((a, b) => a * b),
      5,
    ),
    { graphOptimizationLevel: 'all', optimizedModelFilePath: optimized },
  );
  assert.equal(opCount(readFileSync(optimized), 'QLinearConv'), 3);
});

test('quantizing without a range for every tensor, or with a filter that is not a constant, fails naming it', () => {
  const graph = convGraph();
  assert.throws(
    () => quantizeConvs(graph, new Map([['x', { min: -3, max: 3 }]])),
    (e: unknown) =>
      e instanceof FaceKitError && e.code === 'MODEL_BUILD_FAILED' && e.field !== undefined && e.field !== 'x',
  );

  const g = new GraphBuilder('dynamic');
  const x = g.input('x', 'float', [1, 1, 4, 4]);
  const w = g.input('w', 'float', [1, 1, 3, 3]);
  g.output(g.node('Conv', [x, w]), 'y', 'float', [1, 1, 2, 2]);
  const ranges = new Map(quantizedTensors(g.toGraph()).map((t) => [t, { min: -1, max: 1 }]));
  assert.throws(
    () => quantizeConvs(g.toGraph(), ranges),
    (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_BUILD_FAILED' && e.field === 'w',
  );
});
