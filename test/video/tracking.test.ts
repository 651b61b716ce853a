import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assignWithin, iou, solveAssignment } from '../../src/video/assignment.js';
import { BoxKalman, boxToMeasurement, invert, measurementToBox, multiply } from '../../src/video/kalman.js';
import { Tracker } from '../../src/video/tracker.js';

const close = (a: number, b: number, eps = 1e-3): void => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

describe('Hungarian assignment', () => {
  it('finds the least-cost matching of a square matrix (hand-checked: 1 + 2 + 2 = 5)', () => {
    assert.deepEqual(
      solveAssignment([
        [4, 1, 3],
        [2, 0, 5],
        [3, 2, 2],
      ]),
      [1, 0, 2],
    );
  });
  it('leaves the dearest row unassigned when rows outnumber columns', () => {
    // r2→c0 (0) + r1→c1 (1) = 1 beats r0→c0 + r1→c1 = 2 and r0→c1 + r2→c0 = 2.
    assert.deepEqual(
      solveAssignment([
        [1, 2],
        [2, 1],
        [0, 5],
      ]),
      [-1, 1, 0],
    );
  });
  it('handles more columns than rows and empty matrices', () => {
    assert.deepEqual(solveAssignment([[5, 1, 9]]), [1]);
    assert.deepEqual(solveAssignment([]), []);
    assert.deepEqual(solveAssignment([[], []]), [-1, -1]);
  });
  it('does not take the greedy choice when it is not optimal', () => {
    // Greedy takes (0,0)=1 then (1,1)=10: 11; optimal (0,1)=2 + (1,0)=2: 4.
    assert.deepEqual(
      solveAssignment([
        [1, 2],
        [2, 10],
      ]),
      [1, 0],
    );
  });
  it('assignWithin drops pairs costlier than the limit', () => {
    assert.deepEqual(
      assignWithin(
        [
          [0.1, 0.9],
          [0.95, 0.99],
        ],
        0.7,
      ),
      [[0, 0]],
    );
  });
  it('IoU of two 2×2 boxes overlapping by one pixel square is 1/7', () => {
    close(iou({ x: 0, y: 0, width: 2, height: 2 }, { x: 1, y: 1, width: 2, height: 2 }), 1 / 7, 1e-12);
    assert.equal(iou({ x: 0, y: 0, width: 1, height: 1 }, { x: 5, y: 5, width: 1, height: 1 }), 0);
  });
});

describe('Kalman box filter', () => {
  it('turns boxes into centre/area/aspect and back', () => {
    const box = { x: 10, y: 20, width: 40, height: 80 };
    assert.deepEqual(boxToMeasurement(box), [30, 60, 3200, 0.5]);
    const back = measurementToBox(boxToMeasurement(box));
    for (const k of ['x', 'y', 'width', 'height'] as const) close(back[k], box[k], 1e-9);
  });
  it('inverts a matrix', () => {
    const m = [
      [4, 7],
      [2, 6],
    ];
    const product = multiply(m, invert(m));
    close(product[0][0], 1, 1e-12);
    close(product[0][1], 0, 1e-12);
    close(product[1][1], 1, 1e-12);
  });
  it('moves by the hand-computed gain after one shifted measurement', () => {
    // x: P = 10 (position), 10000 (velocity); after predict Pxx = 10 + 10000 + 1 = 10011, Pxv = 10000.
    // S = 10011 + 1; a +10 px measurement moves cx by 10·10011/10012 and sets v to 10·10000/10012.
    const k = new BoxKalman({ x: 10, y: 20, width: 40, height: 80 });
    const predicted = k.predict();
    close(predicted.x, 10, 1e-9);
    k.update({ x: 20, y: 20, width: 40, height: 80 });
    close(k.state[0], 30 + (10 * 10011) / 10012);
    close(k.state[4], (10 * 10000) / 10012);
    k.predict();
    close(k.state[0], 30 + (10 * 10011) / 10012 + (10 * 10000) / 10012);
  });
  it('grows less sure of the centre while it only predicts', () => {
    const k = new BoxKalman({ x: 0, y: 0, width: 50, height: 50 });
    k.update({ x: 0, y: 0, width: 50, height: 50 });
    const sure = k.centreSpread;
    for (let i = 0; i < 10; i++) k.predict();
    assert.ok(k.centreSpread > 2 * sure, `${k.centreSpread} vs ${sure}`);
  });
});

const box = (x: number, y = 50, side = 60) => ({ box: { x, y, width: side, height: side }, score: 0.9 });
const vector = (fill: number) => Float32Array.from({ length: 128 }, (_, i) => (i === 0 ? fill : 0));

describe('Tracker', () => {
  it('confirms a track after minHits passes and follows a moving face with one id', async () => {
    const t = new Tracker({ minHits: 2 });
    const describe = async (idx: readonly number[]) => idx.map(() => vector(0));
    const first = await t.update(0, 0, [box(10)], describe);
    assert.equal(first.born.length, 1);
    assert.equal(first.confirmed.length, 0);
    const second = await t.update(1, 0.1, [box(15)], describe);
    assert.equal(second.confirmed.length, 1);
    for (let f = 2; f < 20; f++) await t.update(f, f / 10, [box(10 + 5 * f)], describe);
    assert.equal(t.tracks.length, 1);
    assert.equal(t.tracks[0].id, 1);
    // Between detections the prediction follows the motion (5 px a frame).
    t.predict(22);
    close(t.tracks[0].box.x, 10 + 5 * 22, 3);
  });
  it('drops a tentative track that misses and ends a confirmed one after maxAgeSeconds', async () => {
    const t = new Tracker({ minHits: 2, maxAgeSeconds: 0.5 });
    const describe = async (idx: readonly number[]) => idx.map(() => vector(0));
    await t.update(0, 0, [box(10), box(200)], describe);
    await t.update(1, 0.1, [box(10)], describe);
    assert.equal(t.tracks.length, 1, 'the once-seen face is gone');
    assert.equal((await t.update(2, 0.4, [], describe)).ended.length, 0);
    const late = await t.update(3, 0.7, [], describe);
    assert.deepEqual(
      late.ended.map((x) => x.id),
      [1],
    );
  });
  it('asks for a detection while a track is new or just lost, not for every frame it stays lost', async () => {
    const t = new Tracker({ minHits: 2, maxAgeSeconds: 5 });
    const describe = async (idx: readonly number[]) => idx.map(() => vector(0));
    await t.update(0, 0, [box(10)], describe);
    assert.equal(t.uncertain, true, 'tentative');
    await t.update(1, 0.1, [box(10)], describe);
    await t.update(2, 0.2, [box(10)], describe);
    assert.equal(t.uncertain, false, 'confirmed and still');
    await t.update(3, 0.3, [], describe);
    assert.equal(t.uncertain, true, 'missed once: look again on the next frame');
    await t.update(4, 0.4, [], describe);
    assert.equal(t.tracks.length, 1, 'kept for re-joining');
    assert.equal(t.uncertain, false, 'missed twice: back to the regular cadence');
  });
  it('re-joins a lost track by appearance, and not a stranger', async () => {
    const t = new Tracker({ minHits: 2, maxAgeSeconds: 5 });
    const same = vector(0.1);
    const other = vector(0.9);
    let next = same;
    const describe = async (idx: readonly number[]) => idx.map(() => next);
    await t.update(0, 0, [box(10)], describe);
    await t.update(1, 0.1, [box(10)], describe);
    t.tracks[0].remember(same);
    await t.update(2, 0.2, [], describe);
    // Back far from where it vanished: IoU cannot match it, appearance does.
    const back = await t.update(3, 0.3, [box(250, 150)], describe);
    assert.deepEqual(
      back.rejoined.map((x) => x.id),
      [1],
    );
    await t.update(4, 0.4, [], describe);
    next = other;
    const stranger = await t.update(5, 0.5, [box(10, 10)], describe);
    assert.equal(stranger.rejoined.length, 0);
    assert.equal(stranger.born.length, 1);
  });
});
