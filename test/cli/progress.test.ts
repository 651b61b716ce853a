import assert from 'node:assert/strict';
import { test } from 'node:test';
import { barLine, clock, startProgress, summaryLine } from '../../src/cli/progress.js';
import { capCpus } from '../../src/cli/output.js';

function sink(isTTY: boolean) {
  const written: string[] = [];
  return { isTTY, written, write: (t: string) => written.push(t) > 0 };
}

test('clock, bar and summary read as a person expects', () => {
  assert.equal(clock(7), '0:07');
  assert.equal(clock(65), '1:05');
  assert.equal(clock(3725), '1:02:05');
  assert.match(barLine(120, 500, 40_000), /^\[#{6}-{18}\] 120\/500 24% 3\.0 files\/s ETA 2:07$/);
  assert.match(barLine(0, 10, 0), /ETA \?$/);
  assert.equal(
    summaryLine({ files: 500, faces: 480, people: 1, errors: 2 }, 24_100),
    '500 files, 480 faces, 1 person, 2 errors, 24.1 s',
  );
  assert.equal(summaryLine({ files: 1, faces: 0, errors: 0 }, 0), '1 file, 0 faces, 0 errors, 0.0 s');
});

test('on a terminal: a bar redrawn in place, then cleared and one summary line', () => {
  const s = sink(true);
  const p = startProgress(3, {}, s);
  p.tick({ ok: true, faces: [1, 2] });
  p.tick({ ok: false });
  p.tick({ ok: true, faces: [] });
  p.finish({ people: 4 });
  assert.ok(s.written.some((w) => w.startsWith('\r[') && w.includes('3/3')));
  assert.equal(s.written.at(-2), '\r\x1b[K');
  assert.match(s.written.at(-1) as string, /^facekit: 3 files, 2 faces, 4 people, 1 error, \d+\.\d s\n$/);
});

test('not a terminal: no bar, only the summary; --quiet: nothing at all', () => {
  const piped = sink(false);
  const p = startProgress(2, {}, piped);
  p.tick({ ok: true, faces: [1] });
  p.finish();
  assert.equal(piped.written.length, 1);
  assert.match(piped.written[0], /^facekit: 1 file, 1 face, 0 errors/);
  const quiet = sink(true);
  const q = startProgress(2, { quiet: true }, quiet);
  q.tick({ ok: true, faces: [] });
  q.finish();
  assert.deepEqual(quiet.written, []);
});

test('--cpus above the core count is capped, with a note', () => {
  const notes: string[] = [];
  assert.equal(
    capCpus(8, 2, (m) => notes.push(m)),
    2,
  );
  assert.match(notes[0], /--cpus 8 is more than the 2 cores here; using 2/);
  assert.equal(
    capCpus(2, 2, (m) => notes.push(m)),
    2,
  );
  assert.equal(notes.length, 1);
});
