/** The MMOD builder reads weights facekit ships itself (weights/dlib-mmod), not an npm package's. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaceKitError } from '../../src/errors.js';
import { buildMmodFaceDetector } from '../../src/models/mmodFaceDetector.js';
import { FACEKIT_PACKAGE, modelSpec, weightsFolder, weightsPackageDir } from '../../src/models/registry.js';
import { readTfjsWeights } from '../../src/models/weights.js';

const spec = modelSpec('mmod_face_detector');

test("the MMOD weights are facekit's own: its package root, weights/dlib-mmod, with the CC0 notice", () => {
  assert.equal(spec.weightsPackage, FACEKIT_PACKAGE);
  assert.equal(resolve(weightsPackageDir(spec)), resolve(import.meta.dirname, '..', '..'));
  for (const f of [spec.manifest, 'mmod_human_face_detector.bin', 'LICENSE-CC0.txt'])
    assert.ok(existsSync(join(weightsFolder(spec), f)), f);
});

test('the builder checks every tensor: a missing or misshapen one is MODEL_CORRUPT naming it', async () => {
  const weights = await readTfjsWeights(weightsFolder(spec), spec.manifest);
  assert.equal(weights.size, 26, '7 convs (filters, bias) and 6 affines (gamma, beta)');
  assert.ok(buildMmodFaceDetector(weights).length > 700_000);
  const without = new Map(weights);
  without.delete('affine3/gamma');
  assert.throws(
    () => buildMmodFaceDetector(without),
    (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_CORRUPT' && e.field === 'affine3/gamma',
  );
  const misshapen = new Map(weights);
  misshapen.set('conv6/filters', { shape: [1, 45, 5, 5], data: new Float32Array(45 * 25) });
  assert.throws(
    () => buildMmodFaceDetector(misshapen),
    (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_CORRUPT' && e.field === 'conv6/filters',
  );
});
