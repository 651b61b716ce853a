import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FaceKitError } from '../../src/errors.js';
import { MODEL_IDS, MODELS, modelSpec } from '../../src/models/registry.js';

test('every MODELS entry is keyed by its own id (ModelId is the keys)', () => {
  for (const id of MODEL_IDS) assert.equal(MODELS[id].id, id);
  assert.equal(modelSpec('dlib_resnet128'), MODELS.dlib_resnet128);
  assert.throws(
    () => modelSpec('no_such_net' as never),
    (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT',
  );
});
