/**
 * The embedded gallery store: one SQLite file (better-sqlite3), WAL journal, every write one
 * IMMEDIATE transaction. Descriptors are little-endian float32 BLOBs; the schema carries a version
 * (user_version) so later releases can migrate it, and an application id so that facekit never
 * mistakes another program's database for a gallery.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { lazy } from '../util/lazy.js';
import { FaceKitError, invalidArgument } from '../errors.js';
import { checkFar } from '../match/calibrate.js';
import { KEYS_SCHEMA, SqliteKeys } from './keys.js';
import type {
  CalibrationRecord,
  ChangeSet,
  ClusterRun,
  DescriptorBatch,
  DistanceSample,
  DuplicateFace,
  EnrollOutcome,
  EnrollRequest,
  FaceRecord,
  IndexedFace,
  IndexPhoto,
  IndexPhotoOutcome,
  PhotoIndexStats,
  ServiceStore,
  Metadata,
  MetadataPatch,
  ModelTag,
  NewFace,
  PersonRecord,
  StoreStats,
  Watermark,
} from './store.js';
import { checkNotPseudoFs } from '../util/pseudo-fs.js';
import { openReadOnlyCopy, upgradableCopy } from './readonly-copy.js';
import { parseStoredJson } from './stored-json.js';
import {
  checkIndexPhotos,
  checkModelId,
  INDEXED_FACE_SELECT,
  type IndexedFaceRow,
  indexedFaceValues,
  photoIndexSchema,
  rowToIndexedFace,
} from './photo-index.js';
import {
  checkCalibrationValues,
  checkClusterFaces,
  checkFace,
  clusterFaceValues,
  checkNewModel,
  type ClusterFaceRow,
  clusterOwner,
  type FaceRow,
  fromBlob,
  modelMismatch,
  type PersonRow,
  rowToClusterFace,
  rowToFace,
  rowToPerson,
  sameFace,
  storedModel,
  toBlob,
} from './records.js';

export { fromBlob, toBlob };
import { applyMetadataPatch, checkMetadata, checkMetadataPatch, checkName } from './validate.js';

const require = createRequire(import.meta.url);
/** better-sqlite3 on first use: a PostgreSQL gallery, or any CLI command's start-up, never loads it. */
const sqliteLib = lazy(() => require('better-sqlite3') as typeof Database);

/** Schema version this code writes and reads; a newer file is refused rather than misread. */
export const SCHEMA_VERSION = 3;
/** "FKGa" as a big-endian int32: marks the file as a facekit gallery for `file(1)` and for us. */
export const APPLICATION_ID = 0x464b4761;
/**
 * How long a writer waits for another process's transaction before GALLERY_BUSY: long enough
 * for any one person's enrolment to commit, short enough that a stuck process is reported.
 */
const BUSY_TIMEOUT_MS = 10_000;

const SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE people (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  metadata TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL
);
-- AUTOINCREMENT: a deleted face's id is never reused, so the change log and the ANN index
-- (keyed by face id) can never confuse an old face with a new one.
CREATE TABLE faces (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  person_id INTEGER NOT NULL REFERENCES people(id),
  model_id TEXT NOT NULL,
  descriptor BLOB NOT NULL,
  source_file TEXT,
  content_hash TEXT,
  box_x REAL, box_y REAL, box_w REAL, box_h REAL,
  score REAL,
  quality REAL,
  created_at TEXT NOT NULL
);
CREATE INDEX faces_person ON faces(person_id);
CREATE INDEX faces_hash ON faces(content_hash) WHERE content_hash IS NOT NULL;
-- Removals (person_id NULL) and moves (merge) for readers holding descriptors in memory; new
-- faces need no entry, they are the ids above a reader's watermark.
CREATE TABLE face_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, face_id INTEGER NOT NULL, person_id INTEGER);
CREATE TABLE calibrations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  model_id TEXT NOT NULL,
  far REAL NOT NULL,
  pair_threshold REAL NOT NULL,
  search_threshold REAL,
  impostors BLOB NOT NULL, impostors_total INTEGER NOT NULL,
  search_impostors BLOB, search_impostors_total INTEGER,
  genuine BLOB NOT NULL, genuine_total INTEGER NOT NULL,
  source TEXT NOT NULL,
  people INTEGER NOT NULL,
  faces INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE cluster_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  model_id TEXT NOT NULL,
  threshold REAL NOT NULL,
  inputs TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE cluster_faces (
  run_id INTEGER NOT NULL REFERENCES cluster_runs(id) ON DELETE CASCADE,
  cluster INTEGER NOT NULL,
  source_file TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  box_x REAL NOT NULL, box_y REAL NOT NULL, box_w REAL NOT NULL, box_h REAL NOT NULL,
  score REAL NOT NULL,
  descriptor BLOB NOT NULL,
  person_id INTEGER REFERENCES people(id) ON DELETE SET NULL
);
CREATE INDEX cluster_faces_run ON cluster_faces(run_id, cluster);
INSERT INTO meta (key, value) VALUES ('people_rev', '0');
`;

/**
 * Schema 2: API keys (src/gallery/keys.ts) and face thumbnails, small JPEG crops the HTTP service
 * stores at enrolment (it keeps no source photos); a thumbnail goes with its face.
 */
const SCHEMA_2 = `${KEYS_SCHEMA}
CREATE TABLE face_thumbnails (
  face_id INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,
  jpeg BLOB NOT NULL
);
`;

/** Schema 3: the photo index (`facekit index`), see ./photo-index.ts. */
const SCHEMA_3 = photoIndexSchema('INTEGER PRIMARY KEY AUTOINCREMENT', 'BLOB', 'REAL');

/** The step that brings a file of version n - 1 to version n. */
const MIGRATIONS: Readonly<Record<number, string>> = { 2: SCHEMA_2, 3: SCHEMA_3 };

interface CalibrationRow {
  id: number;
  model_id: string;
  far: number;
  pair_threshold: number;
  search_threshold: number | null;
  impostors: Buffer;
  impostors_total: number;
  search_impostors: Buffer | null;
  search_impostors_total: number | null;
  genuine: Buffer;
  genuine_total: number;
  source: string;
  people: number;
  faces: number;
  created_at: string;
}

const sample = (sorted: Buffer | null, total: number | null): DistanceSample | null =>
  sorted === null || total === null ? null : { sorted: fromBlob(sorted), total };

/**
 * SQLite's failures as facekit's: the file and a stable code. A FaceKitError thrown inside a
 * transaction passes through unchanged.
 */
export function storeError(file: string, cause: unknown): FaceKitError {
  if (cause instanceof FaceKitError) return cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  switch (typeof code === 'string' ? code.replace(/^(SQLITE_[A-Z]+).*$/, '$1') : '') {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new FaceKitError('GALLERY_BUSY', 'gallery is locked by another process; try again when it has finished', {
        file,
        cause,
      });
    case 'SQLITE_ERROR':
      // A table or column the schema promises is missing: the file was altered outside facekit.
      if (/no such (table|column)/.test(message))
        return new FaceKitError('GALLERY_CORRUPT', `is damaged: ${message}`, { file, cause });
      return new FaceKitError('INTERNAL', `gallery: ${message}`, { file, cause });
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return new FaceKitError('GALLERY_CORRUPT', `is damaged or not a facekit gallery (${message})`, { file, cause });
    case 'SQLITE_READONLY':
    case 'SQLITE_FULL':
    case 'SQLITE_IOERR':
      return new FaceKitError('FILE_UNWRITABLE', `cannot write the gallery (${message})`, { file, cause });
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
      return new FaceKitError('FILE_UNREADABLE', `cannot open the gallery (${message})`, { file, cause });
    default:
      return new FaceKitError('INTERNAL', `gallery: ${message}`, { file, cause });
  }
}

const now = (): string => new Date().toISOString();

export interface SqliteStoreOptions {
  /** Create the file (and its folder) when it does not exist; otherwise FILE_NOT_FOUND. */
  readonly create?: boolean;
  /** How long a write waits for another process's transaction (default BUSY_TIMEOUT_MS). */
  readonly busyTimeoutMs?: number;
  /**
   * Open without write access (writes fail with FILE_UNWRITABLE), for galleries on read-only
   * storage. Default: read-only when `create` is false and the file or its folder is not writable.
   */
  readonly readOnly?: boolean;
}

/**
 * Whether a read-only connection can read the file where it lies. It cannot when the file is in
 * WAL mode and its -shm file neither exists nor can be made (a read-only mount): SQLITE_CANTOPEN
 * on the first read. `db` is closed when the answer is no.
 */
function readableInPlace(db: Database.Database): boolean {
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return true;
  } catch (cause) {
    if ((cause as { code?: unknown }).code !== 'SQLITE_CANTOPEN') throw cause;
    db.close();
    return false;
  }
}

/** Whether this process may write `file` and create its -wal and -shm files beside it (EROFS on a read-only mount, even for root). */
function writable(file: string): boolean {
  try {
    accessSync(file, constants.W_OK);
    accessSync(dirname(file), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** A facekit gallery of an older schema than this code's (a newer or foreign file is refused later, by the store). */
function isOlderGallery(db: Database.Database): boolean {
  const version = db.pragma('user_version', { simple: true }) as number;
  return db.pragma('application_id', { simple: true }) === APPLICATION_ID && version >= 1 && version < SCHEMA_VERSION;
}

/** Opens (or creates) a gallery file; see GalleryStore for what each method promises. */
export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): SqliteStore {
  // SQLite opens '' (and ':memory:') as a throw-away database: an enrolment would report success and store nothing.
  if (typeof file !== 'string' || file === '' || file === ':memory:')
    throw invalidArgument('db', `needs a gallery file path, got ${JSON.stringify(file)}`);
  checkNotPseudoFs(file, 'db');
  let exists = true;
  try {
    if (statSync(file).isDirectory())
      throw new FaceKitError('INVALID_ARGUMENT', 'is a folder: give the gallery file (e.g. gallery.db)', {
        file,
        field: 'db',
      });
  } catch (e) {
    if (e instanceof FaceKitError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    // ENOTDIR: a file sits where a folder of the path should be; the file does not exist either.
    if (code !== 'ENOENT' && code !== 'ENOTDIR')
      throw new FaceKitError('FILE_UNREADABLE', `cannot read (${code})`, { file, cause: e });
    exists = false;
  }
  if (!exists) {
    if (options.create === false || options.readOnly === true)
      throw new FaceKitError('FILE_NOT_FOUND', 'no gallery here: enrol people first (facekit enroll) or give --db', {
        file,
        field: 'db',
      });
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (cause) {
      throw new FaceKitError(
        'FILE_UNWRITABLE',
        `cannot create the gallery's folder (${(cause as NodeJS.ErrnoException).code})`,
        { file, cause },
      );
    }
  }
  const readOnly = options.readOnly ?? (exists && options.create === false && !writable(file));
  let db: Database.Database;
  try {
    db = new (sqliteLib())(file, {
      timeout: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS,
      readonly: readOnly,
      fileMustExist: readOnly || options.create === false,
    });
    if (readOnly) db = readableInPlace(db) ? db : openReadOnlyCopy(file);
    // Read-only, by an older facekit: read through an upgraded copy (a reader must not need write access to upgrade).
    if (readOnly && isOlderGallery(db)) db = upgradableCopy(db);
  } catch (cause) {
    throw storeError(file, cause);
  }
  try {
    return new SqliteStore(db, file, { create: options.create !== false && !readOnly, readOnly });
  } catch (e) {
    db.close();
    throw e;
  }
}

export class SqliteStore implements ServiceStore {
  private readonly s: ReturnType<SqliteStore['prepare']>;
  private closed = false;
  /** The HTTP service's API keys, kept in this file. */
  readonly keys: SqliteKeys;

  /** `mode.create`: an empty database may be given the schema (readers refuse it instead). */
  constructor(
    private readonly db: Database.Database,
    readonly location: string,
    readonly mode: { readonly create: boolean; readonly readOnly: boolean } = { create: true, readOnly: false },
  ) {
    this.initialise();
    try {
      this.s = this.prepare();
    } catch (cause) {
      throw storeError(location, cause);
    }
    this.keys = new SqliteKeys(db, (fn, mode) => this.use(fn, mode), location);
  }

  get readOnly(): boolean {
    return this.mode.readOnly;
  }

  /**
   * A person's row by name, in NFC or NFD: names are stored NFC since issue 16, but a gallery made
   * before may hold a name as macOS spelt it (NFD), which must still be found, not doubled.
   */
  private personRow(name: string): PersonRow | undefined {
    return this.s.person.get(name.normalize('NFC'), name.normalize('NFD'));
  }

  /** Whether the database holds nothing at all yet (a new or zero-byte file). */
  private isBlank(): boolean {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    const appId = this.db.pragma('application_id', { simple: true }) as number;
    const tables = (this.db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n;
    return version === 0 && tables === 0 && appId === 0;
  }

  private initialise(): void {
    const file = this.location;
    try {
      // Reading the header is where a file that is not SQLite at all fails (SQLITE_NOTADB).
      if (this.isBlank() && !this.mode.create) {
        throw new FaceKitError('GALLERY_CORRUPT', 'is empty, not a facekit gallery (enrol people to make one)', {
          file,
          field: 'db',
        });
      }
      if (this.isBlank()) {
        this.db.pragma('journal_mode = WAL');
        // Checked again under the write lock: processes opening one new file at once all saw it
        // blank, and all but the first must find the schema made rather than make it again.
        this.db
          .transaction(() => {
            if (!this.isBlank()) return;
            this.db.exec(SCHEMA);
            for (let v = 2; v <= SCHEMA_VERSION; v++) this.db.exec(MIGRATIONS[v]);
            this.db.pragma(`application_id = ${APPLICATION_ID}`);
            this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
          })
          .immediate();
      }
      const version = this.db.pragma('user_version', { simple: true }) as number;
      const appId = this.db.pragma('application_id', { simple: true }) as number;
      if (appId !== APPLICATION_ID) {
        throw new FaceKitError(
          'GALLERY_CORRUPT',
          'is an SQLite database but not a facekit gallery; refusing to touch it',
          { file, field: 'db' },
        );
      } else if (version > SCHEMA_VERSION) {
        throw new FaceKitError(
          'GALLERY_VERSION',
          `was written by a newer facekit (schema ${version}; this one knows up to ${SCHEMA_VERSION}): upgrade facekit`,
          { file, field: 'db' },
        );
      } else if (version < 1) {
        throw new FaceKitError('GALLERY_CORRUPT', 'has no schema version: damaged or not made by facekit', {
          file,
          field: 'db',
        });
      } else if (version < SCHEMA_VERSION) {
        // Each step and the version bump in one transaction: a crash leaves the file at the old version, unchanged.
        this.db
          .transaction(() => {
            for (let v = version + 1; v <= SCHEMA_VERSION; v++) this.db.exec(MIGRATIONS[v]);
            this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
          })
          .immediate();
      }
      // WAL: readers never block the enrolling writer, and a killed writer leaves committed data intact.
      if (!this.mode.readOnly && this.db.pragma('journal_mode', { simple: true }) !== 'wal')
        this.db.pragma('journal_mode = WAL');
      // FULL: a transaction that returned is on disk even if the power goes, not only if the process dies.
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
    } catch (cause) {
      throw storeError(file, cause);
    }
  }

  private prepare() {
    const db = this.db;
    return {
      meta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare<[string, string]>(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
      delMeta: db.prepare<[string]>('DELETE FROM meta WHERE key = ?'),
      bumpPeople: db.prepare("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'people_rev'"),
      stats: db.prepare<[], StoreStats>(
        'SELECT (SELECT count(*) FROM people) AS people, (SELECT count(*) FROM faces) AS faces',
      ),
      people: db.prepare<[], PersonRow>(
        'SELECT p.id, p.name, p.metadata, p.created_at, (SELECT count(*) FROM faces f WHERE f.person_id = p.id) AS faces FROM people p ORDER BY p.name',
      ),
      person: db.prepare<[string, string], PersonRow>(
        'SELECT p.id, p.name, p.metadata, p.created_at, (SELECT count(*) FROM faces f WHERE f.person_id = p.id) AS faces FROM people p WHERE p.name IN (?, ?)',
      ),
      personNames: db.prepare<[], { id: number; name: string }>('SELECT id, name FROM people'),
      personById: db.prepare<[number], PersonRow>(
        'SELECT p.id, p.name, p.metadata, p.created_at, (SELECT count(*) FROM faces f WHERE f.person_id = p.id) AS faces FROM people p WHERE p.id = ?',
      ),
      insertPerson: db.prepare<[string, string, string]>(
        'INSERT INTO people (name, metadata, created_at) VALUES (?, ?, ?)',
      ),
      setPersonMeta: db.prepare<[string, number]>('UPDATE people SET metadata = ? WHERE id = ?'),
      rename: db.prepare<[string, number]>('UPDATE people SET name = ? WHERE id = ?'),
      deletePerson: db.prepare<[number]>('DELETE FROM people WHERE id = ?'),
      facesOf: db.prepare<[number], FaceRow>(
        'SELECT f.*, p.name AS person FROM faces f JOIN people p ON p.id = f.person_id WHERE f.person_id = ? ORDER BY f.id',
      ),
      allFaces: db.prepare<[], FaceRow>(
        'SELECT f.*, p.name AS person FROM faces f JOIN people p ON p.id = f.person_id ORDER BY f.id',
      ),
      faceById: db.prepare<[number], FaceRow>(
        'SELECT f.*, p.name AS person FROM faces f JOIN people p ON p.id = f.person_id WHERE f.id = ?',
      ),
      facesByHash: db.prepare<[string], FaceRow>(
        'SELECT f.*, p.name AS person FROM faces f JOIN people p ON p.id = f.person_id WHERE f.content_hash = ?',
      ),
      insertFace: db.prepare<
        [
          number,
          string,
          Buffer,
          string | null,
          string | null,
          number | null,
          number | null,
          number | null,
          number | null,
          number | null,
          number | null,
          string,
        ]
      >(
        'INSERT INTO faces (person_id, model_id, descriptor, source_file, content_hash, box_x, box_y, box_w, box_h, score, quality, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      logFacesOf: db.prepare<[number | null, number]>(
        'INSERT INTO face_log (face_id, person_id) SELECT id, ? FROM faces WHERE person_id = ?',
      ),
      moveFaces: db.prepare<[number, number]>('UPDATE faces SET person_id = ? WHERE person_id = ?'),
      moveClusterLinks: db.prepare<[number, number]>('UPDATE cluster_faces SET person_id = ? WHERE person_id = ?'),
      deleteFacesOf: db.prepare<[number]>('DELETE FROM faces WHERE person_id = ?'),
      deleteFace: db.prepare<[number]>('DELETE FROM faces WHERE id = ?'),
      logFace: db.prepare<[number, number | null]>('INSERT INTO face_log (face_id, person_id) VALUES (?, ?)'),
      countOf: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM faces WHERE person_id = ?'),
      count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM faces'),
      descriptors: db
        .prepare<[number], [number, number, Buffer]>(
          'SELECT id, person_id, descriptor FROM faces WHERE id > ? ORDER BY id',
        )
        .raw(),
      countAbove: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM faces WHERE id > ?'),
      maxFace: db.prepare<[], { m: number | null }>('SELECT max(id) AS m FROM faces'),
      maxSeq: db.prepare<[], { m: number | null }>('SELECT max(seq) AS m FROM face_log'),
      logSince: db.prepare<[number], { seq: number; face_id: number; person_id: number | null }>(
        'SELECT seq, face_id, person_id FROM face_log WHERE seq > ? ORDER BY seq',
      ),
      insertCalibration: db.prepare(
        `INSERT INTO calibrations (model_id, far, pair_threshold, search_threshold, impostors, impostors_total, search_impostors, search_impostors_total,
           genuine, genuine_total, source, people, faces, created_at)
         VALUES (@modelId, @far, @pairThreshold, @searchThreshold, @impostors, @impostorsTotal, @searchImpostors, @searchImpostorsTotal,
           @genuine, @genuineTotal, @source, @people, @faces, @createdAt)`,
      ),
      calibrations: db.prepare<[string], CalibrationRow>(
        'SELECT * FROM calibrations WHERE model_id = ? ORDER BY id DESC',
      ),
      deleteCalibrations: db.prepare<[string, number]>('DELETE FROM calibrations WHERE model_id = ? AND far = ?'),
      insertRun: db.prepare<[string, number, string, string]>(
        'INSERT INTO cluster_runs (model_id, threshold, inputs, created_at) VALUES (?, ?, ?, ?)',
      ),
      insertClusterFace: db.prepare<[number, number, string, string, number, number, number, number, number, Buffer]>(
        'INSERT INTO cluster_faces (run_id, cluster, source_file, content_hash, box_x, box_y, box_w, box_h, score, descriptor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      run: db.prepare<
        [number],
        { id: number; model_id: string; threshold: number; inputs: string; created_at: string }
      >('SELECT * FROM cluster_runs WHERE id = ?'),
      lastRun: db.prepare<[], { id: number; model_id: string; threshold: number; inputs: string; created_at: string }>(
        'SELECT * FROM cluster_runs ORDER BY id DESC LIMIT 1',
      ),
      runFaces: db.prepare<[number], ClusterFaceRow>(
        'SELECT * FROM cluster_faces WHERE run_id = ? ORDER BY cluster, rowid',
      ),
      clusterFaces: db.prepare<[number, number], ClusterFaceRow>(
        'SELECT * FROM cluster_faces WHERE run_id = ? AND cluster = ? ORDER BY rowid',
      ),
      insertThumbnail: db.prepare<[number, Buffer]>('INSERT INTO face_thumbnails (face_id, jpeg) VALUES (?, ?)'),
      thumbnail: db.prepare<[number], { jpeg: Buffer }>('SELECT jpeg FROM face_thumbnails WHERE face_id = ?'),
      nameCluster: db.prepare<[number, number, number]>(
        'UPDATE cluster_faces SET person_id = ? WHERE run_id = ? AND cluster = ?',
      ),
      insertIndexedPhoto: db.prepare<[string, string, string, number, string], { id: number }>(
        'INSERT INTO indexed_photos (content_hash, model_id, source_file, faces, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (content_hash, model_id) DO NOTHING RETURNING id',
      ),
      indexedPhoto: db.prepare<[string, string], { id: number }>(
        'SELECT id FROM indexed_photos WHERE content_hash = ? AND model_id = ?',
      ),
      insertIndexedFace: db.prepare<[number, number, number, number, number, number, number, number | null, Buffer]>(
        'INSERT INTO indexed_faces (photo_id, face_number, box_x, box_y, box_w, box_h, score, quality, descriptor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      indexedFaces: db.prepare<[string], IndexedFaceRow>(`${INDEXED_FACE_SELECT} WHERE p.model_id = ? ORDER BY f.id`),
      photoIndexStats: db.prepare<[], PhotoIndexStats>(
        'SELECT (SELECT count(*) FROM indexed_photos) AS photos, (SELECT count(*) FROM indexed_faces) AS faces, (SELECT count(*) FROM indexed_photos WHERE faces = 0) AS photosWithoutFaces',
      ),
    };
  }

  /** Runs `fn` with SQLite errors mapped; `write` makes it one IMMEDIATE transaction. */
  private use<T>(fn: () => T, mode: 'read' | 'write' | 'none' = 'none'): Promise<T> {
    if (this.closed)
      return Promise.reject(new FaceKitError('DISPOSED', 'this gallery was closed', { file: this.location }));
    try {
      if (mode === 'none') return Promise.resolve(fn());
      const tx = this.db.transaction(fn);
      // A read transaction is one snapshot: in WAL mode, writers committing meanwhile are not seen half-way.
      return Promise.resolve(mode === 'write' ? tx.immediate() : tx.deferred());
    } catch (cause) {
      return Promise.reject(storeError(this.location, cause));
    }
  }

  private modelNow(): ModelTag | null {
    return storedModel(this.s.meta.get('model_id')?.value, this.s.meta.get('dims')?.value, this.location);
  }

  model(): Promise<ModelTag | null> {
    return this.use(() => this.modelNow());
  }

  /** Inside a write transaction: ties an untied gallery to `model`, or checks it is the one tied. */
  private tieModel(model: ModelTag): ModelTag {
    const current = this.modelNow();
    if (current !== null) {
      if (current.modelId !== model?.modelId || current.dims !== model.dims)
        throw modelMismatch(current, String(model?.modelId), Number(model?.dims), this.location);
      return current;
    }
    checkNewModel(model);
    this.s.setMeta.run('model_id', model.modelId);
    this.s.setMeta.run('dims', String(model.dims));
    return model;
  }

  revision(): Promise<number> {
    return this.use(() => this.db.pragma('data_version', { simple: true }) as number);
  }

  stats(): Promise<StoreStats> {
    return this.use(() => this.s.stats.get() as StoreStats, 'read');
  }

  people(): Promise<PersonRecord[]> {
    return this.use(() => this.s.people.all().map(rowToPerson), 'read');
  }

  person(name: string): Promise<PersonRecord | null> {
    return this.use(() => {
      const r = this.personRow(name);
      return r ? rowToPerson(r) : null;
    });
  }

  private mustPerson(name: string, field = 'person'): PersonRow {
    const r = this.personRow(name);
    if (!r)
      throw new FaceKitError('PERSON_NOT_FOUND', `no person named "${name}" in the gallery`, {
        file: this.location,
        field,
      });
    return r;
  }

  faces(person?: string): Promise<FaceRecord[]> {
    return this.use(
      () =>
        (person === undefined ? this.s.allFaces.all() : this.s.facesOf.all(this.mustPerson(person).id)).map(rowToFace),
      'read',
    );
  }

  /** One person by id, or null. */
  personById(id: number): Promise<PersonRecord | null> {
    return this.use(() => {
      const r = this.s.personById.get(id);
      return r ? rowToPerson(r) : null;
    });
  }

  /** One face by id, or null. */
  face(id: number): Promise<FaceRecord | null> {
    return this.use(() => {
      const r = this.s.faceById.get(id);
      return r ? rowToFace(r) : null;
    });
  }

  /** The JPEG thumbnail stored with a face at enrolment, or null. */
  thumbnail(faceId: number): Promise<Buffer | null> {
    return this.use(() => this.s.thumbnail.get(faceId)?.jpeg ?? null);
  }

  facesWithHashes(hashes: readonly string[]): Promise<FaceRecord[]> {
    return this.use(() => [...new Set(hashes)].flatMap((h) => this.s.facesByHash.all(h).map(rowToFace)), 'read');
  }

  private duplicateOf(face: NewFace): FaceRow | undefined {
    if (face.contentHash === undefined) return undefined;
    return sameFace(face, this.s.facesByHash.all(face.contentHash));
  }

  private checkFace(face: NewFace, model: ModelTag, where: string, holds?: string): void {
    checkFace(face, model, where, this.location, holds);
  }

  /** Inside a write transaction: one request's person and faces. */
  private enrollOne(req: EnrollRequest, model: ModelTag, at: string): EnrollOutcome {
    const name = checkName(req.name);
    const metadata = checkMetadata(req.metadata);
    let row = this.personRow(name);
    const created = !row;
    if (!row) {
      this.s.insertPerson.run(name, JSON.stringify(metadata), at);
      this.s.bumpPeople.run();
      row = this.personRow(name) as PersonRow;
    } else if (Object.keys(metadata).length > 0) {
      this.s.setPersonMeta.run(
        JSON.stringify({ ...parseStoredJson<Metadata>(row.metadata, 'person metadata'), ...metadata }),
        row.id,
      );
      this.s.bumpPeople.run();
    }
    const added: number[] = [];
    const duplicates: DuplicateFace[] = [];
    req.faces.forEach((face, index) => {
      const dup = this.duplicateOf(face);
      if (dup) {
        duplicates.push({ index, existingFaceId: dup.id, existingPerson: dup.person });
        return;
      }
      const b = face.box;
      const info = this.s.insertFace.run(
        (row as PersonRow).id,
        model.modelId,
        toBlob(face.descriptor),
        face.sourceFile ?? null,
        face.contentHash ?? null,
        b?.x ?? null,
        b?.y ?? null,
        b?.width ?? null,
        b?.height ?? null,
        face.score ?? null,
        face.quality ?? null,
        at,
      );
      added.push(Number(info.lastInsertRowid));
      if (face.thumbnail) this.s.insertThumbnail.run(Number(info.lastInsertRowid), Buffer.from(face.thumbnail));
    });
    const person = rowToPerson(this.personRow(name) as PersonRow);
    // A new person whose every face was a duplicate would be an empty shell: leave no trace of them.
    if (created && added.length === 0) {
      this.s.deletePerson.run(person.id);
      return { person: { ...person, faces: 0 }, created: false, added, duplicates };
    }
    return { person, created, added, duplicates };
  }

  enroll(requests: readonly EnrollRequest[], model: ModelTag): Promise<EnrollOutcome[]> {
    return this.use(() => {
      requests.forEach((r, i) => {
        checkName(r.name, `requests[${i}].name`);
        if (!Array.isArray(r.faces) || r.faces.length === 0)
          throw invalidArgument(`requests[${i}].faces`, `no face given for "${r.name}"`);
      });
      // In the enrolment's own transaction: should it fail, the gallery is left untied.
      const tied = this.tieModel(model);
      requests.forEach((r, i) => r.faces.forEach((f, j) => this.checkFace(f, tied, `requests[${i}].faces[${j}]`)));
      const at = now();
      return requests.map((r) => this.enrollOne(r, tied, at));
    }, 'write');
  }

  setMetadata(name: string, patch: MetadataPatch): Promise<PersonRecord> {
    return this.use(() => {
      const changes = checkMetadataPatch(patch);
      const row = this.mustPerson(name);
      this.s.setPersonMeta.run(
        JSON.stringify(applyMetadataPatch(parseStoredJson<Metadata>(row.metadata, 'person metadata'), changes)),
        row.id,
      );
      this.s.bumpPeople.run();
      return rowToPerson(this.personRow(row.name) as PersonRow);
    }, 'write');
  }

  renamePerson(name: string, newName: string): Promise<PersonRecord> {
    return this.use(() => {
      const to = checkName(newName, 'newName');
      const row = this.mustPerson(name);
      if (to === row.name) return rowToPerson(row);
      if (this.personRow(to))
        throw new FaceKitError('PERSON_EXISTS', `"${to}" is already a person in the gallery: merge instead of rename`, {
          file: this.location,
          field: 'newName',
        });
      this.s.rename.run(to, row.id);
      this.s.bumpPeople.run();
      return rowToPerson(this.personRow(to) as PersonRow);
    }, 'write');
  }

  mergePeople(from: string, into: string): Promise<PersonRecord> {
    return this.use(() => {
      const a = this.mustPerson(from, 'from');
      const b = this.mustPerson(into, 'into');
      if (a.id === b.id) throw invalidArgument('into', `cannot merge "${from}" into itself`);
      this.s.logFacesOf.run(b.id, a.id);
      this.s.moveFaces.run(b.id, a.id);
      // A cluster named `from` is now `into`'s: left alone, deleting `from` would unlink it.
      this.s.moveClusterLinks.run(b.id, a.id);
      this.s.setPersonMeta.run(
        JSON.stringify({
          ...parseStoredJson<Metadata>(a.metadata, 'person metadata'),
          ...parseStoredJson<Metadata>(b.metadata, 'person metadata'),
        }),
        b.id,
      );
      this.s.deletePerson.run(a.id);
      this.s.bumpPeople.run();
      return rowToPerson(this.personRow(b.name) as PersonRow);
    }, 'write');
  }

  removePeople(names: readonly string[]): Promise<{ person: PersonRecord; faces: number }[]> {
    return this.use(() => {
      if (!Array.isArray(names) || names.length === 0)
        throw invalidArgument('names', 'give at least one person to remove');
      // Everyone is looked up before anyone is deleted; a name given twice is one person.
      const rows = [...new Map(names.map((n) => this.mustPerson(n)).map((r) => [r.id, r] as const)).values()];
      const removed = rows.map((row) => {
        this.s.logFacesOf.run(null, row.id);
        const faces = this.s.deleteFacesOf.run(row.id).changes;
        this.s.deletePerson.run(row.id);
        return { person: rowToPerson(row), faces };
      });
      this.s.bumpPeople.run();
      return removed;
    }, 'write');
  }

  removeFaces(ids: readonly number[]): Promise<number> {
    return this.use(() => {
      const unique = [...new Set(ids)];
      const rows = unique.map((id) => {
        if (!Number.isSafeInteger(id) || id <= 0) throw invalidArgument('faceId', `not a face id: ${id}`);
        const r = this.s.faceById.get(id);
        if (!r)
          throw new FaceKitError('FACE_NOT_FOUND', `no face with id ${id} in the gallery`, {
            file: this.location,
            field: 'faceId',
          });
        return r;
      });
      for (const r of rows) {
        this.s.logFace.run(r.id, null);
        this.s.deleteFace.run(r.id);
      }
      // A person is someone the gallery can recognise; one with no face left is removed with the last face.
      for (const personId of new Set(rows.map((r) => r.person_id))) {
        if ((this.s.countOf.get(personId) as { n: number }).n === 0) {
          this.s.deletePerson.run(personId);
          this.s.bumpPeople.run();
        }
      }
      return rows.length;
    }, 'write');
  }

  private readBatch(afterId: number): DescriptorBatch {
    const n = (this.s.countAbove.get(afterId) as { n: number }).n;
    const dims = this.modelNow()?.dims ?? 0;
    const ids = new Float64Array(n);
    const persons = new Int32Array(n);
    const vectors = new Float32Array(n * dims);
    const bytes = new Uint8Array(vectors.buffer);
    let i = 0;
    for (const [id, person, blob] of this.s.descriptors.iterate(afterId)) {
      if (blob.byteLength !== dims * 4)
        throw new FaceKitError(
          'GALLERY_CORRUPT',
          `face ${id} has a ${blob.byteLength}-byte descriptor; ${dims * 4} expected`,
          { file: this.location },
        );
      ids[i] = id;
      persons[i] = person;
      bytes.set(blob, i * dims * 4);
      i++;
    }
    return { ids, persons, vectors };
  }

  private watermarkNow(floor: Watermark): Watermark {
    return {
      maxFaceId: Math.max(floor.maxFaceId, this.s.maxFace.get()?.m ?? 0),
      logSeq: Math.max(floor.logSeq, this.s.maxSeq.get()?.m ?? 0),
      peopleRev: Number(this.s.meta.get('people_rev')?.value ?? 0),
    };
  }

  snapshot(): Promise<{ batch: DescriptorBatch; watermark: Watermark }> {
    return this.use(
      () => ({ batch: this.readBatch(0), watermark: this.watermarkNow({ maxFaceId: 0, logSeq: 0, peopleRev: 0 }) }),
      'read',
    );
  }

  changesSince(w: Watermark): Promise<ChangeSet> {
    return this.use(() => {
      const watermark = this.watermarkNow(w);
      const log = this.s.logSince.all(w.logSeq).map((r) => ({ faceId: r.face_id, personId: r.person_id }));
      return { added: this.readBatch(w.maxFaceId), log, peopleChanged: watermark.peopleRev !== w.peopleRev, watermark };
    }, 'read');
  }

  removedSince(seq: number): Promise<{ ids: number[]; logSeq: number }> {
    return this.use(() => {
      const rows = this.s.logSince.all(seq);
      return {
        ids: rows.filter((r) => r.person_id === null).map((r) => r.face_id),
        logSeq: Math.max(seq, this.s.maxSeq.get()?.m ?? 0),
      };
    }, 'read');
  }

  personNames(): Promise<Map<number, string>> {
    return this.use(() => new Map(this.s.personNames.all().map((r) => [r.id, r.name])));
  }

  saveCalibrations(records: readonly CalibrationRecord[]): Promise<CalibrationRecord[]> {
    // Inserted last to first: ids order the records newest first, and the first given must be the newest.
    return this.use(
      () =>
        [...records]
          .reverse()
          .map((c) => this.insertCalibration(c))
          .reverse(),
      'write',
    );
  }

  /** Inside a write transaction: one calibration, replacing the older one of its model and rate. */
  private insertCalibration(c: CalibrationRecord): CalibrationRecord {
    checkFar(c?.far);
    checkCalibrationValues(c);
    // An older calibration at the same rate is never consulted again (the newest wins), so keeping it would only grow the file.
    this.s.deleteCalibrations.run(c.modelId, c.far);
    const info = this.s.insertCalibration.run({
      modelId: c.modelId,
      far: c.far,
      pairThreshold: c.pairThreshold,
      searchThreshold: c.searchThreshold,
      impostors: toBlob(c.impostors.sorted),
      impostorsTotal: c.impostors.total,
      searchImpostors: c.searchImpostors ? toBlob(c.searchImpostors.sorted) : null,
      searchImpostorsTotal: c.searchImpostors?.total ?? null,
      genuine: toBlob(c.genuine.sorted),
      genuineTotal: c.genuine.total,
      source: c.source,
      people: c.people,
      faces: c.faces,
      createdAt: c.createdAt,
    });
    return { ...c, id: Number(info.lastInsertRowid) };
  }

  calibrations(modelId: string): Promise<CalibrationRecord[]> {
    return this.use(
      () =>
        this.s.calibrations.all(modelId).map((r) => ({
          id: r.id,
          modelId: r.model_id,
          far: r.far,
          pairThreshold: r.pair_threshold,
          searchThreshold: r.search_threshold,
          impostors: { sorted: fromBlob(r.impostors), total: r.impostors_total },
          searchImpostors: sample(r.search_impostors, r.search_impostors_total),
          genuine: { sorted: fromBlob(r.genuine), total: r.genuine_total },
          source: r.source,
          people: r.people,
          faces: r.faces,
          createdAt: r.created_at,
        })),
      'read',
    );
  }

  /** Inside a transaction: a run's faces hold descriptors of one length, that of the gallery's model when it is the run's. */
  private checkClusterFaces(run: Omit<ClusterRun, 'id' | 'createdAt'>): void {
    checkClusterFaces(run.faces, run.modelId, this.modelNow(), this.location);
  }

  saveClusterRun(run: Omit<ClusterRun, 'id' | 'createdAt'>): Promise<ClusterRun> {
    return this.use(() => {
      this.checkClusterFaces(run);
      const createdAt = now();
      const id = Number(
        this.s.insertRun.run(run.modelId, run.threshold, JSON.stringify(run.inputs), createdAt).lastInsertRowid,
      );
      for (const f of run.faces) {
        this.s.insertClusterFace.run(...(clusterFaceValues(id, f) as Parameters<typeof this.s.insertClusterFace.run>));
      }
      return { ...run, id, createdAt, faces: run.faces.map((f) => ({ ...f, personId: null })) };
    }, 'write');
  }

  clusterRun(id?: number): Promise<ClusterRun | null> {
    return this.use(() => {
      const r = id === undefined ? this.s.lastRun.get() : this.s.run.get(id);
      if (!r) return null;
      return {
        id: r.id,
        modelId: r.model_id,
        threshold: r.threshold,
        inputs: parseStoredJson<string[]>(r.inputs, 'cluster run inputs'),
        createdAt: r.created_at,
        faces: this.s.runFaces.all(r.id).map(rowToClusterFace),
      };
    }, 'read');
  }

  nameCluster(runId: number, cluster: number, name: string): Promise<EnrollOutcome> {
    return this.use(() => {
      const run = this.s.run.get(runId);
      const faces = run ? this.s.clusterFaces.all(runId, cluster) : [];
      if (faces.length === 0)
        throw new FaceKitError('CLUSTER_NOT_FOUND', `no cluster ${cluster} in cluster run ${runId}`, {
          file: this.location,
          field: 'cluster',
        });
      const model = this.tieModel({
        modelId: (run as { model_id: string }).model_id,
        dims: faces[0].descriptor.byteLength >> 2,
      });
      const newFaces = faces.map((f) => ({ ...rowToClusterFace(f), quality: undefined }));
      newFaces.forEach((f, i) => this.checkFace(f, model, `cluster ${cluster} face ${i + 1}`));
      const outcome = this.enrollOne({ name, faces: newFaces }, model, now());
      this.s.nameCluster.run(clusterOwner(outcome, cluster, this.location), runId, cluster);
      return outcome;
    }, 'write');
  }

  indexPhotos(photos: readonly IndexPhoto[], model: ModelTag): Promise<IndexPhotoOutcome[]> {
    return this.use(() => {
      // Tied in this transaction, as enrol ties it: a failed first index leaves the gallery untied.
      // Photos without faces only: nothing to tie an empty gallery to yet (the model id still keys them).
      const anyFace = Array.isArray(photos) && photos.some((p) => Array.isArray(p?.faces) && p.faces.length > 0);
      const tied = anyFace || this.modelNow() !== null ? this.tieModel(model) : checkModelId(model);
      checkIndexPhotos(photos, tied, this.location);
      const at = now();
      return photos.map((p) => {
        const inserted = this.s.insertIndexedPhoto.get(p.contentHash, tied.modelId, p.sourceFile, p.faces.length, at);
        if (!inserted) {
          const photoId = (this.s.indexedPhoto.get(p.contentHash, tied.modelId) as { id: number }).id;
          return { contentHash: p.contentHash, photoId, added: 0, already: true };
        }
        p.faces.forEach((f, i) => this.s.insertIndexedFace.run(...indexedFaceValues(inserted.id, f, i)));
        return { contentHash: p.contentHash, photoId: inserted.id, added: p.faces.length, already: false };
      });
    }, 'write');
  }

  indexedHashes(hashes: readonly string[], modelId: string): Promise<string[]> {
    return this.use(
      () => [...new Set(hashes)].filter((h) => this.s.indexedPhoto.get(h, modelId) !== undefined),
      'read',
    );
  }

  indexedFaces(modelId: string): Promise<IndexedFace[]> {
    return this.use(() => this.s.indexedFaces.all(modelId).map(rowToIndexedFace), 'read');
  }

  photoIndexStats(): Promise<PhotoIndexStats> {
    return this.use(() => this.s.photoIndexStats.get() as PhotoIndexStats, 'read');
  }

  getState(key: string): Promise<string | null> {
    return this.use(() => this.s.meta.get(`state:${key}`)?.value ?? null);
  }

  setState(key: string, value: string | null): Promise<void> {
    return this.use(() => {
      if (value === null) this.s.delMeta.run(`state:${key}`);
      else this.s.setMeta.run(`state:${key}`, value);
    }, 'write');
  }

  /** Runs SQLite's own consistency check; 'ok' when the file is sound. */
  integrityCheck(): Promise<string> {
    return this.use(() =>
      (this.db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; '),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
