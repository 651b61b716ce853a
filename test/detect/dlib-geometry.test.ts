/** The dlib rectangle helpers HOG and MMOD share: rect_down after upsampling and dlib's NMS. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DlibRect, dlibNms, pointUp6Levels, rectDown2 } from '../../src/detect/dlib-geometry.js';

const rect = (left: number, top: number, right: number, bottom: number): DlibRect => ({ left, top, right, bottom });

describe('dlib geometry shared by HOG and MMOD', () => {
  test('rectDown2 undoes pyramid_up the way dlib rounds it', () => {
    // pyramid_down<2>::point_down: x/2 − 1.25, y/2 − 0.75, then rounded half up.
    assert.deepEqual(rectDown2(rect(102, 53, 181, 132), 1), rect(50, 26, 89, 65));
    assert.deepEqual(rectDown2(rect(102, 53, 181, 132), 0), rect(102, 53, 181, 132));
    assert.deepEqual(rectDown2(rect(400, 400, 479, 479), 2), rect(98, 99, 118, 119));
  });

  test('pointUp6Levels maps a level coordinate up 6/5 per level', () => {
    assert.equal(pointUp6Levels(10, 0), 10);
    assert.ok(Math.abs(pointUp6Levels(10, 2) - ((10 * 1.2 + 0.3) * 1.2 + 0.3)) < 1e-12);
  });

  test('dlibNms keeps the first of overlapping boxes in the order given, and boxes apart', () => {
    const found = [
      { rect: rect(0, 0, 99, 99), score: 3 },
      { rect: rect(10, 10, 109, 109), score: 2 }, // IoU 0.68 with the first: dropped
      { rect: rect(200, 0, 299, 99), score: 1.5 }, // apart: kept
      { rect: rect(220, 20, 259, 59), score: 1 }, // wholly inside the third: dropped by the covered rule
      { rect: rect(60, 0, 159, 99), score: 0.5 }, // IoU 0.25, 40 % covered: kept
    ];
    assert.deepEqual(
      dlibNms(found, 0.33, 0.79).map((d) => d.score),
      [3, 1.5, 0.5],
    );
    // Without the covered rule the nested box stays.
    assert.deepEqual(
      dlibNms(found, 0.33, 1).map((d) => d.score),
      [3, 1.5, 1, 0.5],
    );
    assert.deepEqual(dlibNms([], 0.33, 0.79), []);
  });
});
