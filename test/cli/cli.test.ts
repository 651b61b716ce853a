/**
 * The built `facekit` command, run as users run it: `node dist/cli/main.js …` in a child process
 * (`npm test` builds first). Inputs are face-api's sample photos, crops of them made here, and
 * broken files made here.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { blankJpeg, samplePath } from '../helpers/photos.js';
import { CLI, cliRunner } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'facekit-cli-'));
/** One model cache for the whole file: the first run builds, the rest reuse. */
const cacheDir = join(root, 'cache');

/** Runs the CLI in `root`, so printed paths are the short relative ones the test passes. */
const facekit = cliRunner(root, { FACEKIT_CACHE_DIR: cacheDir });

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

/** A pixel region of a sample photo around a face, as JPEG: a known person's portrait. */
async function crop(
  sample: number,
  region: { left: number; top: number; width: number; height: number },
  scale = 1,
): Promise<Buffer> {
  const img = sharp(samplePath(sample)).extract(region);
  return (scale === 1 ? img : img.resize({ width: Math.round(region.width * scale) })).jpeg({ quality: 92 }).toBuffer();
}

/** Half-size copies keep every face findable while each run decodes and scans a quarter of the pixels. */
function scaled(sample: number, width: number): Promise<Buffer> {
  return sharp(samplePath(sample)).resize({ width }).jpeg({ quality: 92 }).toBuffer();
}

function write(path: string, bytes: Buffer | string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), bytes);
}

const CSS_LINE = /^(.+),(\d+),(\d+),(\d+),(\d+)$/;
const NO_STACK = /^\s+at /m;

before(async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: these tests run the built CLI, so run \`npm run build\` first`);
  // Face boxes (x, y, w, h) from the tiny detector: sample1's face 2 is "alice", sample2's only face is "bob",
  // sample4's face 3 resembles nobody else in the samples (distance > 0.6 to all).
  const alice = { left: 1422 - 150, top: 215 - 150, width: 307 + 300, height: 283 + 300 };
  write('known/alice.jpg', await crop(1, alice));
  write('known/bob/one.jpg', await crop(2, { left: 1403 - 150, top: 173 - 120, width: 277 + 300, height: 264 + 300 }));
  write(
    'known/bob/two.png',
    await sharp(await crop(2, { left: 1403 - 100, top: 173 - 80, width: 277 + 200, height: 264 + 200 }))
      .flop()
      .png()
      .toBuffer(),
  );
  write('known/group.jpg', await scaled(5, 960));
  write('known/blank.jpg', await blankJpeg());
  write('known/notes.txt', 'not a photo, and not an image name: skipped by the folder walk');
  // The same face moved within the frame and scaled down: must still be alice.
  write(
    'unknown/alice_moved.jpg',
    await crop(1, { left: 1422 - 260, top: 215 - 40, width: 307 + 330, height: 283 + 250 }, 0.7),
  );
  write(
    'unknown/grey.png',
    await sharp(await blankJpeg(400, 300))
      .png()
      .toBuffer(),
  );
  write(
    'unknown/stranger.jpg',
    await crop(4, { left: 925 - 150, top: 225 - 150, width: 268 + 300, height: 231 + 300 }),
  );
  const jpeg = readFileSync(samplePath(3));
  write('unknown/zz_truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 3)));

  write('tree/a/sample1.jpg', await scaled(1, 960));
  write(
    'tree/b/deeper/sample2.png',
    await sharp(await scaled(2, 960))
      .png()
      .toBuffer(),
  );
  write('tree/readme.txt', 'skipped');
  write('tree/.hidden.jpg', 'hidden files are skipped');
  write('bad/x.jpg', 'this is text, not a JPEG');
  write('bad/empty.jpg', '');
  write('bad/truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 3)));
  // Builds every model once, so the tests below only reuse the cache.
  const built = await facekit(['models', 'build']);
  assert.equal(built.code, 0, built.stderr);
});

after(() => rmSync(root, { recursive: true, force: true }));

const BAD = ['bad/x.jpg', 'bad/empty.jpg', 'missing.jpg', 'bad/truncated.jpg'];
const GOOD = ['tree'];

describe('facekit detect', { concurrency: true }, () => {
  test("prints face_detection's 'file,top,right,bottom,left' lines; bad files are reported and skipped, exit 1", async () => {
    const r = await facekit(['detect', ...BAD, ...GOOD]);
    assert.equal(r.code, 1);
    const out = lines(r.stdout);
    for (const l of out) assert.match(l, CSS_LINE);
    const files = out.map((l) => (CSS_LINE.exec(l) as RegExpExecArray)[1]);
    assert.deepEqual(
      files,
      ['tree/a/sample1.jpg', 'tree/a/sample1.jpg', 'tree/a/sample1.jpg', 'tree/b/deeper/sample2.png'],
      r.stderr,
    );
    for (const l of out) {
      const [, , top, right, bottom, left] = (CSS_LINE.exec(l) as RegExpExecArray).map(Number);
      assert.ok(top < bottom && left < right && top >= 0 && left >= 0, l);
    }
    const err = lines(r.stderr);
    for (const file of BAD)
      assert.ok(
        err.some((l) => l.startsWith(`${file}: `)),
        `${file} reported in:\n${r.stderr}`,
      );
    assert.doesNotMatch(r.stderr, NO_STACK);
  });

  test('--json gives results and errors; --cpus 2 answers exactly as --cpus 1', async () => {
    const [one, two] = await Promise.all([
      facekit(['detect', '--json', '--landmarks', '--cpus', '1', ...BAD, ...GOOD]),
      facekit(['detect', '--json', '--landmarks', '--cpus', '2', ...BAD, ...GOOD]),
    ]);
    assert.equal(one.code, 1);
    assert.equal(two.code, 1);
    const doc = JSON.parse(one.stdout) as {
      results: {
        file: string;
        width: number;
        height: number;
        faces: { box: Record<string, number>; score: number; landmarks: { x: number; y: number }[] }[];
      }[];
      errors: { file: string; code: string; message: string }[];
    };
    assert.deepEqual(
      doc.results.map((r) => [r.file, r.width, r.height, r.faces.length]),
      [
        ['tree/a/sample1.jpg', 960, 640, 3],
        ['tree/b/deeper/sample2.png', 960, 684, 1],
      ],
    );
    for (const face of doc.results.flatMap((r) => r.faces)) {
      assert.deepEqual(Object.keys(face.box).sort(), ['height', 'width', 'x', 'y']);
      assert.ok(face.score > 0 && face.score <= 1);
      assert.equal(face.landmarks.length, 68);
    }
    assert.deepEqual(doc.errors.map((e) => [e.file, e.code]).sort(), [
      ['bad/empty.jpg', 'EMPTY_INPUT'],
      ['bad/truncated.jpg', 'CORRUPT_IMAGE'],
      ['bad/x.jpg', 'NOT_AN_IMAGE'],
      ['missing.jpg', 'FILE_NOT_FOUND'],
    ]);
    for (const e of doc.errors) assert.ok(e.message.length > 0 && !e.message.startsWith(e.file));
    assert.deepEqual(JSON.parse(two.stdout), doc);
  });

  test('usage errors exit 1 with a facekit: message and no stack', async () => {
    const runs = await Promise.all([
      facekit(['detect', '--model', 'foo', 'tree']),
      facekit(['detect', '--cpus', '1.5', 'tree']),
      facekit(['detect', '--cpus', '0', 'tree']),
      facekit(['detect', '--min-confidence', '2', 'tree']),
      // Every detector takes [0, 1): 1 must be refused here, once, not by the detector once per file.
      facekit(['detect', '--min-confidence', '1', 'tree']),
      facekit(['detect']),
      facekit(['detect', '--precision', 'fp16', 'tree']),
    ]);
    for (const r of runs) {
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^facekit: /);
      assert.doesNotMatch(r.stderr, NO_STACK);
    }
    assert.match(runs[4].stderr, /^facekit: option '--min-confidence <n>' argument '1' is invalid/);
    assert.equal(lines(runs[4].stderr).filter((l) => l.startsWith('facekit: ')).length, 1);
    assert.match(runs[6].stderr, /^facekit: option '--precision <p>' argument 'fp16' is invalid/);
    const edge = await facekit(['detect', '--min-confidence', '0', 'tree/b']);
    assert.equal(edge.code, 0, edge.stderr);
  });

  test('--precision int8 runs the int8 SSD: the same faces, boxes within a few pixels', async () => {
    const [fp32, int8] = await Promise.all([
      facekit(['detect', '--model', 'ssd', 'tree']),
      facekit(['detect', '--model', 'ssd', '--precision', 'int8', 'tree']),
    ]);
    assert.equal(int8.code, 0, int8.stderr);
    const faces = (r: { stdout: string }) => lines(r.stdout).map((l) => l.split(','));
    const [want, got] = [faces(fp32), faces(int8)];
    assert.ok(want.length >= 4);
    assert.equal(got.length, want.length, int8.stdout);
    // Faces come best first, and int8 scores may reorder two close ones. Half-size photos: a face is
    // about 120 px across, so IoU >= 0.9 (the library's own test) allows a few pixels per side.
    const near = (a: string[], b: string[]) =>
      a[0] === b[0] && a.slice(1).every((v, k) => Math.abs(Number(v) - Number(b[k + 1])) <= 8);
    for (const face of want)
      assert.ok(
        got.some((other) => near(face, other)),
        `${face.join(',')} not in\n${int8.stdout}`,
      );
  });
});

describe('facekit identify', { concurrency: true }, () => {
  const EXPECTED = [
    /^unknown\/alice_moved\.jpg,alice,0\.\d{6}$/,
    /^unknown\/grey\.png,no_persons_found,None$/,
    /^unknown\/stranger\.jpg,unknown_person,\d\.\d{6}$/,
  ];

  test('one line per face: the closest known person, unknown_person, or no_persons_found; --cpus 2 agrees', async () => {
    const [r, parallel, plain] = await Promise.all([
      facekit(['identify', '--show-distance', '--cpus', '1', 'known', 'unknown']),
      // face_recognition spells the switch '--show-distance true'.
      facekit(['identify', '--show-distance', 'true', '--cpus', '2', 'known', 'unknown']),
      facekit(['identify', '--cpus', '1', 'known', 'unknown/alice_moved.jpg', 'unknown/stranger.jpg']),
    ]);
    assert.equal(r.code, 1, 'the truncated photo counts as a failed input');
    const out = lines(r.stdout);
    assert.equal(out.length, EXPECTED.length, r.stdout);
    out.forEach((l, i) => assert.match(l, EXPECTED[i]));
    assert.ok(Number(out[0].split(',')[2]) <= 0.6);
    assert.ok(Number(out[2].split(',')[2]) > 0.6);
    const err = r.stderr;
    assert.match(err, /^WARNING: No faces found in known\/blank\.jpg\. Ignoring file\.$/m);
    assert.match(
      err,
      /^WARNING: More than one face found in known\/group\.jpg\. Only considering the largest face\.$/m,
    );
    assert.match(err, /^unknown\/zz_truncated\.jpg: /m);
    assert.doesNotMatch(err, NO_STACK);

    assert.equal(parallel.code, 1);
    assert.equal(parallel.stdout, r.stdout);
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(lines(plain.stdout), ['unknown/alice_moved.jpg,alice', 'unknown/stranger.jpg,unknown_person']);
  });

  test('--precision int8 (with worker threads) names the same people, at distances within 0.05 of fp32', async () => {
    const photos = ['known', 'unknown/alice_moved.jpg', 'unknown/stranger.jpg'];
    const [fp32, int8] = await Promise.all([
      facekit(['identify', '--show-distance', '--cpus', '1', ...photos]),
      facekit(['identify', '--show-distance', '--precision', 'int8', '--cpus', '2', ...photos]),
    ]);
    assert.equal(int8.code, 0, int8.stderr);
    const [want, got] = [lines(fp32.stdout), lines(int8.stdout)].map((out) => out.map((l) => l.split(',')));
    assert.deepEqual(
      got.map((c) => c.slice(0, 2)),
      want.map((c) => c.slice(0, 2)),
    );
    want.forEach((c, i) =>
      assert.ok(Math.abs(Number(c[2]) - Number(got[i][2])) < 0.05, `${fp32.stdout}\n${int8.stdout}`),
    );
  });

  test('--json: per face the name (or null), the distance and the runner-up', async () => {
    const r = await facekit(['identify', '--json', '--tolerance', '0.6', '--cpus', '1', 'known', 'unknown']);
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.stdout) as {
      tolerance: number;
      known: { name: string; files: string[] }[];
      results: {
        file: string;
        faces: {
          box: object;
          name: string | null;
          distance: number;
          nearest: string;
          runnerUp: { name: string; distance: number } | null;
        }[];
      }[];
      errors: { file: string; code: string }[];
    };
    assert.equal(doc.tolerance, 0.6);
    assert.deepEqual(doc.known, [
      { name: 'alice', files: ['known/alice.jpg'] },
      { name: 'bob', files: ['known/bob/one.jpg', 'known/bob/two.png'] },
      { name: 'group', files: ['known/group.jpg'] },
    ]);
    assert.deepEqual(
      doc.results.map((x) => [x.file, x.faces.map((f) => f.name)]),
      [
        ['unknown/alice_moved.jpg', ['alice']],
        ['unknown/grey.png', []],
        ['unknown/stranger.jpg', [null]],
      ],
    );
    const face = doc.results[0].faces[0];
    assert.ok(face.runnerUp !== null && face.runnerUp.name !== 'alice' && face.runnerUp.distance >= face.distance);
    assert.equal(doc.results[2].faces[0].nearest.length > 0, true);
    assert.deepEqual(
      doc.errors.map((e) => [e.file, e.code]),
      [['unknown/zz_truncated.jpg', 'CORRUPT_IMAGE']],
    );
  });

  test('bad arguments and unusable known folders exit 1 with a clear message', async () => {
    write('known_blank/blank.jpg', await blankJpeg());
    const runs = await Promise.all([
      facekit(['identify', '--tolerance', '-1', 'known', 'unknown']),
      facekit(['identify', '--cpus', '0', 'known', 'unknown']),
      facekit(['identify', 'no_such_dir', 'unknown']),
      facekit(['identify', 'tree/readme.txt', 'unknown']),
      facekit(['identify', '--cpus', '1', 'known_blank', 'unknown/alice_moved.jpg']),
    ]);
    for (const r of runs) {
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.doesNotMatch(r.stderr, NO_STACK);
    }
    assert.match(runs[0].stderr, /^facekit: option '--tolerance <n>' argument '-1' is invalid/);
    assert.match(runs[2].stderr, /^facekit: no_such_dir: known-people folder does not exist$/m);
    assert.match(runs[3].stderr, /^facekit: tree\/readme\.txt: is not a folder/m);
    assert.match(runs[4].stderr, /WARNING: No faces found in known_blank\/blank\.jpg/);
    assert.match(runs[4].stderr, /^facekit: known_blank: holds no usable face/m);
  });
});

describe('facekit --model mtcnn', { concurrency: true }, () => {
  test('detect finds the faces, --json adds the five landmarks; identify names with it too', async () => {
    const [text, json, named] = await Promise.all([
      facekit(['detect', '--model', 'mtcnn', 'tree']),
      facekit(['detect', '--model', 'mtcnn', '--json', 'tree']),
      facekit(['identify', '--model', 'mtcnn', 'known', 'unknown/alice_moved.jpg']),
    ]);
    assert.equal(text.code, 0, text.stderr);
    const out = lines(text.stdout);
    assert.ok(out.length >= 4 && out.every((l) => CSS_LINE.test(l)), text.stdout);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as {
      results: { file: string; faces: { box: Record<string, number>; landmarks5: { x: number; y: number }[] }[] }[];
    };
    assert.equal(doc.results.flatMap((r) => r.faces).length, out.length);
    for (const face of doc.results.flatMap((r) => r.faces)) {
      assert.equal(face.landmarks5.length, 5);
      for (const p of face.landmarks5)
        assert.ok(
          p.x >= face.box.x &&
            p.x <= face.box.x + face.box.width &&
            p.y >= face.box.y &&
            p.y <= face.box.y + face.box.height,
        );
    }
    assert.equal(named.code, 0, named.stderr);
    assert.deepEqual(lines(named.stdout), ['unknown/alice_moved.jpg,alice']);
    const bad = await facekit(['detect', '--model', 'haar', 'tree']);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^facekit: option '--model <name>' argument 'haar' is invalid. Allowed choices are tiny, ssd, mtcnn, hog/,
    );
  });
});

describe('facekit models and demo', { concurrency: true }, () => {
  test('list and verify report each model; verify exits 1 on a corrupt file', async () => {
    const corruptCache = join(root, 'cache-corrupt');
    cpSync(cacheDir, corruptCache, { recursive: true });
    const tiny = readdirSync(corruptCache).find(
      (f) => f.startsWith('tiny_face_detector') && f.endsWith('.onnx'),
    ) as string;
    const bytes = readFileSync(join(corruptCache, tiny));
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(join(corruptCache, tiny), bytes);

    const [list, ok, bad, badList] = await Promise.all([
      facekit(['models', 'list', '--json']),
      facekit(['models', 'verify']),
      facekit(['models', 'verify', '--json'], { FACEKIT_CACHE_DIR: corruptCache }),
      facekit(['models'], { FACEKIT_CACHE_DIR: corruptCache }),
    ]);
    assert.equal(list.code, 0);
    const doc = JSON.parse(list.stdout) as {
      cacheDir: string;
      models: { id: string; state: string; path: string; bytes: number; description: string }[];
    };
    assert.equal(doc.cacheDir, cacheDir);
    assert.ok(doc.models.length >= 5);
    for (const id of ['mtcnn_pnet', 'mtcnn_rnet', 'mtcnn_onet'])
      assert.ok(
        doc.models.some((m) => m.id === id),
        `${id} listed`,
      );
    for (const m of doc.models) {
      assert.equal(m.state, 'ready', m.id);
      assert.ok(m.bytes > 0 && m.path.startsWith(cacheDir) && m.description.length > 0);
    }
    assert.equal(ok.code, 0, ok.stdout);
    assert.equal(bad.code, 1);
    const verdict = JSON.parse(bad.stdout) as { ok: boolean; models: { id: string; state: string }[] };
    assert.equal(verdict.ok, false);
    assert.equal(verdict.models.find((m) => m.id === 'tiny_face_detector')?.state, 'corrupt');
    assert.match(badList.stdout, /^tiny_face_detector\s+corrupt\s/m);
    assert.equal((await facekit(['models', 'frobnicate'])).code, 1);
  });

  test('build rebuilds what is missing or stale, --force every model; an older builder version shows as stale and is replaced', async () => {
    const own = join(root, 'cache-rebuild');
    cpSync(cacheDir, own, { recursive: true });
    // The tiny detector's files as an older facekit (builder v0) would have left them, and no current one.
    for (const ext of ['onnx', 'json']) {
      const current = readdirSync(own).find(
        (f) => f.startsWith('tiny_face_detector.v') && f.endsWith(`.${ext}`),
      ) as string;
      renameSync(join(own, current), join(own, `tiny_face_detector.v0.${ext}`));
    }
    const env = { FACEKIT_CACHE_DIR: own };
    const listed = await facekit(['models', 'list'], env);
    assert.match(listed.stdout, /^tiny_face_detector\s+stale\s.*tiny_face_detector\.v0\.onnx$/m);
    assert.match(listed.stdout, /stale: built by builder v0/);
    const built = await facekit(['models', 'build', '--json'], env);
    assert.equal(built.code, 0, built.stderr);
    const doc = JSON.parse(built.stdout) as { models: { id: string; state: string; built: boolean }[] };
    assert.deepEqual(
      doc.models.filter((m) => m.built).map((m) => m.id),
      ['tiny_face_detector'],
    );
    assert.ok(doc.models.every((m) => m.state === 'ready'));
    assert.deepEqual(
      readdirSync(own).filter((f) => f.includes('.v0.')),
      [],
      'the older version was removed',
    );
    const forced = await facekit(['models', 'build', '--force'], env);
    assert.equal(forced.code, 0, forced.stderr);
    const out = lines(forced.stdout);
    assert.ok(out.length >= 8 && out.every((l) => /^\S+\s+built\s.*\(\d+ ms\)$/.test(l)), forced.stdout);
  });

  test('an unwritable --out or model cache is FILE_UNWRITABLE naming the path, without a stack', async () => {
    write('in-the-way', 'a file where a folder should be');
    const cache = join(root, 'in-the-way', 'cache');
    const [demo, build] = await Promise.all([
      facekit(['demo', '--out', 'in-the-way']),
      facekit(['models', 'build'], { FACEKIT_CACHE_DIR: cache }),
    ]);
    for (const r of [demo, build]) {
      assert.equal(r.code, 1, r.stderr);
      assert.doesNotMatch(r.stderr, NO_STACK);
    }
    assert.match(demo.stderr, new RegExp(`^facekit: ${join(root, 'in-the-way')}: cannot write the demo's output`, 'm'));
    assert.match(build.stderr, new RegExp(`^facekit: ${cache}: cannot write the model cache`, 'm'));
    assert.equal(lines(build.stderr).length, 1, 'said once, not once per model');
  });

  test('demo analyses the sample photos, lists who matches whom and writes annotated images', async () => {
    const out = join(root, 'demo-out');
    const r = await facekit(['demo', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    for (let n = 1; n <= 6; n++)
      assert.match(r.stdout, new RegExp(`^sample${n}\\.jpg\\s+\\d+×\\d+\\s+\\d+\\s+\\d+\\s+\\d+$`, 'm'));
    assert.match(r.stdout, /who matches whom/);
    assert.match(r.stdout, /^\s+sample\d\.jpg #\d\s+~\s+sample\d\.jpg #\d\s+0\.\d{3}\s+person 1$/m);
    assert.match(r.stdout, /^\s+person 1: sample\d\.jpg #\d, sample\d\.jpg #\d/m);
    assert.ok(r.stdout.includes(out));
    for (let n = 1; n <= 6; n++) {
      const file = join(out, `sample${n}.jpg`);
      assert.ok(existsSync(file), file);
      const meta = await sharp(file).metadata();
      assert.equal(meta.format, 'jpeg');
    }
  });
});
