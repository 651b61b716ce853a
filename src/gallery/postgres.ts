/**
 * The gallery on PostgreSQL (`--db postgres://…`), for galleries shared by many service instances
 * and workers. Same contract as the SQLite store (see GalleryStore), with these choices:
 *
 * - A connection pool (pg.Pool); every method is one transaction on one pooled connection.
 * - Writes are serialised by a transaction-level advisory lock. Face ids and change-log positions
 *   come from sequences, which hand out numbers at insert time, not at commit: two concurrent
 *   writers could commit ids 11 then 10, and a reader that saw 11 would never read 10. One writer
 *   at a time makes ids commit in order, as SQLite's single writer does; the costly part of an
 *   enrolment (inference) happens before the transaction, so the lock is held for milliseconds.
 * - Reads that must be one snapshot (snapshot, changesSince) run REPEATABLE READ.
 * - Every write bumps `meta.rev` and sends NOTIFY facekit_changes with it (delivered at commit).
 *   With `listen: true` the store keeps one extra connection LISTENing, so `revision()` costs no
 *   query: a service instance learns of another's enrolment within the notification's latency.
 *   When that connection drops, `revision()` reads `meta.rev` on every call until it is back, so
 *   nothing is missed meanwhile; the gallery then catches up from the change log.
 */
import { createRequire } from 'node:module';
import type Pg from 'pg';
import { lazy } from '../util/lazy.js';
import { FaceKitError, invalidArgument } from '../errors.js';
import { checkFar } from '../match/calibrate.js';
import {
  checkKeyId,
  checkNewKey,
  hashKey,
  type ApiKeyRecord,
  type KeyRole,
  type KeyRow,
  type KeyStore,
  keyNotFound,
  newKey,
  shownPart,
  toRecord,
} from './keys.js';
import { isPostgresUrl, redactUrl } from './location.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from './postgres-schema.js';
import {
  checkCalibrationValues,
  checkClusterFaces,
  checkFace,
  checkNewModel,
  type ClusterFaceRow,
  clusterFaceValues,
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
import type {
  CalibrationRecord,
  ChangeSet,
  ClusterRun,
  DescriptorBatch,
  DuplicateFace,
  EnrollOutcome,
  EnrollRequest,
  FaceRecord,
  IndexedFace,
  IndexPhoto,
  IndexPhotoOutcome,
  Metadata,
  MetadataPatch,
  ModelTag,
  PersonRecord,
  PhotoIndexStats,
  ServiceStore,
  StoreStats,
  Watermark,
} from './store.js';
import { parseStoredJson } from './stored-json.js';
import {
  checkIndexPhotos,
  checkModelId,
  INDEXED_FACE_SELECT,
  type IndexedFaceRow,
  indexedFaceValues,
  rowToIndexedFace,
} from './photo-index.js';
import { applyMetadataPatch, checkMetadata, checkMetadataPatch, checkName } from './validate.js';

const require = createRequire(import.meta.url);
/** pg on first use: opening a SQLite gallery, or any CLI command's start-up, never loads it. */
const pgLib = lazy(() => require('pg') as typeof Pg);

/** The channel every write notifies; its payload is the new `meta.rev`. */
export const CHANGES_CHANNEL = 'facekit_changes';
/** The PostgreSQL schema (namespace) holding every facekit table. */
export const PG_NAMESPACE = 'facekit';
/** Advisory lock keys (any two numbers facekit owns): one for writes, one for migrations. */
const WRITE_LOCK = 0x464b4761;
const MIGRATE_LOCK = 0x464b4d67;
/** Longest wait between attempts to re-open the LISTEN connection. */
const MAX_RECONNECT_MS = 5_000;

export { isPostgresUrl, redactUrl };

export interface PostgresStoreOptions {
  /** Keep a LISTEN connection so revision() is free and changes are seen as they commit (services). */
  readonly listen?: boolean;
  /** Pooled connections at most (default 10). */
  readonly poolSize?: number;
  /** Called after each change notification and after the LISTEN connection is re-opened. */
  readonly onChange?: () => void;
  /** Notes about the LISTEN connection (lost, back). */
  readonly onNote?: (message: string) => void;
}

type Client = Pg.PoolClient;

/** pg's errors as facekit's: the server and a stable code. */
export function pgError(location: string, cause: unknown): FaceKitError {
  if (cause instanceof FaceKitError) return cause;
  const code = String((cause as { code?: unknown } | undefined)?.code ?? '');
  const message = cause instanceof Error ? cause.message : String(cause);
  if (['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', '57P01', '57P03'].includes(code))
    return new FaceKitError('GALLERY_BUSY', `cannot reach the PostgreSQL server (${message}); try again`, {
      file: location,
      cause,
    });
  if (code === '40001' || code === '40P01' || code === '55P03')
    return new FaceKitError('GALLERY_BUSY', `transaction conflict (${message}); try again`, { file: location, cause });
  if (code === '3D000')
    return new FaceKitError('FILE_NOT_FOUND', `no such database (${message}): create it first (createdb)`, {
      file: location,
      field: 'db',
      cause,
    });
  if (code === '28P01' || code === '28000' || code.startsWith('42501'))
    return new FaceKitError('FILE_UNREADABLE', `the server refused access (${message})`, { file: location, cause });
  if (code === '25006')
    return new FaceKitError('FILE_UNWRITABLE', `the gallery is read-only here (${message})`, { file: location, cause });
  if (code === '42P01' || code === '42703')
    return new FaceKitError('GALLERY_CORRUPT', `is damaged: ${message}`, { file: location, cause });
  return new FaceKitError('INTERNAL', `gallery: ${message}`, { file: location, cause });
}

const now = (): string => new Date().toISOString();
/** BIGINT (oid 20) as a number: ids and counts stay far below 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pgLib().types.getTypeParser(oid, format)) as typeof Pg.types.getTypeParser,
};

const PERSON_COLUMNS =
  'p.id, p.name, p.metadata, p.created_at, (SELECT count(*) FROM faces f WHERE f.person_id = p.id) AS faces';
const FACE_SELECT = 'SELECT f.*, p.name AS person FROM faces f JOIN people p ON p.id = f.person_id';

type Mode = 'read' | 'snapshot' | 'write';

/**
 * Opens a gallery on a PostgreSQL server: connects, applies pending migrations and checks the
 * schema version. The database must exist; the `facekit` schema in it is made when missing.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  if (!isPostgresUrl(url)) throw invalidArgument('db', `not a postgres:// URL: ${JSON.stringify(url)}`);
  const location = redactUrl(url);
  const poolSize = options.poolSize ?? 10;
  if (!Number.isInteger(poolSize) || poolSize < 1)
    throw invalidArgument('poolSize', `must be a positive integer, got ${poolSize}`);
  const pool = new (pgLib().Pool)({
    connectionString: url,
    max: poolSize,
    types: TYPES,
    options: `-c search_path=${PG_NAMESPACE}`,
    connectionTimeoutMillis: 10_000,
  });
  // An idle pooled connection the server drops must not crash the process: the next query reconnects.
  pool.on('error', () => undefined);
  const store = new PostgresStore(pool, url, location, options);
  try {
    await store.migrate();
    if (options.listen) await store.startListening();
    return store;
  } catch (e) {
    await store.close();
    throw pgError(location, e);
  }
}

export class PostgresStore implements ServiceStore {
  readonly keys: KeyStore;
  readonly shared = true;
  private closed = false;
  private listener: Pg.Client | null = null;
  /** The newest `meta.rev` heard of, while the LISTEN connection is up; null when it is not. */
  private heardRev: number | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelay = 100;

  constructor(
    private readonly pool: Pg.Pool,
    private readonly url: string,
    readonly location: string,
    private readonly options: PostgresStoreOptions,
  ) {
    this.keys = new PgKeys((fn, mode) => this.tx(fn, mode), location);
  }

  /** Applies pending migrations, one transaction each, under an advisory lock. */
  async migrate(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${PG_NAMESPACE}`);
      await c.query(
        'CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
      );
      const { rows } = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM migrations');
      const version = rows[0].v ?? 0;
      if (version > PG_SCHEMA_VERSION)
        throw new FaceKitError(
          'GALLERY_VERSION',
          `was written by a newer facekit (schema ${version}; this one knows up to ${PG_SCHEMA_VERSION}): upgrade facekit`,
          { file: this.location, field: 'db' },
        );
      for (const m of PG_MIGRATIONS) {
        if (m.version <= version) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      }
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw pgError(this.location, e);
    } finally {
      c.release();
    }
  }

  /** The schema version the database is at. */
  async schemaVersion(): Promise<number> {
    return this.tx(async (c) => (await c.query<{ v: number }>('SELECT max(version) AS v FROM migrations')).rows[0].v);
  }

  /** Opens the LISTEN connection; on loss, retries with a growing delay until closed. */
  async startListening(): Promise<void> {
    const client = new (pgLib().Client)({
      connectionString: this.url,
      types: TYPES,
      options: `-c search_path=${PG_NAMESPACE}`,
    });
    client.on('notification', (msg) => {
      if (msg.channel !== CHANGES_CHANNEL) return;
      const rev = Number(msg.payload);
      if (this.heardRev !== null && Number.isFinite(rev)) this.heardRev = Math.max(this.heardRev, rev);
      this.options.onChange?.();
    });
    const lost = (why: string) => {
      if (this.listener !== client) return;
      this.listener = null;
      this.heardRev = null;
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.options.onNote?.(`lost the change notifications from ${this.location} (${why}); reconnecting`);
      this.scheduleReconnect();
    };
    client.on('error', (e) => lost(e.message));
    client.on('end', () => lost('connection closed'));
    await client.connect();
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    // LISTEN first, then read: a change committed in between is both read here and notified.
    const { rows } = await client.query<{ value: string }>("SELECT value FROM meta WHERE key = 'rev'");
    if (this.closed) {
      await client.end();
      return;
    }
    this.listener = client;
    this.heardRev = Number(rows[0]?.value ?? 0);
    this.reconnectDelay = 100;
    this.options.onChange?.();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.closed) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.startListening().then(
        () => this.options.onNote?.(`change notifications from ${this.location} are back`),
        () => {
          this.reconnectDelay = Math.min(MAX_RECONNECT_MS, this.reconnectDelay * 2);
          this.scheduleReconnect();
        },
      );
    }, this.reconnectDelay);
    this.reconnectTimer.unref();
  }

  /** Whether change notifications are being received now. */
  get listening(): boolean {
    return this.listener !== null;
  }

  /**
   * Runs `fn` in one transaction on one pooled connection. 'write' takes the write lock and
   * notifies listeners at commit; 'snapshot' reads one consistent state of the database.
   */
  private async tx<T>(fn: (c: Client) => Promise<T>, mode: Mode = 'read', notify = true): Promise<T> {
    if (this.closed) throw new FaceKitError('DISPOSED', 'this gallery was closed', { file: this.location });
    let c: Client;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw pgError(this.location, e);
    }
    try {
      await c.query(mode === 'snapshot' ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
      if (mode === 'write') await c.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
      const result = await fn(c);
      if (mode === 'write' && notify) {
        const { rows } = await c.query<{ value: string }>(
          "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'rev' RETURNING value",
        );
        await c.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, rows[0].value]);
      }
      await c.query('COMMIT');
      return result;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw pgError(this.location, e);
    } finally {
      c.release();
    }
  }

  private async meta(c: Client, key: string): Promise<string | undefined> {
    return (await c.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value;
  }

  private async setMeta(c: Client, key: string, value: string): Promise<void> {
    await c.query(
      'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      [key, value],
    );
  }

  private async bumpPeople(c: Client): Promise<void> {
    await c.query("UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'people_rev'");
  }

  private async modelNow(c: Client): Promise<ModelTag | null> {
    return storedModel(await this.meta(c, 'model_id'), await this.meta(c, 'dims'), this.location);
  }

  model(): Promise<ModelTag | null> {
    return this.tx((c) => this.modelNow(c));
  }

  async revision(): Promise<number> {
    if (this.heardRev !== null) return this.heardRev;
    return this.tx(async (c) => Number((await this.meta(c, 'rev')) ?? 0));
  }

  stats(): Promise<StoreStats> {
    return this.tx(
      async (c) =>
        (
          await c.query<StoreStats>(
            'SELECT (SELECT count(*) FROM people) AS people, (SELECT count(*) FROM faces) AS faces',
          )
        ).rows[0],
      'snapshot',
    );
  }

  people(): Promise<PersonRecord[]> {
    return this.tx(
      async (c) =>
        (await c.query<PersonRow>(`SELECT ${PERSON_COLUMNS} FROM people p ORDER BY p.name COLLATE "C"`)).rows.map(
          rowToPerson,
        ),
      'snapshot',
    );
  }

  /** A person's row by name, in NFC or NFD (see SqliteStore.personRow). */
  private async personRow(c: Client, name: string): Promise<PersonRow | undefined> {
    const { rows } = await c.query<PersonRow>(`SELECT ${PERSON_COLUMNS} FROM people p WHERE p.name IN ($1, $2)`, [
      name.normalize('NFC'),
      name.normalize('NFD'),
    ]);
    return rows[0];
  }

  private async mustPerson(c: Client, name: string, field = 'person'): Promise<PersonRow> {
    const r = await this.personRow(c, name);
    if (!r)
      throw new FaceKitError('PERSON_NOT_FOUND', `no person named "${name}" in the gallery`, {
        file: this.location,
        field,
      });
    return r;
  }

  person(name: string): Promise<PersonRecord | null> {
    return this.tx(async (c) => {
      const r = await this.personRow(c, name);
      return r ? rowToPerson(r) : null;
    });
  }

  personById(id: number): Promise<PersonRecord | null> {
    return this.tx(async (c) => {
      const r = (await c.query<PersonRow>(`SELECT ${PERSON_COLUMNS} FROM people p WHERE p.id = $1`, [id])).rows[0];
      return r ? rowToPerson(r) : null;
    });
  }

  faces(person?: string): Promise<FaceRecord[]> {
    return this.tx(async (c) => {
      const rows =
        person === undefined
          ? (await c.query<FaceRow>(`${FACE_SELECT} ORDER BY f.id`)).rows
          : (
              await c.query<FaceRow>(`${FACE_SELECT} WHERE f.person_id = $1 ORDER BY f.id`, [
                (await this.mustPerson(c, person)).id,
              ])
            ).rows;
      return rows.map(rowToFace);
    }, 'snapshot');
  }

  face(id: number): Promise<FaceRecord | null> {
    return this.tx(async (c) => {
      const r = (await c.query<FaceRow>(`${FACE_SELECT} WHERE f.id = $1`, [id])).rows[0];
      return r ? rowToFace(r) : null;
    });
  }

  thumbnail(faceId: number): Promise<Buffer | null> {
    return this.tx(
      async (c) =>
        (await c.query<{ jpeg: Buffer }>('SELECT jpeg FROM face_thumbnails WHERE face_id = $1', [faceId])).rows[0]
          ?.jpeg ?? null,
    );
  }

  private async facesByHash(c: Client, hashes: readonly string[]): Promise<FaceRow[]> {
    return (await c.query<FaceRow>(`${FACE_SELECT} WHERE f.content_hash = ANY($1) ORDER BY f.id`, [hashes])).rows;
  }

  facesWithHashes(hashes: readonly string[]): Promise<FaceRecord[]> {
    return this.tx(async (c) => (await this.facesByHash(c, [...new Set(hashes)])).map(rowToFace), 'snapshot');
  }

  /** Inside a write transaction: ties an untied gallery to `model`, or checks it is the one tied. */
  private async tieModel(c: Client, model: ModelTag): Promise<ModelTag> {
    const current = await this.modelNow(c);
    if (current !== null) {
      if (current.modelId !== model?.modelId || current.dims !== model.dims)
        throw modelMismatch(current, String(model?.modelId), Number(model?.dims), this.location);
      return current;
    }
    checkNewModel(model);
    await this.setMeta(c, 'model_id', model.modelId);
    await this.setMeta(c, 'dims', String(model.dims));
    return model;
  }

  /** Inside a write transaction: one request's person and faces. */
  private async enrollOne(c: Client, req: EnrollRequest, model: ModelTag, at: string): Promise<EnrollOutcome> {
    const name = checkName(req.name);
    const metadata = checkMetadata(req.metadata);
    let row = await this.personRow(c, name);
    const created = !row;
    if (!row) {
      await c.query('INSERT INTO people (name, metadata, created_at) VALUES ($1, $2, $3)', [
        name,
        JSON.stringify(metadata),
        at,
      ]);
      await this.bumpPeople(c);
      row = (await this.personRow(c, name)) as PersonRow;
    } else if (Object.keys(metadata).length > 0) {
      await c.query('UPDATE people SET metadata = $1 WHERE id = $2', [
        JSON.stringify({ ...parseStoredJson<Metadata>(row.metadata, 'person metadata'), ...metadata }),
        row.id,
      ]);
      await this.bumpPeople(c);
    }
    const personId = row.id;
    const added: number[] = [];
    const duplicates: DuplicateFace[] = [];
    for (const [index, face] of req.faces.entries()) {
      const dup =
        face.contentHash === undefined ? undefined : sameFace(face, await this.facesByHash(c, [face.contentHash]));
      if (dup) {
        duplicates.push({ index, existingFaceId: dup.id, existingPerson: dup.person });
        continue;
      }
      const b = face.box;
      const { rows } = await c.query<{ id: number }>(
        'INSERT INTO faces (person_id, model_id, descriptor, source_file, content_hash, box_x, box_y, box_w, box_h, score, quality, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id',
        [
          personId,
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
        ],
      );
      added.push(rows[0].id);
      if (face.thumbnail)
        await c.query('INSERT INTO face_thumbnails (face_id, jpeg) VALUES ($1, $2)', [
          rows[0].id,
          Buffer.from(face.thumbnail),
        ]);
    }
    const person = rowToPerson((await this.personRow(c, name)) as PersonRow);
    // A new person whose every face was a duplicate would be an empty shell: leave no trace of them.
    if (created && added.length === 0) {
      await c.query('DELETE FROM people WHERE id = $1', [person.id]);
      return { person: { ...person, faces: 0 }, created: false, added, duplicates };
    }
    return { person, created, added, duplicates };
  }

  enroll(requests: readonly EnrollRequest[], model: ModelTag): Promise<EnrollOutcome[]> {
    return this.tx(async (c) => {
      requests.forEach((r, i) => {
        checkName(r.name, `requests[${i}].name`);
        if (!Array.isArray(r.faces) || r.faces.length === 0)
          throw invalidArgument(`requests[${i}].faces`, `no face given for "${r.name}"`);
      });
      const tied = await this.tieModel(c, model);
      requests.forEach((r, i) =>
        r.faces.forEach((f, j) => checkFace(f, tied, `requests[${i}].faces[${j}]`, this.location)),
      );
      const at = now();
      const out: EnrollOutcome[] = [];
      for (const r of requests) out.push(await this.enrollOne(c, r, tied, at));
      return out;
    }, 'write');
  }

  setMetadata(name: string, patch: MetadataPatch): Promise<PersonRecord> {
    return this.tx(async (c) => {
      const changes = checkMetadataPatch(patch);
      const row = await this.mustPerson(c, name);
      await c.query('UPDATE people SET metadata = $1 WHERE id = $2', [
        JSON.stringify(applyMetadataPatch(parseStoredJson<Metadata>(row.metadata, 'person metadata'), changes)),
        row.id,
      ]);
      await this.bumpPeople(c);
      return rowToPerson((await this.personRow(c, row.name)) as PersonRow);
    }, 'write');
  }

  renamePerson(name: string, newName: string): Promise<PersonRecord> {
    return this.tx(async (c) => {
      const to = checkName(newName, 'newName');
      const row = await this.mustPerson(c, name);
      if (to === row.name) return rowToPerson(row);
      if (await this.personRow(c, to))
        throw new FaceKitError('PERSON_EXISTS', `"${to}" is already a person in the gallery: merge instead of rename`, {
          file: this.location,
          field: 'newName',
        });
      await c.query('UPDATE people SET name = $1 WHERE id = $2', [to, row.id]);
      await this.bumpPeople(c);
      return rowToPerson((await this.personRow(c, to)) as PersonRow);
    }, 'write');
  }

  mergePeople(from: string, into: string): Promise<PersonRecord> {
    return this.tx(async (c) => {
      const a = await this.mustPerson(c, from, 'from');
      const b = await this.mustPerson(c, into, 'into');
      if (a.id === b.id) throw invalidArgument('into', `cannot merge "${from}" into itself`);
      await c.query(
        'INSERT INTO face_log (face_id, person_id) SELECT id, $1 FROM faces WHERE person_id = $2 ORDER BY id',
        [b.id, a.id],
      );
      await c.query('UPDATE faces SET person_id = $1 WHERE person_id = $2', [b.id, a.id]);
      // A cluster named `from` is now `into`'s: left alone, deleting `from` would unlink it.
      await c.query('UPDATE cluster_faces SET person_id = $1 WHERE person_id = $2', [b.id, a.id]);
      await c.query('UPDATE people SET metadata = $1 WHERE id = $2', [
        JSON.stringify({
          ...parseStoredJson<Metadata>(a.metadata, 'person metadata'),
          ...parseStoredJson<Metadata>(b.metadata, 'person metadata'),
        }),
        b.id,
      ]);
      await c.query('DELETE FROM people WHERE id = $1', [a.id]);
      await this.bumpPeople(c);
      return rowToPerson((await this.personRow(c, b.name)) as PersonRow);
    }, 'write');
  }

  /** Inside a write transaction: logs and deletes one person's faces, then the person. */
  private async deletePerson(c: Client, id: number): Promise<number> {
    await c.query(
      'INSERT INTO face_log (face_id, person_id) SELECT id, NULL FROM faces WHERE person_id = $1 ORDER BY id',
      [id],
    );
    const faces = (await c.query('DELETE FROM faces WHERE person_id = $1', [id])).rowCount ?? 0;
    await c.query('DELETE FROM people WHERE id = $1', [id]);
    return faces;
  }

  removePeople(names: readonly string[]): Promise<{ person: PersonRecord; faces: number }[]> {
    return this.tx(async (c) => {
      if (!Array.isArray(names) || names.length === 0)
        throw invalidArgument('names', 'give at least one person to remove');
      const found: PersonRow[] = [];
      for (const n of names) found.push(await this.mustPerson(c, n));
      const rows = [...new Map(found.map((r) => [r.id, r] as const)).values()];
      const removed: { person: PersonRecord; faces: number }[] = [];
      for (const row of rows) removed.push({ person: rowToPerson(row), faces: await this.deletePerson(c, row.id) });
      await this.bumpPeople(c);
      return removed;
    }, 'write');
  }

  removeFaces(ids: readonly number[]): Promise<number> {
    return this.tx(async (c) => {
      const unique = [...new Set(ids)];
      const rows: FaceRow[] = [];
      for (const id of unique) {
        if (!Number.isSafeInteger(id) || id <= 0) throw invalidArgument('faceId', `not a face id: ${id}`);
        const r = (await c.query<FaceRow>(`${FACE_SELECT} WHERE f.id = $1`, [id])).rows[0];
        if (!r)
          throw new FaceKitError('FACE_NOT_FOUND', `no face with id ${id} in the gallery`, {
            file: this.location,
            field: 'faceId',
          });
        rows.push(r);
      }
      for (const r of rows) {
        await c.query('INSERT INTO face_log (face_id, person_id) VALUES ($1, NULL)', [r.id]);
        await c.query('DELETE FROM faces WHERE id = $1', [r.id]);
      }
      for (const personId of new Set(rows.map((r) => r.person_id))) {
        const { rows: n } = await c.query<{ n: number }>('SELECT count(*) AS n FROM faces WHERE person_id = $1', [
          personId,
        ]);
        if (n[0].n === 0) {
          await c.query('DELETE FROM people WHERE id = $1', [personId]);
          await this.bumpPeople(c);
        }
      }
      return rows.length;
    }, 'write');
  }

  private async readBatch(c: Client, afterId: number): Promise<DescriptorBatch> {
    const dims = (await this.modelNow(c))?.dims ?? 0;
    const { rows } = await c.query<{ id: number; person_id: number; descriptor: Buffer }>(
      'SELECT id, person_id, descriptor FROM faces WHERE id > $1 ORDER BY id',
      [afterId],
    );
    const n = rows.length;
    const ids = new Float64Array(n);
    const persons = new Int32Array(n);
    const vectors = new Float32Array(n * dims);
    const bytes = new Uint8Array(vectors.buffer);
    rows.forEach((r, i) => {
      if (r.descriptor.byteLength !== dims * 4)
        throw new FaceKitError(
          'GALLERY_CORRUPT',
          `face ${r.id} has a ${r.descriptor.byteLength}-byte descriptor; ${dims * 4} expected`,
          { file: this.location },
        );
      ids[i] = r.id;
      persons[i] = r.person_id;
      bytes.set(r.descriptor, i * dims * 4);
    });
    return { ids, persons, vectors };
  }

  private async watermarkNow(c: Client, floor: Watermark): Promise<Watermark> {
    const { rows } = await c.query<{ f: number | null; s: number | null }>(
      'SELECT (SELECT max(id) FROM faces) AS f, (SELECT max(seq) FROM face_log) AS s',
    );
    return {
      maxFaceId: Math.max(floor.maxFaceId, rows[0].f ?? 0),
      logSeq: Math.max(floor.logSeq, rows[0].s ?? 0),
      peopleRev: Number((await this.meta(c, 'people_rev')) ?? 0),
    };
  }

  snapshot(): Promise<{ batch: DescriptorBatch; watermark: Watermark }> {
    return this.tx(
      async (c) => ({
        batch: await this.readBatch(c, 0),
        watermark: await this.watermarkNow(c, { maxFaceId: 0, logSeq: 0, peopleRev: 0 }),
      }),
      'snapshot',
    );
  }

  private async logSince(c: Client, seq: number) {
    return (
      await c.query<{ seq: number; face_id: number; person_id: number | null }>(
        'SELECT seq, face_id, person_id FROM face_log WHERE seq > $1 ORDER BY seq',
        [seq],
      )
    ).rows;
  }

  changesSince(w: Watermark): Promise<ChangeSet> {
    return this.tx(async (c) => {
      const watermark = await this.watermarkNow(c, w);
      const log = (await this.logSince(c, w.logSeq)).map((r) => ({ faceId: r.face_id, personId: r.person_id }));
      return {
        added: await this.readBatch(c, w.maxFaceId),
        log,
        peopleChanged: watermark.peopleRev !== w.peopleRev,
        watermark,
      };
    }, 'snapshot');
  }

  removedSince(seq: number): Promise<{ ids: number[]; logSeq: number }> {
    return this.tx(async (c) => {
      const rows = await this.logSince(c, seq);
      return {
        ids: rows.filter((r) => r.person_id === null).map((r) => r.face_id),
        logSeq: Math.max(seq, ...rows.map((r) => r.seq)),
      };
    }, 'snapshot');
  }

  personNames(): Promise<Map<number, string>> {
    return this.tx(
      async (c) =>
        new Map(
          (await c.query<{ id: number; name: string }>('SELECT id, name FROM people')).rows.map((r) => [r.id, r.name]),
        ),
    );
  }

  saveCalibrations(records: readonly CalibrationRecord[]): Promise<CalibrationRecord[]> {
    return this.tx(async (c) => {
      const out: CalibrationRecord[] = [];
      // Inserted last to first: ids order the records newest first, and the first given must be the newest.
      for (const r of [...records].reverse()) out.push(await this.insertCalibration(c, r));
      return out.reverse();
    }, 'write');
  }

  private async insertCalibration(c: Client, r: CalibrationRecord): Promise<CalibrationRecord> {
    checkFar(r?.far);
    checkCalibrationValues(r);
    // An older calibration at the same rate is never consulted again (the newest wins).
    await c.query('DELETE FROM calibrations WHERE model_id = $1 AND far = $2', [r.modelId, r.far]);
    const { rows } = await c.query<{ id: number }>(
      `INSERT INTO calibrations (model_id, far, pair_threshold, search_threshold, impostors, impostors_total,
         search_impostors, search_impostors_total, genuine, genuine_total, source, people, faces, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
      [
        r.modelId,
        r.far,
        r.pairThreshold,
        r.searchThreshold,
        toBlob(r.impostors.sorted),
        r.impostors.total,
        r.searchImpostors ? toBlob(r.searchImpostors.sorted) : null,
        r.searchImpostors?.total ?? null,
        toBlob(r.genuine.sorted),
        r.genuine.total,
        r.source,
        r.people,
        r.faces,
        r.createdAt,
      ],
    );
    return { ...r, id: rows[0].id };
  }

  calibrations(modelId: string): Promise<CalibrationRecord[]> {
    return this.tx(async (c) => {
      const { rows } = await c.query('SELECT * FROM calibrations WHERE model_id = $1 ORDER BY id DESC', [modelId]);
      return rows.map((r) => ({
        id: r.id,
        modelId: r.model_id,
        far: r.far,
        pairThreshold: r.pair_threshold,
        searchThreshold: r.search_threshold,
        impostors: { sorted: fromBlob(r.impostors), total: r.impostors_total },
        searchImpostors:
          r.search_impostors === null
            ? null
            : { sorted: fromBlob(r.search_impostors), total: r.search_impostors_total },
        genuine: { sorted: fromBlob(r.genuine), total: r.genuine_total },
        source: r.source,
        people: r.people,
        faces: r.faces,
        createdAt: r.created_at,
      }));
    }, 'snapshot');
  }

  saveClusterRun(run: Omit<ClusterRun, 'id' | 'createdAt'>): Promise<ClusterRun> {
    return this.tx(async (c) => {
      checkClusterFaces(run.faces, run.modelId, await this.modelNow(c), this.location);
      const createdAt = now();
      const { rows } = await c.query<{ id: number }>(
        'INSERT INTO cluster_runs (model_id, threshold, inputs, created_at) VALUES ($1, $2, $3, $4) RETURNING id',
        [run.modelId, run.threshold, JSON.stringify(run.inputs), createdAt],
      );
      const id = rows[0].id;
      for (const f of run.faces) {
        await c.query(
          'INSERT INTO cluster_faces (run_id, cluster, source_file, content_hash, box_x, box_y, box_w, box_h, score, descriptor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
          clusterFaceValues(id, f),
        );
      }
      return { ...run, id, createdAt, faces: run.faces.map((f) => ({ ...f, personId: null })) };
    }, 'write');
  }

  clusterRun(id?: number): Promise<ClusterRun | null> {
    return this.tx(async (c) => {
      const { rows } =
        id === undefined
          ? await c.query('SELECT * FROM cluster_runs ORDER BY id DESC LIMIT 1')
          : await c.query('SELECT * FROM cluster_runs WHERE id = $1', [id]);
      const r = rows[0];
      if (!r) return null;
      const faces = await c.query<ClusterFaceRow>(
        'SELECT * FROM cluster_faces WHERE run_id = $1 ORDER BY cluster, id',
        [r.id],
      );
      return {
        id: r.id,
        modelId: r.model_id,
        threshold: r.threshold,
        inputs: parseStoredJson<string[]>(r.inputs, 'cluster run inputs'),
        createdAt: r.created_at,
        faces: faces.rows.map(rowToClusterFace),
      };
    }, 'snapshot');
  }

  nameCluster(runId: number, cluster: number, name: string): Promise<EnrollOutcome> {
    return this.tx(async (c) => {
      const run = (await c.query<{ model_id: string }>('SELECT model_id FROM cluster_runs WHERE id = $1', [runId]))
        .rows[0];
      const faces = run
        ? (
            await c.query<ClusterFaceRow>(
              'SELECT * FROM cluster_faces WHERE run_id = $1 AND cluster = $2 ORDER BY id',
              [runId, cluster],
            )
          ).rows
        : [];
      if (!run || faces.length === 0)
        throw new FaceKitError('CLUSTER_NOT_FOUND', `no cluster ${cluster} in cluster run ${runId}`, {
          file: this.location,
          field: 'cluster',
        });
      const model = await this.tieModel(c, { modelId: run.model_id, dims: faces[0].descriptor.byteLength >> 2 });
      const newFaces = faces.map((f) => ({ ...rowToClusterFace(f), quality: undefined }));
      newFaces.forEach((f, i) => checkFace(f, model, `cluster ${cluster} face ${i + 1}`, this.location));
      const outcome = await this.enrollOne(c, { name, faces: newFaces }, model, now());
      await c.query('UPDATE cluster_faces SET person_id = $1 WHERE run_id = $2 AND cluster = $3', [
        clusterOwner(outcome, cluster, this.location),
        runId,
        cluster,
      ]);
      return outcome;
    }, 'write');
  }

  indexPhotos(photos: readonly IndexPhoto[], model: ModelTag): Promise<IndexPhotoOutcome[]> {
    return this.tx(async (c) => {
      // Tied in this transaction, as enrol ties it: a failed first index leaves the gallery untied.
      // Photos without faces only: nothing to tie an empty gallery to yet (the model id still keys them).
      const anyFace = Array.isArray(photos) && photos.some((p) => Array.isArray(p?.faces) && p.faces.length > 0);
      const tied = anyFace || (await this.modelNow(c)) !== null ? await this.tieModel(c, model) : checkModelId(model);
      checkIndexPhotos(photos, tied, this.location);
      const at = now();
      const out: IndexPhotoOutcome[] = [];
      for (const p of photos) {
        // The unique key, not only the write lock, keeps a photo indexed once: two workers racing on it store one.
        const inserted = (
          await c.query<{ id: number }>(
            'INSERT INTO indexed_photos (content_hash, model_id, source_file, faces, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (content_hash, model_id) DO NOTHING RETURNING id',
            [p.contentHash, tied.modelId, p.sourceFile, p.faces.length, at],
          )
        ).rows[0];
        if (!inserted) {
          const { rows } = await c.query<{ id: number }>(
            'SELECT id FROM indexed_photos WHERE content_hash = $1 AND model_id = $2',
            [p.contentHash, tied.modelId],
          );
          out.push({ contentHash: p.contentHash, photoId: rows[0].id, added: 0, already: true });
          continue;
        }
        for (const [i, f] of p.faces.entries())
          await c.query(
            'INSERT INTO indexed_faces (photo_id, face_number, box_x, box_y, box_w, box_h, score, quality, descriptor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
            indexedFaceValues(inserted.id, f, i),
          );
        out.push({ contentHash: p.contentHash, photoId: inserted.id, added: p.faces.length, already: false });
      }
      return out;
    }, 'write');
  }

  indexedHashes(hashes: readonly string[], modelId: string): Promise<string[]> {
    return this.tx(
      async (c) =>
        (
          await c.query<{ content_hash: string }>(
            'SELECT content_hash FROM indexed_photos WHERE content_hash = ANY($1) AND model_id = $2',
            [[...new Set(hashes)], modelId],
          )
        ).rows.map((r) => r.content_hash),
      'snapshot',
    );
  }

  indexedFaces(modelId: string): Promise<IndexedFace[]> {
    return this.tx(
      async (c) =>
        (
          await c.query<IndexedFaceRow>(`${INDEXED_FACE_SELECT} WHERE p.model_id = $1 ORDER BY f.id`, [modelId])
        ).rows.map(rowToIndexedFace),
      'snapshot',
    );
  }

  photoIndexStats(): Promise<PhotoIndexStats> {
    return this.tx(
      async (c) =>
        (
          await c.query<PhotoIndexStats>(
            'SELECT (SELECT count(*) FROM indexed_photos)::int AS photos, (SELECT count(*) FROM indexed_faces)::int AS faces, (SELECT count(*) FROM indexed_photos WHERE faces = 0)::int AS "photosWithoutFaces"',
          )
        ).rows[0],
      'snapshot',
    );
  }

  getState(key: string): Promise<string | null> {
    return this.tx(async (c) => (await this.meta(c, `state:${key}`)) ?? null);
  }

  /** Not a gallery change: written without notifying the other instances. */
  setState(key: string, value: string | null): Promise<void> {
    return this.tx(
      async (c) => {
        if (value === null) await c.query('DELETE FROM meta WHERE key = $1', [`state:${key}`]);
        else await this.setMeta(c, `state:${key}`, value);
      },
      'read',
      false,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const listener = this.listener;
    this.listener = null;
    this.heardRev = null;
    await listener?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}

type Runner = <T>(fn: (c: Client) => Promise<T>, mode: Mode) => Promise<T>;

/** The key table of a PostgreSQL gallery. */
export class PgKeys implements KeyStore {
  constructor(
    private readonly run: Runner,
    private readonly location: string,
  ) {}

  create(role: KeyRole, name = ''): Promise<{ readonly key: string; readonly record: ApiKeyRecord }> {
    const checked = checkNewKey(role, name);
    const key = newKey();
    return this.run(async (c) => {
      const { rows } = await c.query<KeyRow>(
        'INSERT INTO api_keys (name, role, hash, shown, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [checked.name, checked.role, hashKey(key), shownPart(key), now()],
      );
      return { key, record: toRecord(rows[0]) };
    }, 'write');
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.run(
      async (c) => (await c.query<KeyRow>('SELECT * FROM api_keys ORDER BY id')).rows.map(toRecord),
      'read',
    );
  }

  find(hash: string): Promise<ApiKeyRecord | null> {
    return this.run(async (c) => {
      const r = (await c.query<KeyRow>('SELECT * FROM api_keys WHERE hash = $1 AND revoked_at IS NULL', [hash]))
        .rows[0];
      return r ? toRecord(r) : null;
    }, 'read');
  }

  revoke(id: number): Promise<ApiKeyRecord> {
    return this.run(async (c) => {
      checkKeyId(id);
      const { rows } = await c.query<KeyRow>('SELECT * FROM api_keys WHERE id = $1', [id]);
      if (!rows[0]) throw keyNotFound(id, this.location);
      await c.query('UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [now(), id]);
      return toRecord((await c.query<KeyRow>('SELECT * FROM api_keys WHERE id = $1', [id])).rows[0]);
    }, 'write');
  }
}
