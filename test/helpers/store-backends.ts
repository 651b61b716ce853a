/**
 * The gallery store backends every store test runs against: SQLite (a temporary file) and
 * PostgreSQL (a fresh database on a server the test file starts; skipped with the reason printed
 * when PostgreSQL is not installed). `raw` runs SQL on a gallery behind the store's back, for tests
 * that damage one or check what is stored.
 */
import { after, before } from 'node:test';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openPostgresStore, PG_NAMESPACE } from '../../src/gallery/postgres.js';
import { openSqliteStore } from '../../src/gallery/sqlite.js';
import type { ServiceStore } from '../../src/gallery/store.js';
import { startPostgres, type PostgresServer } from './servers.js';
import { tempDir } from './temp.js';

export interface StoreBackend {
  readonly name: 'sqlite' | 'postgres';
  /** Set (before tests run) when this backend cannot be tested here. */
  skip: string | false;
  /** A new, empty gallery's location (file path or URL). */
  fresh(): Promise<string>;
  open(location: string): Promise<ServiceStore>;
  /** One SQL statement on the gallery, outside the store; rows of a SELECT. */
  raw(location: string, sql: string): Promise<Record<string, unknown>[]>;
}

const sqliteDir = tempDir('facekit-stores-');
let files = 0;

const sqlite: StoreBackend = {
  name: 'sqlite',
  skip: false,
  fresh: async () => join(sqliteDir, `g${files++}.db`),
  open: async (file) => openSqliteStore(file),
  async raw(file, sql) {
    const db = new Database(file);
    try {
      const st = db.prepare(sql);
      if (st.reader) return st.all() as Record<string, unknown>[];
      st.run();
      return [];
    } finally {
      db.close();
    }
  },
};

let server: PostgresServer | null = null;
const postgres: StoreBackend = {
  name: 'postgres',
  skip: 'PostgreSQL not started yet',
  fresh: () => (server as PostgresServer).database(),
  open: (url) => openPostgresStore(url),
  async raw(url, sql) {
    const c = new pg.Client({ connectionString: url, options: `-c search_path=${PG_NAMESPACE}` });
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  },
};

/**
 * Both backends, with PostgreSQL started before the file's tests and stopped after. Call at the
 * top level of a test file; give `{ skip: b.skip }` to tests (read inside the test, see below).
 */
export function storeBackends(): readonly StoreBackend[] {
  before(async () => {
    const started = await startPostgres();
    if (typeof started === 'string') {
      postgres.skip = started;
      console.log(`# ${started}`);
    } else {
      server = started;
      postgres.skip = false;
    }
  });
  after(async () => {
    await server?.stop();
  });
  return [sqlite, postgres];
}

export async function withBackendStore<T>(
  b: StoreBackend,
  location: string,
  fn: (s: ServiceStore) => Promise<T>,
): Promise<T> {
  const s = await b.open(location);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}
