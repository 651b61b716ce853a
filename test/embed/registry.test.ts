import assert from 'node:assert/strict';
import { test } from 'node:test';
import { embedderEntry, embedderNames, registerEmbedder, type EmbedderEntry } from '../../src/embed/registry.js';
import { DEFAULT_EMBEDDER, DLIB128, EMBEDDER_ID } from '../../src/embed/spec.js';
import { FaceKitError } from '../../src/errors.js';
import { createFaceKit } from '../../src/pipeline/kit.js';
import { DEFAULT_TOLERANCE } from '../../src/match/distance.js';

const isInvalid = (field: string) => (e: unknown) =>
  e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT' && e.field === field;

test('dlib128 is the default embedder; its thresholds are the match defaults', () => {
  assert.equal(DEFAULT_EMBEDDER, 'dlib128');
  assert.equal(EMBEDDER_ID, 'dlib_resnet128');
  assert.equal(embedderEntry('dlib128').dimensions, 128);
  assert.equal(embedderEntry('dlib128').template().size, DLIB128.chipSize);
  assert.equal(DEFAULT_TOLERANCE, DLIB128.thresholds.match);
  assert.equal(createFaceKit().embedderId, 'dlib_resnet128');
});

test('an unknown embedder is refused by name, by the registry and by the kit', () => {
  assert.throws(() => embedderEntry('arcface'), isInvalid('embedder'));
  assert.throws(() => createFaceKit({ embedder: 'arcface' }), /unknown embedder "arcface" \(use 'dlib128'/);
});

test('registerEmbedder adds an embedder a kit can name, and refuses reused names, ids and bad sizes', () => {
  const tuned: EmbedderEntry = {
    ...DLIB128,
    name: 'test-tuned',
    modelId: 'test_tuned_v1',
    create: embedderEntry('dlib128').create,
  };
  registerEmbedder(tuned);
  assert.ok(embedderNames().includes('test-tuned'));
  assert.equal(createFaceKit({ embedder: 'test-tuned' }).embedderId, 'test_tuned_v1');
  assert.throws(() => registerEmbedder(tuned), isInvalid('name'));
  assert.throws(() => registerEmbedder({ ...tuned, name: 'other' }), isInvalid('modelId'));
  assert.throws(() => registerEmbedder({ ...tuned, name: 'x', modelId: 'x', dimensions: 0 }), isInvalid('dimensions'));
  assert.throws(
    () => registerEmbedder({ ...tuned, name: 'y', modelId: 'y', thresholds: { match: 0, cluster: 0.4 } }),
    isInvalid('thresholds.match'),
  );
});
