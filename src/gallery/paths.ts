import { createHash } from 'node:crypto';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';

/** Environment variable naming the gallery file, for users who keep one gallery somewhere else. */
export const GALLERY_ENV = 'FACEKIT_DB';
export const GALLERY_FILE_NAME = 'gallery.db';

/**
 * The gallery when neither `--db` nor FACEKIT_DB names one: the per-user data folder of each
 * platform (XDG on Linux, Application Support on macOS, %APPDATA% on Windows), since a gallery is
 * user data that must outlive caches.
 */
export function defaultGalleryPath(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home = homedir(),
): string {
  const named = env[GALLERY_ENV];
  if (named !== undefined && named !== '') return named;
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), 'facekit', GALLERY_FILE_NAME);
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'facekit', GALLERY_FILE_NAME);
  const xdg = env.XDG_DATA_HOME;
  // XDG says a relative XDG_DATA_HOME is invalid and must be ignored.
  const base = xdg?.startsWith('/') ? xdg : join(home, '.local', 'share');
  return join(base, 'facekit', GALLERY_FILE_NAME);
}

/**
 * Where a gallery held on a server (PostgreSQL) keeps its ANN index on this host: a cache, never
 * the truth (the server is), so under the user's cache folder, one file per server and database.
 */
export function sharedIndexFile(location: string, env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  const base = env.XDG_CACHE_HOME?.startsWith('/') ? env.XDG_CACHE_HOME : join(home, '.cache');
  const id = createHash('sha256').update(location).digest('hex').slice(0, 16);
  return join(base, 'facekit', 'ann', `${id}.hnsw`);
}

/** The key a shared gallery's ANN state is stored under: one per host and file, as each host has its own. */
export function sharedIndexStateKey(base: string, indexFile: string): string {
  return `${base}@${hostname()}:${indexFile}`;
}
