import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracyAt, bestThreshold, parsePairs, tenFold } from '../../bench/lfw-protocol.js';

test('parsePairs reads same and different lines into folds with LFW image paths', () => {
  const text = '2 1\nAnn 1 2\nBob 1 Cid 3\nDan 2 4\nEve 1 Fay 2\n';
  const pairs = parsePairs(text);
  assert.equal(pairs.length, 4);
  assert.deepEqual(pairs[0], { fold: 0, same: true, a: 'Ann/Ann_0001.jpg', b: 'Ann/Ann_0002.jpg' });
  assert.deepEqual(pairs[1], { fold: 0, same: false, a: 'Bob/Bob_0001.jpg', b: 'Cid/Cid_0003.jpg' });
  assert.equal(pairs[3].fold, 1);
});

test('parsePairs rejects a bad header, bad lines and a wrong count', () => {
  assert.throws(() => parsePairs('x\n'), /first line/);
  assert.throws(() => parsePairs('1 1\nAnn 1\nBob 1 Cid 2\n'), /expected 3 or 4 fields/);
  assert.throws(() => parsePairs('2 1\nAnn 1 2\nBob 1 Cid 2\n'), /expected 4 pairs/);
});

test('bestThreshold separates perfectly separable distances between the classes', () => {
  const t = bestThreshold([0.2, 0.3, 0.7, 0.8], [true, true, false, false]);
  assert.ok(t > 0.3 && t < 0.7, `threshold ${t}`);
  assert.equal(accuracyAt([0.2, 0.3, 0.7, 0.8], [true, true, false, false], t), 1);
});

test('a missing descriptor (NaN distance) always counts as an error', () => {
  assert.equal(accuracyAt([0.2, Number.NaN], [true, true], 0.6), 0.5);
  assert.equal(accuracyAt([0.9, Number.NaN], [false, false], 0.6), 0.5);
});

test('tenFold picks each fold threshold without looking at that fold', () => {
  // Fold 0 alone would prefer a threshold near 0.95; the other folds put it near 0.5.
  const pairs = Array.from({ length: 40 }, (_, i) => ({ fold: Math.floor(i / 4), same: i % 4 < 2, a: '', b: '' }));
  const d = pairs.map((p, i) => (p.fold === 0 ? (p.same ? 0.9 : 1.0) : p.same ? 0.4 : 0.6 + (i % 2) * 0.01));
  const r = tenFold(pairs, d);
  assert.equal(r.foldAccuracies.length, 10);
  assert.equal(r.foldAccuracies[0], 0.5);
  assert.ok(r.thresholds[0] > 0.4 && r.thresholds[0] < 0.6);
  assert.deepEqual(r.foldAccuracies.slice(1), Array(9).fill(1));
});
