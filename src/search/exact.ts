/**
 * Exact nearest-neighbour search over every descriptor of a gallery, held in a few large
 * Float32Array blocks (1M × 128-d is 512 MB): no per-face objects, rows visited in memory order,
 * several queries per pass over the rows so each row is read from memory once per batch, and a
 * small max-heap per query for the k best.
 */
import { invalidArgument } from '../errors.js';

/** Face rows in bulk: ids ascending, `vectors` row-major `ids.length × dims`. */
export interface DescriptorBatch {
  readonly ids: Float64Array;
  readonly persons: Int32Array;
  readonly vectors: Float32Array;
}

/**
 * Queries sharing one pass over the rows. Each gallery row (512 bytes) is used this many times
 * while in cache; past ~8 the query vectors themselves stop fitting in L1 and nothing more is won.
 */
export const QUERY_BLOCK = 8;
/** Growth factor of the id and person arrays (12 bytes a face: copying them on growth costs little). */
const GROWTH = 1.5;
/**
 * Most rows of one block of appended descriptors (32 MB at 128-d). Appends fill blocks and never
 * copy the rows already held: growing one contiguous 512 MB array would need old and new copies
 * at once, +512 MB at the first enrolment into a loaded 1M-face gallery.
 */
export const BLOCK_ROWS = 65_536;
/** Fewest rows of a new block: a small gallery's blocks grow with it instead of each costing BLOCK_ROWS. */
const MIN_BLOCK_ROWS = 1024;

/** Rows `start` (inclusive) to `end` (exclusive) of a matrix, stored contiguously in `vectors`. */
export interface RowSpan {
  readonly start: number;
  readonly end: number;
  readonly vectors: Float32Array;
}

/** Descriptors with their face ids (ascending) and person ids, row-major, in blocks. */
export class DescriptorMatrix {
  private idArr: Float64Array;
  private personArr: Int32Array;
  /** Vector blocks; block b holds rows starts[b] .. starts[b] + its capacity. */
  private blocks: Float32Array[] = [];
  private starts: number[] = [];
  private capacity = 0;
  private n = 0;

  constructor(
    readonly dims: number,
    batch?: DescriptorBatch,
  ) {
    if (!Number.isInteger(dims) || dims <= 0) throw invalidArgument('dims', `must be a positive integer, got ${dims}`);
    // A fresh snapshot is adopted as is, as the first block: no second copy of a 512 MB array.
    this.idArr = batch?.ids ?? new Float64Array(0);
    this.personArr = batch?.persons ?? new Int32Array(0);
    this.n = this.idArr.length;
    const vectors = batch?.vectors ?? new Float32Array(0);
    if (vectors.length !== this.n * dims || this.personArr.length !== this.n)
      throw invalidArgument('batch', 'ids, persons and vectors disagree in length');
    if (this.n > 0) this.addBlock(vectors);
  }

  private addBlock(vectors: Float32Array): void {
    this.blocks.push(vectors);
    this.starts.push(this.capacity);
    this.capacity += vectors.length / this.dims;
  }

  /** Block holding row i (rows are never split between blocks). */
  private blockOf(i: number): number {
    const s = this.starts;
    let lo = 0,
      hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  get count(): number {
    return this.n;
  }

  /** Face ids, ascending (a view: valid until the next change). */
  get ids(): Float64Array {
    return this.idArr.subarray(0, this.n);
  }

  get persons(): Int32Array {
    return this.personArr.subarray(0, this.n);
  }

  /** The rows from `from` on, as contiguous spans in row order (views: valid until the next change). */
  *spans(from = 0): Generator<RowSpan> {
    for (let b = 0; b < this.blocks.length; b++) {
      const start = Math.max(from, this.starts[b]);
      const end = Math.min(this.n, this.starts[b] + this.blocks[b].length / this.dims);
      if (start >= end) continue;
      const base = this.starts[b];
      yield { start, end, vectors: this.blocks[b].subarray((start - base) * this.dims, (end - base) * this.dims) };
    }
  }

  row(i: number): Float32Array {
    const b = this.blockOf(i);
    const o = (i - this.starts[b]) * this.dims;
    return this.blocks[b].subarray(o, o + this.dims);
  }

  idAt(i: number): number {
    return this.idArr[i];
  }

  personAt(i: number): number {
    return this.personArr[i];
  }

  /** Row of face `id`, or -1; ids are ascending, so a binary search. */
  rowOf(id: number): number {
    let lo = 0,
      hi = this.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.idArr[mid];
      if (v === id) return mid;
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Appends faces whose ids are all above the last one held (the store hands them out that way). */
  append(batch: DescriptorBatch): void {
    const m = batch.ids.length;
    if (m === 0) return;
    const d = this.dims;
    if (batch.vectors.length !== m * d || batch.persons.length !== m)
      throw invalidArgument(
        'batch',
        `${m} ids, ${batch.persons.length} persons and ${batch.vectors.length} values (${m} × ${d} expected)`,
      );
    if (this.n > 0 && batch.ids[0] <= this.idArr[this.n - 1])
      throw invalidArgument('batch', 'face ids must be above those already held');
    const needed = this.n + m;
    if (needed > this.idArr.length) {
      const size = Math.max(needed, Math.ceil(this.idArr.length * GROWTH));
      const ids = new Float64Array(size),
        persons = new Int32Array(size);
      ids.set(this.ids);
      persons.set(this.persons);
      this.idArr = ids;
      this.personArr = persons;
    }
    this.idArr.set(batch.ids, this.n);
    this.personArr.set(batch.persons, this.n);
    while (this.capacity < needed)
      this.addBlock(
        new Float32Array(Math.min(BLOCK_ROWS, Math.max(needed - this.capacity, this.n, MIN_BLOCK_ROWS)) * d),
      );
    for (let done = 0; done < m; ) {
      const r = this.n + done;
      const b = this.blockOf(r);
      const room = this.starts[b] + this.blocks[b].length / d - r;
      const take = Math.min(room, m - done);
      this.blocks[b].set(batch.vectors.subarray(done * d, (done + take) * d), (r - this.starts[b]) * d);
      done += take;
    }
    this.n = needed;
  }

  /** Drops faces by id in one compacting pass (order kept); ids not held are ignored. Returns how many went. */
  remove(ids: Iterable<number>): number {
    const gone = new Set<number>();
    for (const id of ids) if (this.rowOf(id) >= 0) gone.add(id);
    if (gone.size === 0) return 0;
    let w = 0;
    for (let r = 0; r < this.n; r++) {
      if (gone.has(this.idArr[r])) continue;
      if (w !== r) {
        this.idArr[w] = this.idArr[r];
        this.personArr[w] = this.personArr[r];
        this.row(w).set(this.row(r));
      }
      w++;
    }
    this.n = w;
    // Blocks left holding no row are let go: a gallery that shrank gives the memory back.
    while (this.blocks.length > 1 && this.starts[this.blocks.length - 1] >= w) {
      const last = this.blocks.pop() as Float32Array;
      this.starts.pop();
      this.capacity -= last.length / this.dims;
    }
    return gone.size;
  }

  /** Moves face `id` to another person (a merge); false when the face is not held. */
  setPerson(id: number, person: number): boolean {
    const r = this.rowOf(id);
    if (r < 0) return false;
    this.personArr[r] = person;
    return true;
  }
}

/** The k nearest rows to one query, nearest first; distances are Euclidean. */
export interface Neighbours {
  readonly rows: Int32Array;
  readonly distances: Float32Array;
}

export interface KnnOptions {
  /** Per query, a person whose rows are skipped (-1: none): "nearest face of anyone else". */
  readonly excludePerson?: Int32Array;
}

/** Max-heap of the k best (smallest) squared distances seen so far. */
class TopK {
  readonly d: Float64Array;
  readonly r: Int32Array;
  size = 0;

  constructor(readonly k: number) {
    this.d = new Float64Array(k);
    this.r = new Int32Array(k);
  }

  /** The distance a candidate must beat: the worst kept, or infinity until k are kept. */
  bound(): number {
    return this.size < this.k ? Infinity : this.d[0];
  }

  push(dist: number, row: number): void {
    const d = this.d,
      r = this.r;
    if (this.size < this.k) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (d[p] >= dist) break;
        d[i] = d[p];
        r[i] = r[p];
        i = p;
      }
      d[i] = dist;
      r[i] = row;
      return;
    }
    let i = 0;
    const n = this.size;
    for (;;) {
      const a = 2 * i + 1;
      if (a >= n) break;
      const b = a + 1;
      const c = b < n && d[b] > d[a] ? b : a;
      if (d[c] <= dist) break;
      d[i] = d[c];
      r[i] = r[c];
      i = c;
    }
    d[i] = dist;
    r[i] = row;
  }

  sorted(): Neighbours {
    const order = Array.from({ length: this.size }, (_, i) => i).sort(
      (a, b) => this.d[a] - this.d[b] || this.r[a] - this.r[b],
    );
    return {
      rows: Int32Array.from(order, (i) => this.r[i]),
      distances: Float32Array.from(order, (i) => Math.sqrt(this.d[i])),
    };
  }
}

/**
 * The k nearest rows of `matrix` to each query, exactly. A row whose partial sum over the first
 * half of the dimensions already exceeds the query's k-th best is abandoned there: once the heap
 * holds good candidates, most rows cost half.
 */
export function exactKnn(
  matrix: DescriptorMatrix,
  queries: readonly Float32Array[],
  k: number,
  options: KnnOptions = {},
): Neighbours[] {
  if (!Number.isInteger(k) || k < 1) throw invalidArgument('k', `must be a positive integer, got ${k}`);
  const dims = matrix.dims;
  queries.forEach((q, i) => {
    if (q.length !== dims)
      throw invalidArgument(`queries[${i}]`, `has ${q.length} values; the gallery's descriptors have ${dims}`);
  });
  const exclude = options.excludePerson;
  const out: Neighbours[] = [];
  const n = matrix.count;
  const spans = [...matrix.spans()];
  const persons = matrix.persons;
  // Unrolled by 4; `half` is where the early-abandon check happens, on a multiple of 4.
  const main = dims & ~3;
  const half = (dims >> 1) & ~3;
  for (let start = 0; start < queries.length; start += QUERY_BLOCK) {
    const block = queries.slice(start, start + QUERY_BLOCK);
    const heaps = block.map(() => new TopK(Math.min(k, Math.max(n, 1))));
    const skip = block.map((_, j) => (exclude ? exclude[start + j] : -1));
    for (const { start: first, end, vectors: data } of spans) {
      for (let r = first; r < end; r++) {
        const base = (r - first) * dims;
        const person = persons[r];
        for (let j = 0; j < block.length; j++) {
          if (person === skip[j]) continue;
          const q = block[j];
          const heap = heaps[j];
          const bound = heap.bound();
          let s0 = 0,
            s1 = 0,
            s2 = 0,
            s3 = 0;
          let i = 0;
          for (; i < half; i += 4) {
            const a = data[base + i] - q[i],
              b = data[base + i + 1] - q[i + 1],
              c = data[base + i + 2] - q[i + 2],
              e = data[base + i + 3] - q[i + 3];
            s0 += a * a;
            s1 += b * b;
            s2 += c * c;
            s3 += e * e;
          }
          if (s0 + s1 + s2 + s3 >= bound) continue;
          for (; i < main; i += 4) {
            const a = data[base + i] - q[i],
              b = data[base + i + 1] - q[i + 1],
              c = data[base + i + 2] - q[i + 2],
              e = data[base + i + 3] - q[i + 3];
            s0 += a * a;
            s1 += b * b;
            s2 += c * c;
            s3 += e * e;
          }
          for (; i < dims; i++) {
            const a = data[base + i] - q[i];
            s0 += a * a;
          }
          const s = s0 + s1 + s2 + s3;
          if (s < bound) heap.push(s, r);
        }
      }
    }
    for (const h of heaps) out.push(h.sorted());
  }
  return out;
}
