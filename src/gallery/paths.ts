import { homedir } from 'node:os';
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
