import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { embedderEntry } from '../../src/embed/registry.js';
import { FaceKitError } from '../../src/errors.js';
import { createFaceKit } from '../../src/pipeline/kit.js';
import { exportTuned } from '../../src/train/export.js';
import { DIMS, embed, type Params, seeded, toTail } from '../../src/train/model.js';
import { FeatureNetwork, stockLastStage, stockTail } from '../../src/train/network.js';
import { stageParams, toLastStage } from '../../src/train/stage.js';
import { isolatedCacheDir } from '../helpers/photos.js';

const modelsDir = isolatedCacheDir();

/** Chips of smooth random colour fields: any input will do, the test compares two computations of one function. */
function randomChips(count: number, rnd: () => number): Float32Array[] {
  return Array.from({ length: count }, () => {
    const chip = new Float32Array(150 * 150 * 3);
    const base = [rnd() * 255, rnd() * 255, rnd() * 255];
    for (let i = 0; i < chip.length; i++) chip[i] = Math.min(255, Math.max(0, base[i % 3] + (rnd() - 0.5) * 80));
    return chip;
  });
}

/** A tuned layer far from the stock one (head included), so a graph that ignored it would fail. */
async function perturbedParams(rnd: () => number): Promise<Params> {
  const stock = await stockTail();
  const noise = (n: number, s: number) => Float64Array.from({ length: n }, () => (rnd() * 2 - 1) * s);
  const w = Float64Array.from(stock.fc, (v) => v * (1 + (rnd() - 0.5) * 0.4));
  return { w, b: noise(DIMS, 0.02), head: { u: noise(DIMS * 64, 0.2), c: noise(64, 0.05), v: noise(64 * DIMS, 0.2) } };
}

test('the exported ONNX gives the trainer forward pass within 1e-5, loaded by name through the registry', async () => {
  const rnd = seeded(11);
  const params = await perturbedParams(rnd);
  const out = await exportTuned('pets', toTail(params), { modelsDir, threshold: 0.55, training: { test: true } });
  assert.equal(out.modelId, 'dlib128+pets');
  const chips = randomChips(5, rnd);
  const network = await FeatureNetwork.open();
  const expected = embed(params, await network.features(chips));
  await network.dispose();
  const entry = embedderEntry('pets', 'embedder', modelsDir);
  assert.equal(entry.modelId, 'dlib128+pets');
  assert.equal(entry.thresholds.match, 0.55);
  const encoder = await entry.create({});
  const got = await encoder.encode(chips);
  await encoder.dispose();
  let worst = 0;
  got.forEach((d, i) => d.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - expected[i * DIMS + k])))));
  assert.ok(worst < 1e-5, `largest difference ${worst}`);
  // The stock layer gives different descriptors: the graph really carries the tuned one.
  const stockEncoder = await embedderEntry('dlib128').create({});
  const stock = await stockEncoder.encode(chips.slice(0, 1));
  await stockEncoder.dispose();
  assert.ok(Math.abs(stock[0][0] - got[0][0]) > 1e-4);
  // A kit names it like a built-in one and tags descriptors with its model id.
  const kit = createFaceKit({ embedder: 'pets', cacheDir: modelsDir });
  assert.equal(kit.embedderId, 'dlib128+pets');
  await kit.dispose();
});

test('last-stage: the hand-written block reproduces onnxruntime, and its export gives the trainer forward within 1e-5', async () => {
  const rnd = seeded(12);
  const chips = randomChips(4, rnd);
  const network = await FeatureNetwork.open({}, { stage: true });
  const views = await network.activations(chips);
  await network.dispose();
  const stageInputs = views.map((v) => v.stage as Float32Array);
  const stockBlock = await stockLastStage();
  const stock = await stockTail();
  // With the stock block, the float64 block on the cached stage input gives onnxruntime's features.
  const plain: Params = { w: Float64Array.from(stock.fc), b: new Float64Array(DIMS), stage: stageParams(stockBlock) };
  const viaStage = embed(
    plain,
    views.map((v) => v.features),
    stageInputs,
  );
  const viaFeatures = embed(
    { w: plain.w, b: plain.b },
    views.map((v) => v.features),
  );
  let worst = 0;
  viaStage.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - viaFeatures[i]))));
  assert.ok(worst < 1e-5, `stock block: largest difference ${worst}`);
  // A block far from stock, exported and run by onnxruntime from the chips.
  const params = await perturbedParams(rnd);
  const block = stageParams(stockBlock);
  for (const a of [block.w1, block.b1, block.w2, block.b2])
    for (let i = 0; i < a.length; i++) a[i] *= 1 + (rnd() - 0.5) * 0.6;
  params.stage = block;
  const expected = embed(
    params,
    views.map((v) => v.features),
    stageInputs,
  );
  await exportTuned('staged', toTail(params), {
    modelsDir,
    lastStage: toLastStage(block, stockBlock),
    threshold: 0.6,
    training: { test: true },
  });
  const encoder = await embedderEntry('staged', 'embedder', modelsDir).create({});
  const got = await encoder.encode(chips);
  await encoder.dispose();
  worst = 0;
  let moved = 0;
  got.forEach((d, i) =>
    d.forEach((v, k) => {
      worst = Math.max(worst, Math.abs(v - expected[i * DIMS + k]));
      moved = Math.max(moved, Math.abs(v - viaStage[i * DIMS + k]));
    }),
  );
  assert.ok(worst < 1e-5, `tuned block: largest difference ${worst}`);
  assert.ok(moved > 1e-3, 'the tuned block changes the descriptors');
});

test('export refuses a bad name, an existing embedder, and loading refuses a damaged file', async () => {
  const tail = await stockTail();
  await assert.rejects(
    exportTuned('../evil', tail, { modelsDir, threshold: 0.6, training: {} }),
    (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === 'out',
  );
  await assert.rejects(
    exportTuned('dlib128', tail, { modelsDir, threshold: 0.6, training: {} }),
    (e: unknown) => e instanceof FaceKitError && e.field === 'out',
  );
  const first = await exportTuned('twice', tail, { modelsDir, threshold: 0.6, training: {} });
  await assert.rejects(
    exportTuned('twice', tail, { modelsDir, threshold: 0.6, training: {} }),
    (e: unknown) => e instanceof FaceKitError && e.code === 'FILE_EXISTS',
  );
  writeFileSync(first.onnx, 'not a model');
  await assert.rejects(
    embedderEntry('twice', 'embedder', modelsDir).create({}),
    (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_CORRUPT',
  );
  assert.throws(
    () => createFaceKit({ embedder: 'nobody', cacheDir: modelsDir }),
    (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && /'twice'/.test(e.message),
  );
});
