import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, attr } from '../../src/onnx/graph.js';

test('a built graph loads in onnxruntime and computes broadcast Mul/Add', async () => {
  const g = new GraphBuilder('t');
  const x = g.input('x', 'float', ['n', 3]);
  const y = g.node('Add', [g.node('Mul', [x, g.scalar('two', 2)]), g.floats('b', [1, 2, 3], [1, 3])]);
  g.output(y, 'y', 'float', ['n', 3]);
  const s = await ort.InferenceSession.create(g.toModel({ producer: 'facekit-test', version: '0' }));
  const r = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]) });
  assert.deepEqual(Array.from(r.y.data as Float32Array), [3, 6, 9, 9, 12, 15]);
  await s.release();
});

test('int, ints, float and string attributes reach the runtime intact', async () => {
  const g = new GraphBuilder('attrs');
  const x = g.input('x', 'float', [1, 1, 4, 4]);
  const pooled = g.node('MaxPool', [x], {
    kernel_shape: attr.ints([2, 2]),
    strides: attr.ints([2, 2]),
    auto_pad: attr.string('VALID'),
  });
  const lrelu = g.node('LeakyRelu', [g.node('Neg', [pooled])], { alpha: attr.float(0.25) });
  const flat = g.node('Flatten', [lrelu], { axis: attr.int(1) });
  g.output(flat, 'y', 'float', [1, 4]);
  const s = await ort.InferenceSession.create(g.toModel({ producer: 'facekit-test', version: '0' }));
  const input = Float32Array.from({ length: 16 }, (_, i) => i);
  const r = await s.run({ x: new ort.Tensor('float32', input, [1, 1, 4, 4]) });
  assert.deepEqual(Array.from(r.y.data as Float32Array), [-5 * 0.25, -7 * 0.25, -13 * 0.25, -15 * 0.25]);
  await s.release();
});

test('int64 constants with negative values survive encoding (Reshape with -1)', async () => {
  const g = new GraphBuilder('reshape');
  const x = g.input('x', 'float', [2, 3]);
  const y = g.node('Reshape', [x, g.int64s('shape', [-1])]);
  g.output(y, 'y', 'float', [6]);
  const s = await ort.InferenceSession.create(g.toModel({ producer: 'facekit-test', version: '0' }));
  const r = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]) });
  assert.deepEqual(r.y.dims, [6]);
  await s.release();
});

test('a graph with an unknown op is refused by the runtime, not silently run', async () => {
  const g = new GraphBuilder('bad');
  const x = g.input('x', 'float', [1]);
  g.output(g.node('NoSuchOperator', [x]), 'y', 'float', [1]);
  await assert.rejects(ort.InferenceSession.create(g.toModel({ producer: 'facekit-test', version: '0' })));
});

test('int8 constants (ONNX type 3) reach the runtime intact: DequantizeLinear per channel', async () => {
  const g = new GraphBuilder('int8');
  const x = g.input('x', 'float', [2, 2]);
  const w = g.constant('w', { dtype: 'int8', dims: [2, 2], data: Int8Array.of(-128, 127, -1, 5) });
  const zero = g.constant('zero', { dtype: 'int8', dims: [2], data: new Int8Array(2) });
  const dq = g.node('DequantizeLinear', [w, g.floats('scale', [0.5, 2]), zero], { axis: attr.int(0) });
  g.output(g.node('Add', [x, dq]), 'y', 'float', [2, 2]);
  const s = await ort.InferenceSession.create(g.toModel({ producer: 'facekit-test', version: '0' }));
  const r = await s.run({ x: new ort.Tensor('float32', new Float32Array(4), [2, 2]) });
  assert.deepEqual(Array.from(r.y.data as Float32Array), [-64, 63.5, -2, 10]);
  await s.release();
});
