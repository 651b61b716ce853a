/**
 * The approximate index for large galleries: a usearch HNSW graph keyed by face id, kept in a
 * file next to the gallery (`gallery.db.hnsw`). It is a cache of the database, never the truth:
 * its state (which faces and which log position it covers, its size in bytes) is stored in the
 * gallery, and an index file that disagrees with that state is rebuilt, not trusted.
 */
import { closeSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { removeStaleTempFiles } from '../util/stale-temp.js';
import { createRequire } from 'node:module';
import type * as Usearch from 'usearch';
import { lazy } from '../util/lazy.js';
import { FaceKitError } from '../errors.js';
import type { DescriptorMatrix } from './exact.js';

const require = createRequire(import.meta.url);
/** usearch on first use: exact search and every CLI command's start-up never load it. */
const usearch = lazy(() => require('usearch') as typeof Usearch);

export interface AnnParams {
  /** HNSW M: neighbours kept per node. 32 rather than the usual 16: at 100k faces it lifted recall@1 from 0.97 to 0.995 at the same search cost (bench/gallery.ts). */
  readonly connectivity: number;
  /** Candidate list while inserting: build quality (recall) against build time. */
  readonly expansionAdd: number;
  /**
   * Candidate list while searching: recall against latency; see bench/gallery.ts for the measured
   * curve. A gallery given none picks it by its size (annSearchBeam).
   */
  readonly expansionSearch: number;
  /**
   * How the index stores vectors. 'f16' halves its memory (256 MB less at 1M faces); candidates
   * are re-scored exactly from the float32 matrix, so answers keep full precision.
   */
  readonly quantization: 'f32' | 'f16';
}

/** Measured on LFW-derived galleries up to 1M faces (bench/gallery.ts); expansionSearch is the small-gallery beam. */
export const ANN_DEFAULTS: AnnParams = {
  connectivity: 32,
  expansionAdd: 128,
  expansionSearch: 128,
  quantization: 'f16',
};

/** From this many faces the search beam widens: HNSW's recall falls as its graph grows. */
export const ANN_LARGE_GALLERY = 500_000;
/**
 * Beam on large galleries. bench/gallery.ts at 1M faces, real LFW probes: recall@1 0.982 at 128,
 * 0.994 at 192 (p50 2.9 → 4.3 ms on 2 cores); 256 gains nothing more on real faces.
 */
const ANN_LARGE_BEAM = 192;

/** The search beam for a gallery of `faces` faces when the caller fixed none. */
export function annSearchBeam(faces: number): number {
  return faces >= ANN_LARGE_GALLERY ? ANN_LARGE_BEAM : ANN_DEFAULTS.expansionSearch;
}

/** What the gallery stores about its index file; a mismatch with the file means "rebuild". */
export interface AnnState {
  readonly version: 1;
  readonly dims: number;
  readonly params: AnnParams;
  /** File size and CRC-32 after the last save: usearch trusts the file it loads (a damaged one can crash the process), so it is checked first. */
  readonly bytes: number;
  readonly crc32: number;
  /** Vectors in the index at the last save. */
  readonly size: number;
  /** Faces up to this id were added, log entries up to this position applied. */
  readonly maxFaceId: number;
  readonly logSeq: number;
  /** Removals since the graph was built: HNSW does not re-link around deleted nodes, so many of them degrade it. */
  readonly removedSinceBuild: number;
}

/**
 * Faces from which `index: 'auto'` searches with the HNSW index instead of exactly. Measured on
 * this project's 2-core machine (bench/gallery.ts): exact search costs about 0.3 ms per 1,000
 * faces a query (3.3 ms at 10k, 15 ms at 50k), so it passes 5 ms near 15-20k faces, where an ANN
 * query costs about 1 ms and building the index takes a few seconds, once (later changes are
 * added incrementally).
 */
export const ANN_MIN_FACES = 20_000;

export const ANN_STATE_KEY = 'ann';
/** Rebuild when this share of the nodes has been removed since the build (deleted nodes still cost hops). */
export const ANN_REBUILD_REMOVED_SHARE = 0.2;

/** Read size for the checksum: large enough to stream at disk speed, small enough not to double the memory of a 500 MB index. */
const CRC_CHUNK = 16 << 20;

function fileCrc(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CRC_CHUNK);
    let crc = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, CRC_CHUNK, null);
      if (n === 0) return crc;
      crc = crc32(buf.subarray(0, n), crc);
    }
  } finally {
    closeSync(fd);
  }
}

export class AnnIndex {
  private constructor(
    private readonly index: Usearch.Index,
    readonly dims: number,
    readonly params: AnnParams,
    private removedSinceBuild: number,
  ) {}

  private static create(dims: number, params: AnnParams): Usearch.Index {
    const lib = usearch();
    return new lib.Index({
      dimensions: dims,
      metric: lib.MetricKind.L2sq,
      quantization: params.quantization === 'f16' ? lib.ScalarKind.F16 : lib.ScalarKind.F32,
      connectivity: params.connectivity,
      expansion_add: params.expansionAdd,
      expansion_search: params.expansionSearch,
      multi: false,
    });
  }

  /** A new graph over every row of `matrix`; `threads` 0 lets usearch use every core. */
  static build(matrix: DescriptorMatrix, params: AnnParams = ANN_DEFAULTS, threads = 0): AnnIndex {
    const ann = new AnnIndex(AnnIndex.create(matrix.dims, params), matrix.dims, params, 0);
    ann.addRows(matrix, 0, threads);
    return ann;
  }

  /**
   * The saved index when `state` vouches for the file (same size on disk, same parameters, same
   * vector count); null when it is missing, stale or damaged, which callers answer by rebuilding.
   */
  static load(file: string, state: AnnState | null, dims: number, params: AnnParams = ANN_DEFAULTS): AnnIndex | null {
    // expansionSearch is a search-time setting: a saved graph serves any value of it.
    const built = (p: AnnParams) => JSON.stringify([p.connectivity, p.expansionAdd, p.quantization]);
    if (state === null || state.version !== 1 || state.dims !== dims || built(state.params) !== built(params))
      return null;
    let bytes: number;
    try {
      bytes = statSync(file).size;
    } catch {
      return null;
    }
    try {
      if (bytes !== state.bytes || fileCrc(file) !== state.crc32) return null;
    } catch {
      return null;
    }
    const index = AnnIndex.create(dims, params);
    try {
      index.load(file);
    } catch {
      return null;
    }
    if (index.size() !== state.size || index.dimensions() !== dims) return null;
    return new AnnIndex(index, dims, params, state.removedSinceBuild);
  }

  get size(): number {
    return this.index.size();
  }

  /** Whether so many nodes were removed since the build that a fresh graph is due. */
  get stale(): boolean {
    return this.removedSinceBuild > ANN_REBUILD_REMOVED_SHARE * Math.max(this.size, 1);
  }

  add(ids: Float64Array, vectors: Float32Array, threads = 0): void {
    if (ids.length === 0) return;
    this.index.add(
      BigUint64Array.from(ids, (id) => BigInt(id)),
      vectors,
      threads,
    );
  }

  /** Adds the matrix's rows from `first` on, block by block. */
  addRows(matrix: DescriptorMatrix, first: number, threads = 0): void {
    for (const span of matrix.spans(first)) this.add(matrix.ids.subarray(span.start, span.end), span.vectors, threads);
  }

  remove(ids: readonly number[]): number {
    let removed = 0;
    for (const id of ids) removed += this.index.remove(BigInt(id)) as number;
    this.removedSinceBuild += removed;
    return removed;
  }

  /** Up to k face ids nearest to `query` (approximately), nearest first, with squared distances. */
  search(query: Float32Array, k: number, threads = 1): { ids: number[]; distances2: Float32Array } {
    if (this.size === 0) return { ids: [], distances2: new Float32Array(0) };
    const m = this.index.search(query, Math.min(k, this.size), threads);
    // usearch pads a short answer with the all-ones key; keep only real hits.
    const ids: number[] = [];
    for (let i = 0; i < m.keys.length && m.keys[i] !== 0xffffffffffffffffn; i++) ids.push(Number(m.keys[i]));
    return { ids, distances2: m.distances.subarray(0, ids.length) };
  }

  /**
   * Writes the index beside the gallery atomically (temporary file, then rename) and returns the
   * state to store with the gallery. A crash mid-save leaves the old file or none, never half of one.
   */
  save(file: string, covered: { maxFaceId: number; logSeq: number }): AnnState {
    const tmp = `${file}.${process.pid}.tmp`;
    removeStaleTempFiles(file);
    try {
      this.index.save(tmp);
      renameSync(tmp, file);
    } catch (cause) {
      rmSync(tmp, { force: true });
      throw new FaceKitError('FILE_UNWRITABLE', `cannot save the search index (${(cause as Error).message})`, {
        file,
        cause,
      });
    }
    return {
      version: 1,
      dims: this.dims,
      params: this.params,
      bytes: statSync(file).size,
      crc32: fileCrc(file),
      size: this.size,
      maxFaceId: covered.maxFaceId,
      logSeq: covered.logSeq,
      removedSinceBuild: this.removedSinceBuild,
    };
  }
}
