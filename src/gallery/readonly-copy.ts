import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { lazy } from '../util/lazy.js';

const require = createRequire(import.meta.url);
/** better-sqlite3 on first use (see util/lazy.ts). */
const sqliteLib = lazy(() => require('better-sqlite3') as typeof Database);

/** Byte offsets of the SQLite header's file-format write and read versions: 2 means WAL, 1 legacy. */
const WRITE_VERSION = 18;
const READ_VERSION = 19;
const WAL_FORMAT = 2;
const LEGACY_FORMAT = 1;

/**
 * A read-only in-memory copy of a gallery file. For storage where SQLite cannot open the file in
 * place: a WAL database needs its -shm file, which a read-only mount neither has nor lets it make
 * (as of SQLite 3.22 only an "immutable" URI avoids that, and better-sqlite3 does not take URIs).
 * The copy is marked as a legacy-journal database, which it may be since nothing writes to it.
 * It costs the file's size in memory, and a reader of the copy sees what was committed when it opened.
 */
export function openReadOnlyCopy(file: string): Database.Database {
  return new (sqliteLib())(asLegacyJournal(readFileSync(file)), { readonly: true });
}

/** An in-memory database image marked legacy-journal: memory databases cannot be in WAL mode. */
function asLegacyJournal(bytes: Buffer): Buffer {
  if (bytes[WRITE_VERSION] === WAL_FORMAT && bytes[READ_VERSION] === WAL_FORMAT) {
    bytes[WRITE_VERSION] = LEGACY_FORMAT;
    bytes[READ_VERSION] = LEGACY_FORMAT;
  }
  return bytes;
}

/**
 * A writable in-memory copy of what `db` holds now (its WAL included), for a gallery opened
 * read-only but written by an older facekit: the copy is upgraded to this schema so it can be
 * read, while the file stays as it is until a command that writes upgrades it. `db` is closed.
 */
export function upgradableCopy(db: Database.Database): Database.Database {
  const bytes = asLegacyJournal(db.serialize());
  db.close();
  return new (sqliteLib())(bytes);
}
