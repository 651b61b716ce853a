/** Opens the store a --db value names: a postgres:// URL is a PostgreSQL gallery, anything else a gallery file. */
import { isPostgresUrl } from './location.js';
import { openSqliteStore } from './sqlite.js';
import type { ServiceStore } from './store.js';

export interface OpenStoreOptions {
  /** File only: create it when missing (default true). */
  readonly create?: boolean;
  /** File only: open without write access. */
  readonly readOnly?: boolean;
  /** PostgreSQL only: follow other processes' changes as they commit (LISTEN/NOTIFY). */
  readonly follow?: boolean;
  readonly onNote?: (message: string) => void;
}

export async function openStore(location: string, options: OpenStoreOptions = {}): Promise<ServiceStore> {
  if (!isPostgresUrl(location))
    return openSqliteStore(location, { create: options.create, readOnly: options.readOnly });
  // Loaded only when asked for: a file gallery never loads pg.
  const { openPostgresStore } = await import('./postgres.js');
  return openPostgresStore(location, { listen: options.follow, onNote: options.onNote });
}
