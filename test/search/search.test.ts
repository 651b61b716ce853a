/** Exact k-NN against a brute-force reference, the matrix's bookkeeping, and the HNSW index file's life cycle. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FaceKitError } from '../../src/errors.js';
import { ANN_DEFAULTS, ANN_LARGE_GALLERY, AnnIndex, annSearchBeam } from '../../src/search/ann.js';
import { BLOCK_ROWS, DescriptorMatrix, exactKnn, QUERY_BLOCK } from '../../src/search/exact.js';
import { euclideanDistance } from '../../src/match/distance.js';
import { Faces } from '../helpers/descriptors.js';

const root = mkdtempSync(join(tmpdir(), 'facekit-search-'));
after(() => rmSync(root, { recursive: true, force: true }));

function matrixOf(vectors: Float32Array[], persons?: number[]): DescriptorMatrix {
  const dims = vectors[0].length;
  const flat = new Float32Array(vectors.length * dims);
  vectors.forEach((v, i) => flat.set(v, i * dims));
  return new DescriptorMatrix(dims, {
    ids: Float64Array.from(vectors, (_, i) => 10 + 2 * i),
    persons: Int32Array.from(persons ?? vectors.map((_, i) => i)),
    vectors: flat,
  });
}

function bruteForce(m: DescriptorMatrix, q: Float32Array, k: number, skip = -1): number[] {
  return Array.from({ length: m.count }, (_, r) => r)
    .filter((r) => m.personAt(r) !== skip)
    .map((r) => ({ r, d: euclideanDistance(m.row(r), q) }))
    .sort((a, b) => a.d - b.d || a.r - b.r)
    .slice(0, k)
    .map((x) => x.r);
}

describe('exact search', () => {
  const f = new Faces(11);
  const people = Array.from({ length: 60 }, () => f.person());
  const rows = people.flatMap((c) => [f.photo(c), f.photo(c), f.photo(c)]);
  const persons = people.flatMap((_, p) => [p, p, p]);
  const m = matrixOf(rows, persons);
  const queries = Array.from({ length: 3 * QUERY_BLOCK + 3 }, (_, i) => f.photo(people[i % people.length]));

  test('returns the same k nearest as brute force, nearest first, single or batched, with an odd dimension count', () => {
    const batched = exactKnn(m, queries, 7);
    queries.forEach((q, i) => {
      const want = bruteForce(m, q, 7);
      assert.deepEqual([...batched[i].rows], want, `query ${i}`);
      assert.deepEqual([...exactKnn(m, [q], 7)[0].rows], want);
      batched[i].distances.forEach((d, j) => assert.ok(Math.abs(d - euclideanDistance(m.row(want[j]), q)) < 1e-5));
    });
    const odd = matrixOf(rows.map((r) => r.subarray(0, 13)));
    const q13 = queries[0].subarray(0, 13);
    assert.deepEqual([...exactKnn(odd, [q13], 5)[0].rows], bruteForce(odd, q13, 5));
  });

  test('skips an excluded person per query, returns fewer than k when the gallery is small, and refuses bad input', () => {
    const exclude = Int32Array.from(queries, (_, i) => i % people.length);
    const got = exactKnn(m, queries, 4, { excludePerson: exclude });
    queries.forEach((q, i) => {
      assert.deepEqual([...got[i].rows], bruteForce(m, q, 4, exclude[i]));
      assert.ok([...got[i].rows].every((r) => m.personAt(r) !== exclude[i]));
    });
    assert.equal(exactKnn(matrixOf(rows.slice(0, 2)), [queries[0]], 10)[0].rows.length, 2);
    assert.equal(exactKnn(new DescriptorMatrix(128), [queries[0]], 3)[0].rows.length, 0);
    const invalid = (e: unknown) => e instanceof FaceKitError && e.code === 'INVALID_ARGUMENT';
    assert.throws(() => exactKnn(m, [queries[0]], 0), invalid);
    assert.throws(() => exactKnn(m, [new Float32Array(64)], 3), invalid);
  });

  test('the matrix appends in id order, removes by id keeping order, moves faces between people', () => {
    const small = matrixOf(rows.slice(0, 4));
    assert.deepEqual([...small.ids], [10, 12, 14, 16]);
    assert.equal(small.rowOf(14), 2);
    assert.equal(small.rowOf(15), -1);
    small.append({
      ids: Float64Array.of(20, 21),
      persons: Int32Array.of(7, 7),
      vectors: new Float32Array(256).fill(0.5),
    });
    assert.equal(small.count, 6);
    assert.throws(
      () => small.append({ ids: Float64Array.of(5), persons: Int32Array.of(1), vectors: new Float32Array(128) }),
      FaceKitError,
    );
    assert.equal(small.remove([12, 20, 999]), 2);
    assert.deepEqual([...small.ids], [10, 14, 16, 21]);
    assert.deepEqual([...small.row(1)], [...rows[2]]);
    assert.deepEqual([...small.row(3)], new Array(128).fill(0.5));
    assert.equal(small.setPerson(21, 3), true);
    assert.equal(small.setPerson(12, 3), false);
    assert.equal(small.personAt(3), 3);
  });
});

test('appends fill blocks and never copy the rows held; search, spans and removal work across blocks', () => {
  const dims = 4;
  // Row values name their face id, so a row read from the wrong place shows.
  const rowOf = (id: number) => Float32Array.from({ length: dims }, (_, j) => id * 10 + j);
  const batch = (ids: number[]) => ({
    ids: Float64Array.from(ids),
    persons: Int32Array.from(ids, (id) => id % 7),
    vectors: Float32Array.from(ids.flatMap((id) => [...rowOf(id)])),
  });
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
  const m = new DescriptorMatrix(dims, batch(range(1, 3)));
  const adopted = m.row(0).buffer;
  let next = 4;
  for (const size of [5, 2000, BLOCK_ROWS, 3000]) {
    m.append(batch(range(next, size)));
    next += size;
  }
  assert.equal(m.count, next - 1);
  assert.equal(m.row(0).buffer, adopted, 'the adopted snapshot is still the first block');
  const spans = [...m.spans()];
  assert.ok(spans.length >= 3, `${spans.length} blocks`);
  spans.forEach((sp, i) => {
    assert.equal(sp.start, i === 0 ? 0 : spans[i - 1].end);
    assert.equal(sp.vectors.length, (sp.end - sp.start) * dims);
  });
  assert.equal(spans[spans.length - 1].end, m.count);
  const every = (mx: DescriptorMatrix) => {
    for (let r = 0; r < mx.count; r++) assert.deepEqual([...mx.row(r)], [...rowOf(mx.idAt(r))], `row ${r}`);
  };
  every(m);
  assert.deepEqual(
    [...m.spans(m.count - 2)].map((sp) => [sp.start, sp.end]),
    [[m.count - 2, m.count]],
  );
  const probe = (id: number) => Float32Array.from(rowOf(id), (x) => x + 0.1);
  assert.deepEqual(
    exactKnn(m, [probe(2), probe(2010), probe(60_000), probe(next - 1)], 1).map((nb) => m.idAt(nb.rows[0])),
    [2, 2010, 60_000, next - 1],
  );

  assert.equal(m.remove([2, 5, 2010, 60_000]), 4);
  assert.equal(m.count, next - 5);
  every(m);
  assert.equal(m.rowOf(60_000), -1);
  // A gallery that shrinks lets its emptied blocks go.
  m.remove(range(20, next));
  assert.equal(m.count, 17);
  every(m);
  assert.equal([...m.spans()].length, 2, 'the adopted block and the first appended one');
  m.append(batch(range(next, 10)));
  every(m);
  assert.throws(
    () => m.append({ ids: Float64Array.of(next + 20), persons: new Int32Array(2), vectors: new Float32Array(dims) }),
    FaceKitError,
  );
});

describe('ANN index', () => {
  const f = new Faces(12);
  const people = Array.from({ length: 300 }, () => f.person());
  const rows = people.flatMap((c) => [f.photo(c), f.photo(c)]);
  const m = matrixOf(rows);
  const queries = people.slice(0, 50).map((c) => f.photo(c));

  test('finds the exact nearest face for nearly every query on a small gallery', () => {
    const ann = AnnIndex.build(m);
    const exact = exactKnn(m, queries, 1);
    const hits = queries.filter((q, i) => ann.search(q, 5).ids[0] === m.idAt(exact[i].rows[0])).length;
    assert.ok(hits >= 49, `${hits}/50`);
    const r = ann.search(queries[0], 5);
    assert.equal(r.ids.length, 5);
    assert.ok(r.distances2[0] <= r.distances2[4]);
  });

  test('saves atomically, reloads only when the stored state vouches for the file, follows removals', () => {
    const file = join(root, 'g.db.hnsw');
    const ann = AnnIndex.build(m);
    const state = ann.save(file, { maxFaceId: 999, logSeq: 3 });
    assert.equal(state.size, m.count);
    assert.equal(state.maxFaceId, 999);
    const loaded = AnnIndex.load(file, state, 128);
    assert.ok(loaded);
    assert.equal(loaded.size, m.count);
    assert.deepEqual(loaded.search(queries[3], 3).ids, ann.search(queries[3], 3).ids);
    assert.equal(AnnIndex.load(file, null, 128), null);
    assert.equal(AnnIndex.load(file, { ...state, bytes: state.bytes + 1 }, 128), null);
    assert.equal(AnnIndex.load(file, { ...state, size: state.size + 1 }, 128), null);
    assert.equal(AnnIndex.load(file, state, 64), null);
    assert.equal(AnnIndex.load(file, { ...state, params: { ...ANN_DEFAULTS, connectivity: 8 } }, 128), null);
    assert.equal(AnnIndex.load(join(root, 'missing.hnsw'), state, 128), null);
    const junk = join(root, 'junk.hnsw');
    writeFileSync(junk, Buffer.alloc(state.bytes, 7));
    assert.equal(AnnIndex.load(junk, state, 128), null);

    const nearest = loaded.search(queries[3], 1).ids[0];
    assert.equal(loaded.remove([nearest, 123456]), 1);
    assert.notEqual(loaded.search(queries[3], 1).ids[0], nearest);
    assert.equal(loaded.stale, false);
    loaded.remove(Array.from(m.ids.subarray(0, Math.ceil(m.count * 0.25))));
    assert.equal(loaded.stale, true);
  });
});

test('the search beam widens once a gallery is large, and only then', () => {
  assert.equal(annSearchBeam(0), ANN_DEFAULTS.expansionSearch);
  assert.equal(annSearchBeam(ANN_LARGE_GALLERY - 1), ANN_DEFAULTS.expansionSearch);
  assert.ok(annSearchBeam(ANN_LARGE_GALLERY) > ANN_DEFAULTS.expansionSearch);
  assert.equal(annSearchBeam(10 * ANN_LARGE_GALLERY), annSearchBeam(ANN_LARGE_GALLERY));
});
