/**
 * face_recognition users' habits and a new user's first runs (issue 17): honest unknowns in
 * folder-mode identify, --all-matches, --no-retry, progress/summary on stderr, checked flags.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { cliRunner } from '../helpers/cli.js';
import { samplePath } from '../helpers/photos.js';
import { tempDir } from '../helpers/temp.js';

const root = tempDir('facekit-habits-');
const facekit = cliRunner(root, { FACEKIT_CACHE_DIR: join(root, 'cache') });
const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');
const NO_STACK = /^\s+at /m;

function region(sample: number, r: { left: number; top: number; width: number; height: number }, width?: number) {
  const img = sharp(samplePath(sample)).extract(r);
  return (width ? img.resize({ width }) : img).jpeg({ quality: 92 }).toBuffer();
}

function write(path: string, bytes: Buffer): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), bytes);
}

before(async () => {
  // sample1's second face and sample3's first are one person (distance 0.41); sample2's face is someone else.
  write('known/alice.jpg', await region(1, { left: 1272, top: 65, width: 607, height: 583 }, 300));
  write('known/bob.jpg', await region(2, { left: 1253, top: 53, width: 577, height: 564 }, 300));
  write('photos/sample3.jpg', await sharp(samplePath(3)).resize({ width: 960 }).jpeg().toBuffer());
  // Built once here, so no test's stderr carries the "building models" note.
  const built = await facekit(['models', 'build']);
  assert.equal(built.code, 0, built.stderr);
});

describe('folder-mode identify', { concurrency: true }, () => {
  test('uses the built-in threshold for the number of known people and says so on stderr; --quiet says nothing', async () => {
    const r = await facekit(['identify', 'known', 'photos', '--show-distance']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^facekit: threshold 0\.\d+: at most 2% of strangers get a known name, with 2 known people/m,
    );
    assert.match(r.stderr, /^facekit: 3 files, \d+ faces, 2 people, 0 errors, \d+\.\d s$/m);
    assert.ok(
      lines(r.stdout).every((l) => /^photos\/sample3\.jpg,(alice|bob|unknown_person),\d\.\d{6}$/.test(l)),
      r.stdout,
    );
    const quiet = await facekit(['identify', 'known', 'photos', '--quiet']);
    assert.equal(quiet.stderr, '');
    assert.deepEqual(
      lines(quiet.stdout),
      lines(r.stdout).map((l) => l.replace(/,\d\.\d+$/, '')),
    );
  });

  test('--json: stdout is one JSON document naming the threshold in force; --far changes the rate', async () => {
    const [dflt, strict] = await Promise.all([
      facekit(['identify', 'known', 'photos', '--json']),
      facekit(['identify', 'known', 'photos', '--json', '--far', '0.001']),
    ]);
    for (const r of [dflt, strict]) assert.equal(r.code, 0, r.stderr);
    const a = JSON.parse(dflt.stdout);
    const b = JSON.parse(strict.stdout);
    assert.equal(a.threshold.source, 'builtin');
    assert.equal(a.threshold.far, 0.02);
    assert.equal(a.threshold.knownPeople, 2);
    assert.equal(a.tolerance, a.threshold.value);
    assert.equal(b.threshold.far, 0.001);
    assert.ok(b.threshold.value < a.threshold.value);
  });

  test("--tolerance 0.6 --all-matches prints face_recognition's one line per known photo within it", async () => {
    const r = await facekit(['identify', 'known', 'photos', '--tolerance', '0.6', '--all-matches', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(doc.threshold, { value: 0.6, source: 'option', far: null, knownPeople: 2 });
    const faces = doc.results[0].faces as { matches: { name: string; distance: number }[] }[];
    const expected = faces.flatMap((f) =>
      f.matches.length === 0
        ? ['photos/sample3.jpg,unknown_person']
        : f.matches.map((m) => `photos/sample3.jpg,${m.name}`),
    );
    const text = await facekit(['identify', 'known', 'photos', '--tolerance', '0.6', '--all-matches']);
    assert.deepEqual(lines(text.stdout), expected);
    assert.ok(
      faces.some((f) => f.matches.some((m) => m.name === 'alice')),
      r.stdout,
    );
  });
});

describe('checked flags', { concurrency: true }, () => {
  test('out-of-range tolerance, rate and confidence are refused before any photo is read', async () => {
    const runs = await Promise.all([
      facekit(['identify', 'known', 'photos', '--tolerance', '60']),
      facekit(['identify', 'known', 'photos', '--far', '0.7']),
      facekit(['identify', 'known', 'photos', '--min-confidence', '1.5']),
      facekit(['enroll', 'known', '--min-confidence', '-1', '--db', join(root, 'g.db')]),
    ]);
    for (const r of runs) {
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^facekit: option '--[a-z-]+ <\w+>' argument '[-\d.]+' is invalid/);
      assert.doesNotMatch(r.stderr, NO_STACK);
    }
    const both = await facekit(['identify', 'known', 'photos', '--far', '0.01', '--tolerance', '0.5']);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /^facekit: .*tolerance or a false-accept rate, not both/m);
  });

  test('--cpus above the cores is capped with a note; --no-retry and --quiet are taken by every analysing command', async () => {
    const r = await facekit(['detect', 'photos', '--cpus', '64', '--no-retry']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^facekit: --cpus 64 is more than the \d+ cores here; using \d+$/m);
    for (const command of ['detect', 'identify', 'enroll', 'cluster', 'calibrate']) {
      const help = (await facekit([command, '--help'])).stdout;
      for (const option of ['--no-retry', '--quiet', '--precision'])
        assert.ok(help.includes(option), `${command} ${option}`);
    }
    for (const command of ['identify', 'enroll', 'detect'])
      assert.ok((await facekit([command, '--help'])).stdout.includes('--min-confidence'), command);
  });
});
