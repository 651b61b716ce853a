/**
 * API keys of the HTTP service, kept in the gallery file they give access to (schema 2): only a
 * SHA-256 of each key is stored. A key is 256 random bits, so a fast hash is enough: there is no
 * password to guess, and a slow one (scrypt) would cost every request tens of milliseconds.
 */
import { createHash, randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { FaceKitError, invalidArgument } from '../errors.js';

/** admin: gallery writes and key management, and everything recognize may do; recognize: recognition and reads. */
export const KEY_ROLES = ['admin', 'recognize'] as const;
export type KeyRole = (typeof KEY_ROLES)[number];

/** Bytes of randomness in a key: 256 bits. */
const KEY_BYTES = 32;
/** Every key starts so: a leaked one is recognisable in logs and by secret scanners. */
export const KEY_PREFIX = 'fk_';
/** Characters of a key kept in clear beside its hash, so `keys list` can tell keys apart. */
const SHOWN_CHARS = 8;
/** Labels are for people reading `keys list`. */
const MAX_LABEL_LENGTH = 100;

/** Schema step 2: the key table. The whole key is never stored, only its hash and first characters. */
export const KEYS_SCHEMA = `
CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'recognize')),
  hash TEXT NOT NULL UNIQUE,
  shown TEXT NOT NULL,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
`;

export interface ApiKeyRecord {
  readonly id: number;
  readonly name: string;
  readonly role: KeyRole;
  /** The key's first characters, to recognise it by. */
  readonly shown: string;
  readonly createdAt: string;
  /** ISO 8601; null while the key is valid. */
  readonly revokedAt: string | null;
}

export interface KeyRow {
  id: number;
  name: string;
  role: KeyRole;
  hash: string;
  shown: string;
  created_at: string;
  revoked_at: string | null;
}

const isControl = (c: string): boolean => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f;

export function checkRole(role: unknown, field = 'role'): KeyRole {
  if (!KEY_ROLES.includes(role as KeyRole)) throw invalidArgument(field, `must be one of ${KEY_ROLES.join(', ')}`);
  return role as KeyRole;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random key, in the form clients send it. */
export function newKey(): string {
  return KEY_PREFIX + randomBytes(KEY_BYTES).toString('base64url');
}

export const toRecord = (r: KeyRow): ApiKeyRecord => ({
  id: r.id,
  name: r.name,
  role: r.role,
  shown: r.shown,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

/** A gallery's key table, whichever store keeps it (SQLite: SqliteKeys; PostgreSQL: PgKeys). */
export interface KeyStore {
  /** Makes and stores a key; the key itself is returned this once and never again. */
  create(role: KeyRole, name?: string): Promise<{ readonly key: string; readonly record: ApiKeyRecord }>;
  list(): Promise<ApiKeyRecord[]>;
  /** The valid (not revoked) key with this hash, or null. */
  find(hash: string): Promise<ApiKeyRecord | null>;
  /** Revokes a key (KEY_NOT_FOUND if unknown); revoking a revoked key changes nothing. */
  revoke(id: number): Promise<ApiKeyRecord>;
}

/** A new key's role and label, checked; what both stores insert. */
export function checkNewKey(role: KeyRole, name: string): { readonly role: KeyRole; readonly name: string } {
  const checkedRole = checkRole(role);
  if (typeof name !== 'string' || name.length > MAX_LABEL_LENGTH || [...name].some(isControl))
    throw invalidArgument('name', `a key label is a string of at most ${MAX_LABEL_LENGTH} printable characters`);
  return { role: checkedRole, name };
}

/** The characters of a key kept in clear. */
export const shownPart = (key: string): string => key.slice(0, KEY_PREFIX.length + SHOWN_CHARS);

export function checkKeyId(id: number): number {
  if (!Number.isSafeInteger(id) || id < 1) throw invalidArgument('id', `not a key id: ${id}`);
  return id;
}

export const keyNotFound = (id: number, file: string): FaceKitError =>
  new FaceKitError('KEY_NOT_FOUND', `no API key with id ${id}`, { file, field: 'id' });

/** Runs a function in a transaction of the given kind, mapping SQLite's errors (SqliteStore's runner). */
export type TransactionRunner = <T>(fn: () => T, mode: 'read' | 'write') => Promise<T>;

/** The key table of one SQLite gallery. */
export class SqliteKeys implements KeyStore {
  private readonly s;

  constructor(
    db: Database.Database,
    private readonly run: TransactionRunner,
    private readonly location: string,
  ) {
    this.s = {
      insert: db.prepare<[string, string, string, string, string]>(
        'INSERT INTO api_keys (name, role, hash, shown, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      all: db.prepare<[], KeyRow>('SELECT * FROM api_keys ORDER BY id'),
      byId: db.prepare<[number], KeyRow>('SELECT * FROM api_keys WHERE id = ?'),
      byHash: db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE hash = ? AND revoked_at IS NULL'),
      revoke: db.prepare<[string, number]>('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    };
  }

  /** Makes and stores a key; the key itself is returned this once and never again. */
  create(role: KeyRole, name = ''): Promise<{ readonly key: string; readonly record: ApiKeyRecord }> {
    const checked = checkNewKey(role, name);
    const key = newKey();
    return this.run(() => {
      const info = this.s.insert.run(
        checked.name,
        checked.role,
        hashKey(key),
        shownPart(key),
        new Date().toISOString(),
      );
      return { key, record: toRecord(this.s.byId.get(Number(info.lastInsertRowid)) as KeyRow) };
    }, 'write');
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.run(() => this.s.all.all().map(toRecord), 'read');
  }

  /** The valid (not revoked) key with this hash, or null. */
  find(hash: string): Promise<ApiKeyRecord | null> {
    return this.run(() => {
      const r = this.s.byHash.get(hash);
      return r ? toRecord(r) : null;
    }, 'read');
  }

  /** Revokes a key (KEY_NOT_FOUND if unknown); revoking a revoked key changes nothing. */
  revoke(id: number): Promise<ApiKeyRecord> {
    return this.run(() => {
      checkKeyId(id);
      if (!this.s.byId.get(id)) throw keyNotFound(id, this.location);
      this.s.revoke.run(new Date().toISOString(), id);
      return toRecord(this.s.byId.get(id) as KeyRow);
    }, 'write');
  }
}
