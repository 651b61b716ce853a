/** The Gallery on synthetic descriptors: identification, aggregation, open-set, calibration, sync between processes, the ANN switch, clusters. */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FaceKitError } from '../../src/errors.js';
import { openGallery, type Gallery, type GalleryOptions } from '../../src/gallery/gallery.js';
import { ANN_STATE_KEY } from '../../src/search/ann.js';
import { openSqliteStore } from '../../src/gallery/sqlite.js';
import { EMBEDDER_ID } from '../../src/embed/spec.js';
import { DEFAULT_TOLERANCE } from '../../src/match/distance.js';
import { Faces, fakeHash } from '../helpers/descriptors.js';

const root = mkdtempSync(join(tmpdir(), 'facekit-gallery-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `g${n++}.db`);
const code = (c: string) => (e: unknown) => e instanceof FaceKitError && e.code === c;

/** The ANN index state the gallery saved in its store. */
async function annState(path: string): Promise<{ size: number; bytes: number; maxFaceId: number; logSeq: number }> {
  const s = openSqliteStore(path);
  try {
    return JSON.parse((await s.getState(ANN_STATE_KEY)) as string) as {
      size: number;
      bytes: number;
      maxFaceId: number;
      logSeq: number;
    };
  } finally {
    await s.close();
  }
}

async function using<T>(options: GalleryOptions, fn: (g: Gallery) => Promise<T>): Promise<T> {
  const g = await openGallery(options);
  try {
    return await fn(g);
  } finally {
    await g.close();
  }
}

describe('gallery: identification', () => {
  const f = new Faces(21);
  const people = f.people(40, 3);
  const file = fresh();

  test('names enrolled people, says unknown for strangers, and gives distance, runner-up and margin', async () => {
    await using({ path: file }, async (g) => {
      await g.enrollMany(people);
      assert.equal(g.size, 120);
      const probes = people.slice(0, 10).map((p) => f.photo(p.centre));
      const strangers = Array.from({ length: 10 }, () => f.photo(f.person()));
      const answers = await g.identify([...probes, ...strangers]);
      answers.slice(0, 10).forEach((a, i) => {
        assert.equal(a.person, people[i].name);
        assert.ok(a.distance < a.threshold);
        assert.ok(
          a.runnerUp &&
            a.runnerUp.person !== a.person &&
            a.margin !== null &&
            Math.abs(a.margin - (a.runnerUp.distance - a.distance)) < 1e-9,
        );
        assert.equal(a.threshold, DEFAULT_TOLERANCE);
        assert.equal(a.confidence, null, 'no calibration, no confidence');
      });
      for (const a of answers.slice(10)) {
        assert.equal(a.person, null);
        assert.ok(a.distance > DEFAULT_TOLERANCE && a.nearest.startsWith('p'));
      }
      const strict = await g.identify(probes.slice(0, 1), { threshold: 0.01 });
      assert.equal(strict[0].person, null);
      assert.equal(strict[0].threshold, 0.01);
    });
  });

  test("aggregation: 'best', 'mean' and 'vote' can disagree, each as documented", async () => {
    const path = fresh();
    await using({ path }, async (g) => {
      const base = f.person();
      // "lucky" has one photo very close to the probe; "steady" has three photos all fairly close.
      const probe = f.photo(base, 0);
      const towards = (d: number) => Float32Array.from(base, (x, i) => x + (i === 0 ? d : i === 1 ? d / 3 : 0));
      await g.enrollMany([
        {
          name: 'lucky',
          faces: [{ descriptor: towards(0.1) }, { descriptor: towards(0.9) }, { descriptor: towards(0.95) }],
        },
        {
          name: 'steady',
          faces: [{ descriptor: towards(-0.2) }, { descriptor: towards(-0.22) }, { descriptor: towards(-0.24) }],
        },
      ]);
      assert.equal((await g.identify([probe], { aggregate: 'best' }))[0].person, 'lucky');
      const mean = (await g.identify([probe], { aggregate: 'mean' }))[0];
      assert.equal(mean.person, 'steady');
      assert.ok(Math.abs(mean.distance - ((0.2 + 0.22 + 0.24) * Math.sqrt(1 + 1 / 9)) / 3) < 1e-5);
      const vote = (await g.identify([probe], { aggregate: 'vote' }))[0];
      assert.equal(vote.person, 'steady');
      assert.equal(vote.votes, 3);
      assert.equal((await g.identify([probe], { aggregate: 'vote', k: 1 }))[0].person, 'lucky');
      for (const bad of [
        { k: 0 },
        { k: 1.5 },
        { aggregate: 'median' },
        { meanOf: 0 },
        { threshold: -1 },
        { threshold: Number.NaN },
      ]) {
        await assert.rejects(g.identify([probe], bad as never), code('INVALID_ARGUMENT'), JSON.stringify(bad));
      }
      await assert.rejects(g.identify([new Float32Array(64)]), code('MODEL_MISMATCH'));
    });
  });

  test('an empty gallery is GALLERY_EMPTY; a gallery of another model is MODEL_MISMATCH naming the file', async () => {
    const path = fresh();
    await using({ path }, async (g) => {
      await assert.rejects(g.identify([f.person()]), code('GALLERY_EMPTY'));
      await assert.rejects(g.calibrate({ far: 0.01 }), code('GALLERY_EMPTY'));
      await g.enroll('x', [{ descriptor: f.person() }]);
    });
    await assert.rejects(
      openGallery({ path, modelId: 'arcface_r100' }),
      (e: unknown) => code('MODEL_MISMATCH')(e) && (e as FaceKitError).file === path,
    );
    await using({ path }, async (g) => assert.equal(g.modelId, EMBEDDER_ID));
    await assert.rejects(openGallery({ path: fresh(), index: 'fast' as never }), code('INVALID_ARGUMENT'));
    await assert.rejects(openGallery({ path: fresh(), create: false }), code('FILE_NOT_FOUND'));
  });

  test('a second gallery object on the same file (another process) sees enrolments, renames, merges and removals', async () => {
    const path = fresh();
    await using({ path }, async (reader) => {
      await using({ path }, async (writer) => {
        await writer.enrollMany(people.slice(0, 5));
        const probe = f.photo(people[1].centre);
        assert.equal((await reader.identify([probe]))[0].person, 'p1');
        await writer.renamePerson('p1', 'Bea');
        assert.equal((await reader.identify([probe]))[0].person, 'Bea');
        await writer.mergePeople('Bea', 'p2');
        assert.equal((await reader.identify([probe]))[0].person, 'p2');
        await writer.removePerson('p2');
        const after = await reader.identify([probe]);
        assert.notEqual(after[0].person, 'p2');
        assert.equal(reader.size, 9);
        const faces = await writer.faces('p3');
        await writer.removeFaces(faces.map((x) => x.id));
        await reader.identify([probe]);
        assert.equal(reader.size, 6);
        assert.deepEqual(
          (await reader.people()).map((p) => p.name),
          ['p0', 'p4'],
        );
      });
    });
  });

  test('a closed gallery refuses calls', async () => {
    const g = await openGallery({ path: fresh() });
    await g.close();
    await g.close();
    await assert.rejects(g.identify([f.person()]), code('DISPOSED'));
    await assert.rejects(g.enroll('x', [{ descriptor: f.person() }]), code('DISPOSED'));
  });
});

describe('gallery: calibration and open-set decisions', () => {
  const f = new Faces(22);
  const people = f.people(300, 2);
  const path = fresh();

  test('calibrate stores pair and search thresholds per rate; identify and threshold() use them, with confidences', async () => {
    await using({ path }, async (g) => {
      await g.enrollMany(people);
      const [c1, c2] = await g.calibrate({ far: [0.05, 0.01] });
      assert.equal(c1.far, 0.05);
      assert.equal(c2.far, 0.01);
      assert.equal(c1.impostors.total, (600 * 599) / 2 - 300);
      assert.equal(c1.genuine.total, 300);
      assert.equal(c1.searchImpostors?.total, 600, 'every face searched the others (600 >= 5 / 0.01 probes)');
      assert.ok(c1.searchThreshold !== null && c2.searchThreshold !== null);
      // The nearest of ~300 strangers is closer than one random stranger: the 1:N threshold is stricter.
      assert.ok(c1.searchThreshold < c1.pairThreshold);
      assert.ok(c2.searchThreshold < c1.searchThreshold && c2.pairThreshold < c1.pairThreshold);

      const t = await g.threshold();
      assert.deepEqual(
        [t.source, t.far, t.level, t.value],
        ['calibration', 0.05, 'search', c1.searchThreshold],
        'the first rate asked for is the default',
      );
      assert.equal((await g.threshold({ far: 0.01 }, 'pair')).value, c2.pairThreshold);
      await assert.rejects(g.threshold({ far: 0.2 }), code('CALIBRATION_NOT_FOUND'));
      await assert.rejects(g.threshold({ far: 2 }), code('INVALID_ARGUMENT'));

      const probes = people.slice(0, 20).map((p) => f.photo(p.centre));
      const strangers = Array.from({ length: 60 }, () => f.photo(f.person()));
      const answers = await g.identify([...probes, ...strangers], { far: 0.01 });
      const known = answers.slice(0, 20);
      assert.ok(known.filter((a, i) => a.person === people[i].name).length >= 19);
      for (const a of known.filter((x) => x.person !== null))
        assert.ok(a.confidence !== null && a.confidence > 0.9 && a.confidence <= 1);
      const falseAccepts = answers.slice(20).filter((a) => a.person !== null).length;
      assert.ok(falseAccepts <= 4, `${falseAccepts} of 60 strangers accepted at a search FAR of 0.01`);
      for (const a of answers.slice(20).filter((x) => x.person === null))
        assert.ok(a.confidence !== null && a.confidence >= 0 && a.confidence <= 1);
      // An explicit threshold wins, and the calibration still gives the confidence.
      const forced = await g.identify(probes.slice(0, 1), { threshold: 0.3, far: 0.01 });
      assert.equal(forced[0].threshold, 0.3);
    });
  });

  test('too few impostors for the rate is CALIBRATION_TOO_FEW and stores nothing; one person cannot be calibrated', async () => {
    const small = fresh();
    await using({ path: small }, async (g) => {
      await g.enrollMany(people.slice(0, 4));
      await assert.rejects(g.calibrate({ far: 0.001 }), code('CALIBRATION_TOO_FEW'));
      assert.deepEqual(await g.calibrations(), []);
      await assert.rejects(g.calibrate({ far: [] }), code('INVALID_ARGUMENT'));
      await assert.rejects(g.calibrate({ far: 0 }), code('INVALID_ARGUMENT'));
      // 4 people × 2 faces: 24 impostor pairs, 8 search probes: a pair threshold at 0.25, no search threshold.
      const [c] = await g.calibrate({ far: 0.25 });
      assert.equal(c.searchThreshold, null);
      assert.equal((await g.threshold()).level, 'pair');
    });
    await using({ path: fresh() }, async (g) => {
      await g.enroll('solo', people[0].faces);
      await assert.rejects(g.calibrate({ far: 0.1 }), code('CALIBRATION_TOO_FEW'));
    });
  });

  test('calibration from labelled faces: folder people named like gallery people are not their own impostors', async () => {
    await using({ path: fresh() }, async (g) => {
      await g.enrollMany(people.slice(0, 100));
      const labelled = people
        .slice(50, 200)
        .flatMap((p) => [f.photo(p.centre), f.photo(p.centre)].map((d) => ({ d, name: p.name })));
      const [c] = await g.calibrate({
        far: 0.01,
        from: { descriptors: labelled.map((x) => x.d), names: labelled.map((x) => x.name), source: 'labelled/' },
      });
      assert.equal(c.source, 'labelled/');
      assert.equal(c.genuine.total, 150);
      assert.equal(c.searchImpostors?.total, 300);
      // Were p50..p99 searched against themselves, the nearest "impostor" would be a genuine match (~0.35).
      assert.ok(c.searchImpostors !== null && c.searchImpostors.sorted[0] > 0.5, String(c.searchImpostors?.sorted[0]));
      await assert.rejects(
        g.calibrate({ far: 0.01, from: { descriptors: [f.person()], names: [], source: 'x' } }),
        code('INVALID_ARGUMENT'),
      );
    });
  });
});

describe('gallery: the ANN index', () => {
  const f = new Faces(23);
  const people = f.people(150, 2);
  const probes = people.map((p) => f.photo(p.centre));

  test("above annMinFaces 'auto' switches to HNSW, saves it beside the gallery, and answers as exact search does", async () => {
    const path = fresh();
    const exact = await using({ path, index: 'exact' }, async (g) => {
      await g.enrollMany(people);
      assert.equal((await g.indexInfo()).mode, 'exact');
      return g.identify(probes);
    });
    const notes: string[] = [];
    // One build thread: a multi-threaded HNSW build is not deterministic, and this test must not flake.
    const ann = await using({ path, annMinFaces: 100, threads: 1, onNote: (m) => notes.push(m) }, async (g) => {
      const info = await g.indexInfo();
      assert.deepEqual([info.mode, info.annFile], ['ann', `${path}.hnsw`]);
      return g.identify(probes);
    });
    assert.ok(notes.some((m) => /building the search index for 300 faces/.test(m)));
    assert.ok(existsSync(`${path}.hnsw`));
    const same = ann.filter(
      (a, i) => a.person === exact[i].person && Math.abs(a.distance - exact[i].distance) < 1e-5,
    ).length;
    assert.ok(same >= probes.length - 2, `${same}/${probes.length}`);
  });

  test('the saved index is reused, caught up with changes made without it, and rebuilt when damaged', async () => {
    const path = fresh();
    await using({ path, index: 'ann', threads: 1 }, async (g) => {
      await g.enrollMany(people.slice(0, 100));
      await g.identify(probes.slice(0, 1));
    });
    const saved = await annState(path);
    // Another process, exact mode: it neither loads nor updates the index.
    await using({ path, index: 'exact' }, async (g) => {
      await g.enrollMany(people.slice(100));
      await g.removePerson('p0');
    });
    const notes: string[] = [];
    await using({ path, index: 'ann', threads: 1, onNote: (m) => notes.push(m) }, async (g) => {
      const answers = await g.identify(probes);
      assert.deepEqual(notes, [], 'caught up incrementally, not rebuilt');
      assert.notEqual(answers[0].person, 'p0', 'the removed person is gone from the index');
      assert.ok(answers.slice(1).filter((a, i) => a.person === people[i + 1].name).length >= 145);
    });
    const state = await annState(path);
    assert.ok(
      state.maxFaceId > saved.maxFaceId && state.logSeq > saved.logSeq,
      'the caught-up index was saved with the new watermark',
    );
    assert.deepEqual([saved.size, state.size, state.bytes], [200, 298, statSync(`${path}.hnsw`).size]);
    writeFileSync(`${path}.hnsw`, Buffer.alloc(statSync(`${path}.hnsw`).size, 1));
    await using({ path, index: 'ann', onNote: (m) => notes.push(m) }, async (g) => {
      assert.equal((await g.identify(probes.slice(5, 6)))[0].person, 'p5');
    });
    assert.ok(
      notes.some((m) => /building the search index/.test(m)),
      'a damaged file is rebuilt',
    );
  });
});

describe('gallery: cluster runs', () => {
  test('a saved run is listed again and one cluster is enrolled in one step; duplicates and unknown clusters are reported', async () => {
    const f = new Faces(24);
    await using({ path: fresh() }, async (g) => {
      const a = f.person(),
        b = f.person();
      const face = (c: Float32Array, cluster: number, i: number) => ({
        cluster,
        sourceFile: `/photos/${cluster}-${i}.jpg`,
        contentHash: fakeHash(cluster * 100 + i),
        box: { x: 0, y: 0, width: 50, height: 50 },
        score: 0.9,
        descriptor: f.photo(c),
      });
      const run = await g.saveClusterRun({
        threshold: 0.5,
        inputs: ['/photos'],
        faces: [face(a, 1, 0), face(a, 1, 1), face(a, 1, 2), face(b, 2, 0)],
      });
      assert.equal((await g.clusterRun()).id, run.id);
      const named = await g.nameCluster(1, 'Alice');
      assert.deepEqual([named.created, named.added.length, named.duplicates.length], [true, 3, 0]);
      assert.equal((await g.identify([f.photo(a)]))[0].person, 'Alice');
      assert.equal((await g.clusterRun()).faces.filter((x) => x.personId === named.person.id).length, 3);
      const again = await g.nameCluster(1, 'Alice');
      assert.deepEqual([again.added.length, again.duplicates.length], [0, 3]);
      await assert.rejects(g.nameCluster(9, 'Nobody'), code('CLUSTER_NOT_FOUND'));
      await assert.rejects(g.clusterRun(run.id + 5), code('CLUSTER_NOT_FOUND'));
      await assert.rejects(g.nameCluster(2, ''), code('INVALID_ARGUMENT'));
      assert.equal(await g.person('Nobody').catch((e: FaceKitError) => e.code), 'PERSON_NOT_FOUND');
    });
    await using({ path: fresh() }, async (g) => assert.rejects(g.clusterRun(), code('CLUSTER_NOT_FOUND')));
  });
});

describe('gallery: what it refuses, and what is left after', () => {
  const f = new Faces(25);

  test('an empty or non-finite descriptor is refused and leaves the gallery openable and untied; a failed first enrolment ties nothing', async () => {
    const path = fresh();
    await using({ path }, async (g) => {
      await assert.rejects(g.enroll('e', [{ descriptor: new Float32Array(0) }]), code('INVALID_ARGUMENT'));
      await assert.rejects(
        g.enroll('e', [{ descriptor: Float32Array.of(0.1, Number.POSITIVE_INFINITY) }]),
        code('INVALID_ARGUMENT'),
      );
      await assert.rejects(
        g.enrollMany([
          { name: 'a', faces: [{ descriptor: f.person() }] },
          { name: 'b', faces: [{ descriptor: f.person(64) }] },
        ]),
        code('MODEL_MISMATCH'),
      );
      for (const bad of [[{ descriptor: Array.from(f.person()) }], [{}], [null], [f.person()]]) {
        await assert.rejects(
          g.enrollMany([{ name: 'x', faces: bad as never }]),
          code('INVALID_ARGUMENT'),
          JSON.stringify(bad).slice(0, 40),
        );
      }
      await assert.rejects(g.enrollMany('x' as never), code('INVALID_ARGUMENT'));
    });
    await using({ path }, async (g) => {
      assert.equal(await g.store.model(), null);
      // Nothing tied the gallery: a 64-d model may still be its first.
      await g.enroll('small', [{ descriptor: f.person(64) }]);
      assert.deepEqual(await g.store.model(), { modelId: EMBEDDER_ID, dims: 64 });
    });
  });

  test('rename, merge, remove, removeFaces and setMetadata name what is wrong and change nothing', async () => {
    await using({ path: fresh() }, async (g) => {
      await g.enrollMany(f.people(3, 2));
      const failures: [Promise<unknown>, string][] = [
        [g.renamePerson('nobody', 'x'), 'PERSON_NOT_FOUND'],
        [g.renamePerson('p0', 'p1'), 'PERSON_EXISTS'],
        [g.renamePerson('p0', '\n'), 'INVALID_ARGUMENT'],
        [g.mergePeople('nobody', 'p0'), 'PERSON_NOT_FOUND'],
        [g.mergePeople('p0', 'nobody'), 'PERSON_NOT_FOUND'],
        [g.mergePeople('p0', 'p0'), 'INVALID_ARGUMENT'],
        [g.removePerson('nobody'), 'PERSON_NOT_FOUND'],
        [g.removePeople(['p0', 'nobody']), 'PERSON_NOT_FOUND'],
        [g.removeFaces([1, 424242]), 'FACE_NOT_FOUND'],
        [g.removeFaces([-1]), 'INVALID_ARGUMENT'],
        [g.setMetadata('nobody', { a: 'b' }), 'PERSON_NOT_FOUND'],
        [g.setMetadata('p0', {}), 'INVALID_ARGUMENT'],
      ];
      for (const [p, c] of failures) await assert.rejects(p, code(c), c);
      assert.deepEqual(
        (await g.people()).map((p) => [p.name, p.faces, p.metadata]),
        [
          ['p0', 2, {}],
          ['p1', 2, {}],
          ['p2', 2, {}],
        ],
      );
      assert.equal(g.size, 6);
      const removed = await g.removePeople(['p0', 'p1']);
      assert.deepEqual(
        removed.map((r) => r.person.name),
        ['p0', 'p1'],
      );
      assert.equal(g.size, 2, 'the in-memory search forgot them too');
      assert.deepEqual((await g.setMetadata('p2', { team: 'x' })).metadata, { team: 'x' });
      assert.deepEqual((await g.setMetadata('p2', { team: null })).metadata, {});
    });
  });

  test('a cluster run of the wrong length is MODEL_MISMATCH; naming a cluster of a run made for another model is MODEL_MISMATCH', async () => {
    await using({ path: fresh() }, async (g) => {
      await g.enrollMany(f.people(2, 1));
      const face = (descriptor: Float32Array) => ({
        cluster: 1,
        sourceFile: '/p/x.jpg',
        contentHash: fakeHash(7),
        box: { x: 0, y: 0, width: 9, height: 9 },
        score: 0.9,
        descriptor,
      });
      await assert.rejects(
        g.saveClusterRun({ threshold: 0.5, inputs: [], faces: [face(f.person(64))] }),
        code('MODEL_MISMATCH'),
      );
      await assert.rejects(
        g.saveClusterRun({ threshold: 0.5, inputs: [], faces: [face(new Float32Array(128).fill(Number.NaN))] }),
        code('INVALID_ARGUMENT'),
      );
      const foreign = await g.store.saveClusterRun({
        modelId: 'arcface_r100',
        threshold: 0.5,
        inputs: [],
        faces: [face(f.person(512))],
      });
      await assert.rejects(
        g.nameCluster(1, 'Zed', foreign.id),
        (e: unknown) => code('MODEL_MISMATCH')(e) && /arcface_r100/.test((e as Error).message),
      );
      assert.equal((await g.people()).length, 2);
    });
  });

  test('calibrating again replaces the calibration of each rate instead of piling them up', async () => {
    await using({ path: fresh() }, async (g) => {
      await g.enrollMany(f.people(30, 2));
      await g.calibrate({ far: [0.1, 0.05] });
      await g.calibrate({ far: 0.1 });
      const all = await g.calibrations();
      assert.deepEqual(
        all.map((c) => c.far),
        [0.1, 0.05],
      );
      assert.equal((await g.threshold()).far, 0.1);
    });
  });
});
