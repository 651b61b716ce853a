import { test } from 'node:test';
import assert from 'node:assert/strict';
import { averagePrecision, judgeImage, parseImglabXml, scoreAt, type TruthBox } from '../../bench/detect-eval.js';

test('imglab XML: images, boxes as x/y/width/height, ignore flags; malformed boxes are refused', () => {
  const xml = `<?xml version='1.0'?><dataset><images>
    <image file='a.jpg' width='500' height='332'>
      <box top='181' left='274' width='52' height='53'/>
      <box top='10' left='20' width='30' height='31' ignore='1'>
        <part name='00' x='1' y='2'/>
      </box>
    </image>
    <image file='dogs.jpg'/>
    <image file="b.jpg"><box top="1" left="2" width="3" height="4"/></image>
  </images></dataset>`;
  assert.deepEqual(parseImglabXml(xml), [
    {
      file: 'a.jpg',
      boxes: [
        { box: { x: 274, y: 181, width: 52, height: 53 }, ignore: false },
        { box: { x: 20, y: 10, width: 30, height: 31 }, ignore: true },
      ],
    },
    { file: 'dogs.jpg', boxes: [] },
    { file: 'b.jpg', boxes: [{ box: { x: 2, y: 1, width: 3, height: 4 }, ignore: false }] },
  ]);
  assert.throws(() => parseImglabXml("<image file='c.jpg'><box top='1' left='2' width='3'/></image>"), /c\.jpg/);
  assert.throws(() => parseImglabXml("<image><box top='1' left='2' width='3' height='4'/></image>"), /without file/);
});

const face = (x: number, ignore = false): TruthBox => ({ box: { x, y: 0, width: 10, height: 10 }, ignore });
const det = (x: number, score: number) => ({ box: { x, y: 0, width: 10, height: 10 }, score });

test('matching: best score first takes the face; a duplicate is false; a hit on an ignored face is left out', () => {
  const truth = [face(0), face(100), face(200, true)];
  const judged = judgeImage(truth, [det(1, 0.6), det(0, 0.9), det(200, 0.8), det(500, 0.7), det(104, 0.5)], 0.5);
  assert.deepEqual(judged, [
    { score: 0.9, kind: 'tp' }, // exact box
    { score: 0.8, kind: 'ignored' },
    { score: 0.7, kind: 'fp' }, // nowhere near a face
    { score: 0.6, kind: 'fp' }, // the face at 0 is already taken
    { score: 0.5, kind: 'fp' }, // IoU 6/14 < 0.5 with the face at 100
  ]);
  const s = scoreAt(judged, 2, 0.65);
  assert.deepEqual(s, { faces: 2, truePositives: 1, falsePositives: 1, precision: 0.5, recall: 0.5 });
  assert.deepEqual(scoreAt(judged, 2, 0.95), {
    faces: 2,
    truePositives: 0,
    falsePositives: 0,
    precision: 1,
    recall: 0,
  });
});

test('average precision: 1 for a perfect ranking, lower when a false detection outranks a face, recall caps it', () => {
  assert.equal(
    averagePrecision(
      [
        { score: 0.9, kind: 'tp' },
        { score: 0.8, kind: 'tp' },
        { score: 0.1, kind: 'fp' },
      ],
      2,
    ),
    1,
  );
  // fp first: precision 1/2 at recall 0.5, 2/3 at recall 1, monotone envelope 2/3 throughout.
  assert.ok(
    Math.abs(
      averagePrecision(
        [
          { score: 0.9, kind: 'fp' },
          { score: 0.8, kind: 'tp' },
          { score: 0.7, kind: 'tp' },
        ],
        2,
      ) -
        2 / 3,
    ) < 1e-12,
  );
  // Half the faces never found: AP at most 0.5; ignored detections do not count.
  assert.equal(
    averagePrecision(
      [
        { score: 0.9, kind: 'tp' },
        { score: 0.95, kind: 'ignored' },
      ],
      2,
    ),
    0.5,
  );
  assert.ok(Number.isNaN(averagePrecision([], 0)));
});
