/**
 * The gallery of known people: a store (SQLite by default) for what is known, every descriptor
 * in memory for search (exact, or an HNSW index past ANN_MIN_FACES), open-set identification with
 * a calibrated threshold, calibration, and saved cluster runs.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULT_EMBEDDER, EMBEDDER_ID, TUNED_ID_PREFIX } from '../embed/spec.js';
import { FaceKitError, invalidArgument } from '../errors.js';
import {
  aggregate,
  checkAggregation,
  DEFAULT_K,
  DEFAULT_MEAN_OF,
  type Aggregation,
  type Candidate,
} from '../match/aggregate.js';
import {
  answerConfidence,
  checkFar,
  impostorTail,
  MAX_SEARCH_PROBES,
  MIN_EXPECTED_FALSE_ACCEPTS,
  pairDistances,
  quantiles,
  sampleIndices,
  thresholdForFar,
  type DistanceSample,
  type Labelled,
} from '../match/calibrate.js';
import { DEFAULT_TOLERANCE, euclideanDistance } from '../match/distance.js';
import { DEFAULT_OPEN_SET_FAR, openSetTable, openSetThreshold } from '../match/open-set.js';
import {
  ANN_DEFAULTS,
  ANN_MIN_FACES,
  ANN_STATE_KEY,
  AnnIndex,
  annSearchBeam,
  type AnnParams,
  type AnnState,
} from '../search/ann.js';

export { ANN_MIN_FACES };
import { DescriptorMatrix, exactKnn } from '../search/exact.js';
import { defaultGalleryPath, sharedIndexFile, sharedIndexStateKey } from './paths.js';
import { openStore } from './open-store.js';
import type {
  CalibrationRecord,
  ClusterFace,
  ClusterRun,
  EnrollOutcome,
  EnrollRequest,
  FaceRecord,
  GalleryStore,
  IndexPhoto,
  IndexPhotoOutcome,
  PhotoIndexStats,
  Metadata,
  MetadataPatch,
  ModelTag,
  NewFace,
  PersonRecord,
  Watermark,
} from './store.js';
import { checkDescriptor } from './validate.js';
import { checkLimit, type IndexMatch, rankIndexedPhotos } from './photo-search.js';

/**
 * Candidates asked of the ANN index per query when a probe's own person must be skipped
 * (calibration): more than any person usually has photos.
 */
const ANN_EXCLUDE_K = 64;

export type IndexMode = 'auto' | 'exact' | 'ann';

export interface GalleryOptions {
  /**
   * Gallery file, or a postgres:// URL (a gallery on PostgreSQL, shared by many processes and
   * hosts); default $FACEKIT_DB, else the per-user data folder (see defaultGalleryPath).
   */
  readonly path?: string;
  /**
   * PostgreSQL only: follow other processes' changes as they commit (LISTEN/NOTIFY), so checking
   * for them costs no query. For long-running processes (the service); default false.
   */
  readonly follow?: boolean;
  /**
   * An already opened store (another backend); `path` is then ignored. The caller keeps it:
   * neither `close()` nor a failed openGallery closes it.
   */
  readonly store?: GalleryStore;
  /** Model of the descriptors this caller brings; a gallery of another model is refused. */
  readonly modelId?: string;
  /**
   * The match threshold of that embedder (its spec's `thresholds.match`) for an uncalibrated
   * gallery whose model has no built-in open-set table (a tuned embedder); default 0.6.
   */
  readonly matchThreshold?: number;
  /** Create the file when it does not exist (default true). */
  readonly create?: boolean;
  /**
   * Open for reading only (identify, list): works on read-only storage; writes fail with
   * FILE_UNWRITABLE. Default: read-only when `create` is false and the file is not writable.
   */
  readonly readOnly?: boolean;
  readonly index?: IndexMode;
  /** Faces from which 'auto' switches to the ANN index. */
  readonly annMinFaces?: number;
  readonly ann?: Partial<AnnParams>;
  /** ANN index file; default `<gallery file>.hnsw`. */
  readonly indexFile?: string;
  /** Threads for building the ANN index (0: every core). */
  readonly threads?: number;
  /** Progress notes (index builds); silent by default. */
  readonly onNote?: (message: string) => void;
}

export interface ThresholdOptions {
  /** Use this distance, whatever is calibrated. */
  readonly threshold?: number;
  /** Use the calibration made for this false-accept rate (CALIBRATION_NOT_FOUND if none). */
  readonly far?: number;
}

export interface IdentifyOptions extends ThresholdOptions {
  readonly k?: number;
  /**
   * Calibrated thresholds and confidences are measured on nearest-face distances, which is what
   * 'best' and 'vote' decide on; 'mean' distances are larger, so a calibrated threshold accepts
   * fewer people with it than its rate says, and its confidences are only indicative.
   */
  readonly aggregate?: Aggregation;
  readonly meanOf?: number;
}

export interface IndexSearchOptions extends ThresholdOptions {
  /** Most photos listed (default DEFAULT_INDEX_LIMIT). */
  readonly limit?: number;
}

export interface IndexSearch {
  /** Photos where the face appears, closest first. */
  readonly matches: IndexMatch[];
  readonly threshold: ThresholdInfo;
  /** Faces of the index searched (this gallery's model), and the photos holding them. */
  readonly faces: number;
  readonly photos: number;
}

/** Where a decision threshold came from. */
export interface ThresholdInfo {
  readonly value: number;
  readonly source: 'option' | 'calibration' | 'builtin' | 'default';
  /** The calibration's target rate, when one was used or available for confidences. */
  readonly far: number | null;
  /** 'search': calibrated for 1:N search of this gallery; 'pair': for 1:1 comparison. */
  readonly level: 'search' | 'pair' | null;
  readonly calibration: CalibrationRecord | null;
}

export interface Identification {
  /** The person recognised, or null: unknown (nobody within the threshold). */
  readonly person: string | null;
  /** Aggregated distance of the best candidate person. */
  readonly distance: number;
  /** Best candidate whatever the threshold: who an unknown face resembles. */
  readonly nearest: string;
  readonly faceId: number;
  readonly threshold: number;
  /** See answerConfidence (src/match/calibrate.ts); null without a calibration. */
  readonly confidence: number | null;
  /** Runner-up person's distance minus this one's: small margins are near-ties. */
  readonly margin: number | null;
  readonly runnerUp: { readonly person: string; readonly distance: number } | null;
  readonly votes: number;
}

export interface LabelledFaces {
  readonly descriptors: readonly Float32Array[];
  readonly names: readonly string[];
  /** For the record: the folder they came from. */
  readonly source: string;
}

export interface CalibrateOptions {
  readonly far: number | readonly number[];
  /** Calibrate on these faces (e.g. a labelled folder) instead of the gallery's own. */
  readonly from?: LabelledFaces;
}

export interface IndexInfo {
  readonly mode: 'exact' | 'ann';
  readonly faces: number;
  readonly annFile: string | null;
}

function checkPositiveInt(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) throw invalidArgument(field, `must be a positive integer, got ${value}`);
  return value;
}

function checkThreshold(value: number, field = 'threshold'): number {
  if (!Number.isFinite(value) || value <= 0) throw invalidArgument(field, `must be a positive number, got ${value}`);
  return value;
}

/** Opens (creating by default) a gallery for descriptors of `modelId`. */
/** The embedder name a model id belongs to: `dlib128+<name>` is the tuned `<name>`; the stock id is dlib128's. */
function embedderNameOf(modelId: string): string {
  if (modelId.startsWith(TUNED_ID_PREFIX)) return modelId.slice(TUNED_ID_PREFIX.length);
  return modelId === EMBEDDER_ID ? DEFAULT_EMBEDDER : modelId;
}

export async function openGallery(options: GalleryOptions = {}): Promise<Gallery> {
  const location = options.path ?? defaultGalleryPath();
  const store =
    options.store ??
    (await openStore(location, {
      create: options.create,
      readOnly: options.readOnly,
      follow: options.follow,
      onNote: options.onNote,
    }));
  const owned = options.store === undefined;
  try {
    const modelId = options.modelId ?? EMBEDDER_ID;
    const model = await store.model();
    if (model !== null && model.modelId !== modelId) {
      throw new FaceKitError(
        'MODEL_MISMATCH',
        `gallery holds ${model.modelId} descriptors; this caller brings ${modelId} descriptors, which cannot be compared with them (encode with the embedder that made them, e.g. --embedder ${embedderNameOf(model.modelId)}, or re-encode it from the photos it was enrolled from: facekit people reencode --into <new gallery> --embedder ${embedderNameOf(modelId)})`,
        {
          file: store.location,
          field: 'modelId',
        },
      );
    }
    const { batch, watermark } = await store.snapshot();
    const names = await store.personNames();
    const revision = await store.revision();
    return new Gallery(store, modelId, model?.dims ?? null, batch, watermark, names, revision, options);
  } catch (e) {
    if (owned) await store.close();
    throw e;
  }
}

export class Gallery {
  private matrix: DescriptorMatrix | null;
  private ann: AnnIndex | null = null;
  /** The ANN index changed since it was saved. */
  private annDirty = false;
  private calibrationCache: CalibrationRecord[] | null = null;
  /** Serialises refreshes and writes: two interleaved catch-ups would append the same faces twice. */
  private queue: Promise<unknown> = Promise.resolve();
  private ownWrite = false;
  private closed = false;
  readonly indexMode: IndexMode;
  private readonly annMinFaces: number;
  private readonly annParams: AnnParams;
  readonly indexFile: string;
  /** Key of the ANN index's state in the store. */
  private readonly annStateKey: string;

  /** Use openGallery(). */
  constructor(
    readonly store: GalleryStore,
    readonly modelId: string,
    private dims: number | null,
    batch: { ids: Float64Array; persons: Int32Array; vectors: Float32Array },
    private watermark: Watermark,
    private names: Map<number, string>,
    private revision: number,
    private readonly options: GalleryOptions,
  ) {
    this.matrix = dims === null ? null : new DescriptorMatrix(dims, batch);
    this.indexMode = options.index ?? 'auto';
    if (!['auto', 'exact', 'ann'].includes(this.indexMode))
      throw invalidArgument('index', `unknown index mode "${String(this.indexMode)}" (use 'auto', 'exact' or 'ann')`);
    this.annMinFaces = checkPositiveInt(options.annMinFaces ?? ANN_MIN_FACES, 'annMinFaces');
    this.annParams = { ...ANN_DEFAULTS, ...options.ann };
    this.indexFile = options.indexFile ?? (store.shared ? sharedIndexFile(store.location) : `${store.location}.hnsw`);
    this.annStateKey = store.shared ? sharedIndexStateKey(ANN_STATE_KEY, this.indexFile) : ANN_STATE_KEY;
  }

  /** The gallery file (or server) for messages. */
  get file(): string {
    return this.store.location;
  }

  /** Faces held in memory (current as of the last call). */
  get size(): number {
    return this.matrix?.count ?? 0;
  }

  private alive(): void {
    if (this.closed) throw new FaceKitError('DISPOSED', 'this gallery was closed', { file: this.file });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed)
      return Promise.reject(new FaceKitError('DISPOSED', 'this gallery was closed', { file: this.file }));
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write<T>(fn: () => Promise<T>): Promise<T> {
    return this.serial(async () => {
      this.ownWrite = true;
      const result = await fn();
      this.calibrationCache = null;
      await this.refresh();
      return result;
    });
  }

  /** Catches up with writes of this and other processes; cheap when nothing changed. */
  private async refresh(): Promise<void> {
    const revision = await this.store.revision();
    if (revision === this.revision && !this.ownWrite) return;
    this.revision = revision;
    this.ownWrite = false;
    this.calibrationCache = null;
    if (this.matrix === null) {
      const model = await this.store.model();
      if (model === null) return;
      this.dims = model.dims;
      this.matrix = new DescriptorMatrix(model.dims);
    }
    const c = await this.store.changesSince(this.watermark);
    this.matrix.append(c.added);
    this.ann?.add(c.added.ids, c.added.vectors, this.options.threads ?? 0);
    const removed: number[] = [];
    for (const e of c.log) {
      if (e.personId === null) removed.push(e.faceId);
      else this.matrix.setPerson(e.faceId, e.personId);
    }
    this.matrix.remove(removed);
    if (this.ann && removed.length > 0) this.ann.remove(removed);
    if (this.ann && (c.added.ids.length > 0 || removed.length > 0)) this.annDirty = true;
    if (c.peopleChanged || c.added.ids.length > 0) this.names = await this.store.personNames();
    this.watermark = c.watermark;
  }

  private wantsAnn(): boolean {
    return this.indexMode === 'ann' || (this.indexMode === 'auto' && this.size >= this.annMinFaces);
  }

  /** Loads, catches up or builds the ANN index when this gallery's size calls for it. */
  private async ensureAnn(): Promise<AnnIndex | null> {
    if (!this.wantsAnn() || this.matrix === null) return null;
    if (this.ann) {
      if (!this.ann.stale) return this.ann;
      this.ann = null;
    }
    const matrix = this.matrix;
    const note = this.options.onNote ?? (() => undefined);
    const raw = await this.store.getState(this.annStateKey);
    let state: AnnState | null = null;
    try {
      state = raw === null ? null : (JSON.parse(raw) as AnnState);
    } catch {
      state = null;
    }
    let ann = AnnIndex.load(this.indexFile, state, matrix.dims, this.annParams);
    if (ann && state) {
      // Catch up with what was written since the index was saved: faces above its watermark, removals after its log position.
      const removed = await this.store.removedSince(state.logSeq);
      ann.remove(removed.ids.filter((id) => id <= state.maxFaceId));
      let first = 0;
      while (first < matrix.count && matrix.idAt(first) <= state.maxFaceId) first++;
      ann.addRows(matrix, first, this.options.threads ?? 0);
      this.annDirty = removed.ids.length > 0 || first < matrix.count;
      if (ann.stale) {
        note(`search index: ${removed.ids.length} faces removed since it was built; rebuilding`);
        ann = null;
      }
    }
    if (!ann) {
      note(`building the search index for ${matrix.count} faces (once; later changes are added incrementally)…`);
      ann = AnnIndex.build(matrix, this.annParams, this.options.threads ?? 0);
      this.annDirty = true;
    }
    this.ann = ann;
    await this.saveAnn();
    return ann;
  }

  private async saveAnn(): Promise<void> {
    if (!this.ann || !this.annDirty || this.store.readOnly) return;
    try {
      // A shared gallery's cache folder is made on first use.
      if (this.store.shared && this.options.indexFile === undefined)
        mkdirSync(dirname(this.indexFile), { recursive: true });
      const state = this.ann.save(this.indexFile, this.watermark);
      await this.store.setState(this.annStateKey, JSON.stringify(state));
      this.annDirty = false;
    } catch (e) {
      // A read-only gallery, or an index path taken by a folder: searching needs only the index in memory.
      if (!(e instanceof FaceKitError && e.code === 'FILE_UNWRITABLE')) throw e;
      this.options.onNote?.(`warning: search index kept in memory only: ${e.message}`);
    }
  }

  /** Which search serves queries now, after catching up with the store. */
  indexInfo(): Promise<IndexInfo> {
    return this.serial(async () => {
      await this.refresh();
      const ann = await this.ensureAnn();
      return { mode: ann ? 'ann' : 'exact', faces: this.size, annFile: ann ? this.indexFile : null };
    });
  }

  private async calibrationsNow(): Promise<CalibrationRecord[]> {
    this.calibrationCache ??= await this.store.calibrations(this.modelId);
    return this.calibrationCache;
  }

  /** The threshold a decision uses at `level`, and the calibration behind it. */
  threshold(options: ThresholdOptions = {}, level: 'search' | 'pair' = 'search'): Promise<ThresholdInfo> {
    return this.serial(async () => {
      await this.refresh();
      return this.thresholdNow(options, level);
    });
  }

  private async thresholdNow(options: ThresholdOptions, level: 'search' | 'pair'): Promise<ThresholdInfo> {
    if (options.far !== undefined) checkFar(options.far);
    const all = await this.calibrationsNow();
    const calibration = options.far === undefined ? (all[0] ?? null) : (all.find((c) => c.far === options.far) ?? null);
    // A gallery never calibrated answers any rate from the built-in calibration; one calibrated at other rates says which it has.
    if (options.far !== undefined && calibration === null && all.length > 0) {
      const made = [...new Set(all.map((c) => c.far))].join(', ') || 'none';
      throw new FaceKitError(
        'CALIBRATION_NOT_FOUND',
        `no calibration for a false-accept rate of ${options.far} (calibrated: ${made}); run facekit calibrate --far ${options.far}`,
        {
          file: this.file,
          field: 'far',
        },
      );
    }
    const used = calibration && (level === 'pair' || calibration.searchThreshold === null) ? 'pair' : 'search';
    if (options.threshold !== undefined) {
      return {
        value: checkThreshold(options.threshold),
        source: 'option',
        far: calibration?.far ?? null,
        level: calibration ? used : null,
        calibration,
      };
    }
    if (calibration === null) {
      // Not calibrated: the built-in open-set threshold for this many people (1:1 for pairs), not a 1:1 0.6 for a 1:N search.
      const builtin = openSetTable(this.modelId)
        ? openSetThreshold(this.modelId, level === 'pair' ? 1 : this.names.size, options.far ?? DEFAULT_OPEN_SET_FAR)
        : null;
      if (builtin) return { value: builtin.value, source: 'builtin', far: builtin.far, level, calibration: null };
      const value = this.options.matchThreshold ?? DEFAULT_TOLERANCE;
      return { value, source: 'default', far: null, level: null, calibration: null };
    }
    const value = used === 'pair' ? calibration.pairThreshold : (calibration.searchThreshold as number);
    return { value, source: 'calibration', far: calibration.far, level: used, calibration };
  }

  private checkQuery(d: Float32Array, field: string): void {
    // Finite values too: a NaN ranks every face first (ANN) or breaks the sort (exact).
    checkDescriptor(d, field);
    if (this.dims !== null && d.length !== this.dims) {
      throw new FaceKitError(
        'MODEL_MISMATCH',
        `${field}: a ${d.length}-d descriptor; this gallery holds ${this.modelId} descriptors of ${this.dims}`,
        { file: this.file, field },
      );
    }
  }

  /** The k nearest faces of each query, nearest first: exact, or ANN re-scored exactly. */
  private async neighbours(queries: readonly Float32Array[], k: number, exclude?: Int32Array): Promise<Candidate[][]> {
    const matrix = this.matrix as DescriptorMatrix;
    const ann = await this.ensureAnn();
    const fromRows = (rows: Int32Array, distances: Float32Array): Candidate[] =>
      Array.from(rows, (r, i) => ({ person: matrix.personAt(r), faceId: matrix.idAt(r), distance: distances[i] }));
    if (!ann) return exactKnn(matrix, queries, k, { excludePerson: exclude }).map((n) => fromRows(n.rows, n.distances));
    // usearch walks a beam of max(ef, count) candidates whatever count is asked, so the whole beam
    // comes at no extra hops; re-scoring all of it from the float32 rows (ef × 128 multiply-adds)
    // puts back the true nearest when f16 distances ordered it below the k-th.
    const beam = Math.max(k, this.options.ann?.expansionSearch ?? annSearchBeam(matrix.count));
    return queries.map((q, qi) => {
      const skip = exclude ? exclude[qi] : -1;
      const hits = ann.search(q, skip >= 0 ? Math.max(beam, ANN_EXCLUDE_K) : beam);
      const out: Candidate[] = [];
      for (const id of hits.ids) {
        const r = matrix.rowOf(id);
        if (r < 0 || matrix.personAt(r) === skip) continue;
        out.push({ person: matrix.personAt(r), faceId: id, distance: euclideanDistance(matrix.row(r), q) });
      }
      if (skip >= 0 && out.length === 0) {
        // Every candidate was the probe's own person: ask the exact search, which can skip them all.
        const [n] = exactKnn(matrix, [q], k, { excludePerson: Int32Array.of(skip) });
        return fromRows(n.rows, n.distances);
      }
      return out.sort((a, b) => a.distance - b.distance).slice(0, k);
    });
  }

  /**
   * Who each descriptor is: the best person by `aggregate` among the k nearest faces, accepted
   * when within the threshold (option, else the calibrated search threshold, else 0.6).
   */
  async identify(descriptors: readonly Float32Array[], options: IdentifyOptions = {}): Promise<Identification[]> {
    const k = checkPositiveInt(options.k ?? DEFAULT_K, 'k');
    const mode = checkAggregation(options.aggregate ?? 'best');
    const meanOf = checkPositiveInt(options.meanOf ?? DEFAULT_MEAN_OF, 'meanOf');
    if (!Array.isArray(descriptors))
      throw invalidArgument('descriptors', 'must be an array of Float32Array descriptors');
    descriptors.forEach((d, i) => this.checkQuery(d, `descriptors[${i}]`));
    return this.serial(async () => {
      await this.refresh();
      if (this.size === 0)
        throw new FaceKitError('GALLERY_EMPTY', 'the gallery holds nobody yet: enrol people first (facekit enroll)', {
          file: this.file,
        });
      const t = await this.thresholdNow(options, 'search');
      const neighbours = await this.neighbours(descriptors, k);
      return neighbours.map((candidates) => {
        const ranked = aggregate(candidates, mode, t.value, meanOf);
        const [best, second] = ranked;
        const accepted = mode === 'vote' ? best.votes > 0 : best.distance <= t.value;
        const sample: DistanceSample | null =
          t.calibration === null
            ? null
            : t.level === 'search' && t.calibration.searchImpostors
              ? t.calibration.searchImpostors
              : t.calibration.impostors;
        const name = (p: number) => this.names.get(p) ?? `#${p}`;
        return {
          person: accepted ? name(best.person) : null,
          distance: best.distance,
          nearest: name(best.person),
          faceId: best.faceId,
          threshold: t.value,
          confidence:
            sample && t.calibration ? answerConfidence(accepted, best.distance, sample, t.calibration.genuine) : null,
          margin: second ? second.distance - best.distance : null,
          runnerUp: second ? { person: name(second.person), distance: second.distance } : null,
          votes: best.votes,
        };
      });
    });
  }

  /**
   * The model tag enrolment checks descriptors against: this gallery's, or for an empty gallery
   * this caller's model at the first descriptor's length (the store ties it in the same transaction).
   */
  private modelTag(requests: readonly EnrollRequest[]): ModelTag {
    if (!Array.isArray(requests)) throw invalidArgument('requests', 'must be an array of { name, faces }');
    requests.forEach((r, i) => {
      const faces: readonly NewFace[] = Array.isArray(r?.faces) ? r.faces : [];
      faces.forEach((f, j) => checkDescriptor(f?.descriptor, `requests[${i}].faces[${j}].descriptor`));
    });
    const first = requests.find((r) => Array.isArray(r?.faces) && r.faces.length > 0)?.faces[0].descriptor;
    return { modelId: this.modelId, dims: this.dims ?? first?.length ?? 0 };
  }

  /** Adds faces to a person (created when new) in one transaction; duplicates are skipped and listed. */
  async enroll(name: string, faces: readonly NewFace[], metadata?: Metadata): Promise<EnrollOutcome> {
    const [outcome] = await this.enrollMany([{ name, faces, metadata }]);
    return outcome;
  }

  /** Several people in one transaction: either all of them are stored, or none. */
  enrollMany(requests: readonly EnrollRequest[]): Promise<EnrollOutcome[]> {
    return this.write(() => this.store.enroll(requests, this.modelTag(requests)));
  }

  /** Changes a person's metadata: keys set to null are removed, others set; the rest is kept. */
  setMetadata(name: string, patch: MetadataPatch): Promise<PersonRecord> {
    return this.write(() => this.store.setMetadata(name, patch));
  }

  async people(): Promise<PersonRecord[]> {
    this.alive();
    return this.store.people();
  }

  async person(name: string): Promise<PersonRecord> {
    this.alive();
    const p = await this.store.person(name);
    if (!p)
      throw new FaceKitError('PERSON_NOT_FOUND', `no person named "${name}" in the gallery`, {
        file: this.file,
        field: 'person',
      });
    return p;
  }

  async faces(person?: string): Promise<FaceRecord[]> {
    this.alive();
    return this.store.faces(person);
  }

  async facesWithHashes(hashes: readonly string[]): Promise<FaceRecord[]> {
    this.alive();
    return this.store.facesWithHashes(hashes);
  }

  renamePerson(name: string, newName: string): Promise<PersonRecord> {
    return this.write(() => this.store.renamePerson(name, newName));
  }

  mergePeople(from: string, into: string): Promise<PersonRecord> {
    return this.write(() => this.store.mergePeople(from, into));
  }

  async removePerson(name: string): Promise<{ person: PersonRecord; faces: number }> {
    const [removed] = await this.removePeople([name]);
    return removed;
  }

  /** Removes people and all their faces, all or none (PERSON_NOT_FOUND for an unknown name). */
  removePeople(names: readonly string[]): Promise<{ person: PersonRecord; faces: number }[]> {
    return this.write(() => this.store.removePeople(names));
  }

  removeFaces(ids: readonly number[]): Promise<number> {
    return this.write(() => this.store.removeFaces(ids));
  }

  calibrations(): Promise<CalibrationRecord[]> {
    return this.serial(() => this.calibrationsNow());
  }

  /**
   * Measures thresholds for each target rate and stores them (newest wins): a pair threshold from
   * impostor pairs of `from` (or the gallery), and a search threshold from searching the gallery
   * with faces whose own person is left out (gallery faces, or `from` faces of people not in it).
   */
  async calibrate(options: CalibrateOptions): Promise<CalibrationRecord[]> {
    const fars = (Array.isArray(options.far) ? options.far : [options.far]) as number[];
    if (fars.length === 0) throw invalidArgument('far', 'give at least one false-accept rate');
    fars.forEach((f) => checkFar(f));
    return this.write(async () => {
      await this.refresh();
      const from = options.from;
      let set: Labelled;
      let probes: Float32Array[];
      let exclude: Int32Array;
      if (from) {
        if (from.descriptors.length !== from.names.length)
          throw invalidArgument('from', 'descriptors and names differ in length');
        from.descriptors.forEach((d, i) => {
          this.checkQuery(d, `from.descriptors[${i}]`);
          if (d.length !== from.descriptors[0].length)
            throw invalidArgument(
              `from.descriptors[${i}]`,
              `has ${d.length} values; the first has ${from.descriptors[0].length}: descriptors of different models`,
            );
        });
        const labelOf = new Map<string, number>();
        const labels = Int32Array.from(from.names, (n) => {
          const known = labelOf.get(n);
          if (known !== undefined) return known;
          labelOf.set(n, labelOf.size);
          return labelOf.size - 1;
        });
        set = { labels, row: (i) => from.descriptors[i] };
        const byName = new Map([...this.names.entries()].map(([id, n]) => [n, id] as const));
        const rows = sampleIndices(from.descriptors.length, MAX_SEARCH_PROBES);
        probes = Array.from(rows, (r) => from.descriptors[r]);
        exclude = Int32Array.from(rows, (r) => byName.get(from.names[r]) ?? -1);
      } else {
        const m = this.matrix;
        if (m === null || m.count === 0)
          throw new FaceKitError(
            'GALLERY_EMPTY',
            'the gallery holds nobody to calibrate on: enrol people first, or give a labelled folder',
            { file: this.file },
          );
        set = { labels: m.persons, row: (i) => m.row(i) };
        const rows = sampleIndices(m.count, MAX_SEARCH_PROBES);
        probes = Array.from(rows, (r) => m.row(r));
        exclude = Int32Array.from(rows, (r) => m.personAt(r));
      }
      if (new Set(set.labels).size < 2)
        throw new FaceKitError('CALIBRATION_TOO_FEW', 'calibration needs faces of at least two people', {
          file: this.file,
          field: 'far',
        });
      const { impostors, genuine } = pairDistances(set);
      const pairThresholds = fars.map((f) => thresholdForFar(impostors, f));
      // A search needs a gallery of at least two people: then every probe has someone else to be compared with.
      const people = new Set(this.matrix?.persons ?? []).size;
      let search: Float32Array | null = null;
      if (people >= 2 || (from && people >= 1)) {
        const nearest = await this.neighbours(probes, 1, exclude);
        search = Float32Array.from(
          nearest.filter((n) => n.length > 0),
          (n) => n[0].distance,
        ).sort();
      }
      const createdAt = new Date().toISOString();
      // The first rate asked for comes first, and so becomes the default.
      return this.store.saveCalibrations(
        fars.map((far, i) => {
          const enough = search !== null && search.length >= Math.ceil(MIN_EXPECTED_FALSE_ACCEPTS / far);
          return {
            modelId: this.modelId,
            far,
            pairThreshold: pairThresholds[i],
            searchThreshold: enough ? thresholdForFar(search as Float32Array, far, 'search probes') : null,
            impostors: impostorTail(impostors, far),
            searchImpostors: search === null ? null : { sorted: search, total: search.length },
            genuine: quantiles(genuine),
            source: from?.source ?? 'gallery',
            people,
            faces: this.size,
            createdAt,
          };
        }),
      );
    });
  }

  /** Saves a clustering of faces (descriptors of this gallery's model) for `clusterRun` and `nameCluster`. */
  async saveClusterRun(run: { threshold: number; inputs: string[]; faces: ClusterFace[] }): Promise<ClusterRun> {
    if (!Array.isArray(run?.faces)) throw invalidArgument('faces', 'must be an array of cluster faces');
    run.faces.forEach((f, i) => this.checkQuery(f?.descriptor, `faces[${i}].descriptor`));
    return this.write(() => this.store.saveClusterRun({ ...run, modelId: this.modelId }));
  }

  /** A saved cluster run (the newest without `id`); CLUSTER_NOT_FOUND when there is none. */
  async clusterRun(id?: number): Promise<ClusterRun> {
    this.alive();
    const run = await this.store.clusterRun(id);
    if (!run) {
      throw new FaceKitError(
        'CLUSTER_NOT_FOUND',
        id === undefined
          ? 'no cluster run in this gallery yet: run facekit cluster <folder> first'
          : `no cluster run ${id} in this gallery`,
        {
          file: this.file,
          field: 'run',
        },
      );
    }
    return run;
  }

  /** Enrols every face of one cluster as `name`, in one transaction. */
  nameCluster(cluster: number, name: string, runId?: number): Promise<EnrollOutcome> {
    return this.write(async () => {
      const run = await this.clusterRun(runId);
      if (run.modelId !== this.modelId) {
        throw new FaceKitError(
          'MODEL_MISMATCH',
          `cluster run ${run.id} holds ${run.modelId} descriptors; this gallery is for ${this.modelId}`,
          { file: this.file, field: 'run' },
        );
      }
      return this.store.nameCluster(run.id, cluster, name);
    });
  }

  /**
   * Adds photos and every face found in them to the photo index (`facekit index`), in one
   * transaction; photos indexed already (same bytes, this gallery's model) add nothing.
   */
  indexPhotos(photos: readonly IndexPhoto[]): Promise<IndexPhotoOutcome[]> {
    if (!Array.isArray(photos))
      throw invalidArgument('photos', 'must be an array of { sourceFile, contentHash, faces }');
    const first = photos.find((p) => Array.isArray(p?.faces) && p.faces.length > 0)?.faces[0]?.descriptor;
    return this.write(() =>
      this.store.indexPhotos(photos, { modelId: this.modelId, dims: this.dims ?? first?.length ?? 0 }),
    );
  }

  /** Those of `hashes` already in the photo index for this gallery's model. */
  indexedHashes(hashes: readonly string[]): Promise<string[]> {
    this.alive();
    return this.store.indexedHashes(hashes, this.modelId);
  }

  photoIndexStats(): Promise<PhotoIndexStats> {
    this.alive();
    return this.store.photoIndexStats();
  }

  /**
   * The indexed photos where the face of `descriptors` appears (several descriptors: any of them),
   * closest first. Each indexed face is one 1:1 comparison, so the threshold is the pair one:
   * the option, else the gallery's calibrated pair threshold, else the built-in one, as verify.
   */
  async searchIndex(descriptors: readonly Float32Array[], options: IndexSearchOptions = {}): Promise<IndexSearch> {
    if (!Array.isArray(descriptors) || descriptors.length === 0)
      throw invalidArgument('descriptors', 'must be a non-empty array of Float32Array descriptors');
    descriptors.forEach((d, i) => this.checkQuery(d, `descriptors[${i}]`));
    const limit = checkLimit(options.limit);
    const threshold = await this.threshold(options, 'pair');
    const faces = await this.store.indexedFaces(this.modelId);
    const photos = new Set(faces.map((f) => f.photoId)).size;
    return {
      matches: rankIndexedPhotos(faces, descriptors, threshold.value, limit),
      threshold,
      faces: faces.length,
      photos,
    };
  }

  /** searchIndex with every enrolled face of `name` as the query (PERSON_NOT_FOUND for an unknown name). */
  async searchIndexForPerson(name: string, options: IndexSearchOptions = {}): Promise<IndexSearch> {
    const person = await this.person(name);
    const descriptors = await this.serial(async () => {
      await this.refresh();
      const m = this.matrix;
      const out: Float32Array[] = [];
      if (m) for (let r = 0; r < m.count; r++) if (m.personAt(r) === person.id) out.push(m.row(r).slice());
      return out;
    });
    return this.searchIndex(descriptors, options);
  }

  /** Saves the ANN index if it changed, and closes the store unless the caller gave it (GalleryOptions.store). Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    try {
      await this.saveAnn();
    } finally {
      this.closed = true;
      this.ann = null;
      this.matrix = null;
      if (this.options.store === undefined) await this.store.close();
    }
  }
}
