/**
 * Which ffmpeg runs: the one given (`--ffmpeg PATH`), else the newer of the npm package's static
 * build (@ffmpeg-installer/ffmpeg, so `npm install` alone is enough) and a system ffmpeg on PATH.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { FaceKitError } from '../errors.js';

export type FfmpegOrigin = 'option' | 'npm' | 'system';

export interface FfmpegInfo {
  readonly path: string;
  readonly origin: FfmpegOrigin;
  /** What `ffmpeg -version` says: "4.4.2", "N-47683-g0e8eb07980-static", … */
  readonly version: string;
  /** Year of the build (its copyright line): git snapshots carry no release number to compare. */
  readonly year: number;
  /** Release number, null for git snapshots. */
  readonly release: readonly number[] | null;
}

/** `-version` answers in milliseconds; a binary that hangs longer is not a usable ffmpeg. */
const VERSION_TIMEOUT_MS = 10_000;

/** Parses `ffmpeg -version`'s first lines. Exported for tests. */
export function parseVersion(text: string): Pick<FfmpegInfo, 'version' | 'year' | 'release'> | null {
  const head = /ffmpeg version (\S+)/.exec(text);
  if (!head) return null;
  const year = Number(/Copyright \(c\) \d{4}-(\d{4})/.exec(text)?.[1] ?? 0);
  const release = /^n?(\d+)\.(\d+)(?:\.(\d+))?/.exec(head[1]);
  return {
    version: head[1],
    year,
    release: release ? [Number(release[1]), Number(release[2]), Number(release[3] ?? 0)] : null,
  };
}

/** Positive when `a` is newer than `b`: by build year, then by release number when both have one. */
export function compareBuilds(
  a: Pick<FfmpegInfo, 'year' | 'release'>,
  b: Pick<FfmpegInfo, 'year' | 'release'>,
): number {
  if (a.year !== b.year) return a.year - b.year;
  if (a.release && b.release) {
    for (let i = 0; i < 3; i++) if (a.release[i] !== b.release[i]) return a.release[i] - b.release[i];
  }
  return 0;
}

function versionOf(path: string, origin: FfmpegOrigin): Promise<FfmpegInfo | null> {
  return new Promise((done) => {
    execFile(path, ['-version'], { timeout: VERSION_TIMEOUT_MS }, (error, stdout) => {
      const parsed = error ? null : parseVersion(stdout);
      done(parsed ? { path, origin, ...parsed } : null);
    });
  });
}

function npmFfmpegPath(): string | null {
  try {
    const installer = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path?: string };
    return typeof installer.path === 'string' ? installer.path : null;
  } catch {
    // The package ships no binary for this platform (its optional per-platform package is absent).
    return null;
  }
}

function systemFfmpegPath(): string | null {
  const names = process.platform === 'win32' ? ['ffmpeg.exe'] : ['ffmpeg'];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return null;
}

const found = new Map<string, Promise<FfmpegInfo>>();

/**
 * The ffmpeg to run. `explicit` is used as given (FFMPEG_NOT_FOUND when it does not run);
 * otherwise the newer of npm's and the system's, npm's on a tie (it is the build facekit is
 * tested with). Cached per process.
 */
export function findFfmpeg(explicit?: string): Promise<FfmpegInfo> {
  const key = explicit ?? '';
  let pending = found.get(key);
  if (!pending) {
    pending = locate(explicit);
    found.set(key, pending);
    pending.catch(() => found.delete(key));
  }
  return pending;
}

async function locate(explicit: string | undefined): Promise<FfmpegInfo> {
  if (explicit !== undefined) {
    const info = await versionOf(explicit, 'option');
    if (!info)
      throw new FaceKitError('FFMPEG_NOT_FOUND', 'is not an ffmpeg that runs (ffmpeg -version failed)', {
        file: explicit,
        field: 'ffmpeg',
      });
    return info;
  }
  const npmPath = npmFfmpegPath();
  const systemPath = systemFfmpegPath();
  const [npm, system] = await Promise.all([
    npmPath ? versionOf(npmPath, 'npm') : null,
    systemPath && systemPath !== npmPath ? versionOf(systemPath, 'system') : null,
  ]);
  if (npm && system) return compareBuilds(system, npm) > 0 ? system : npm;
  const any = npm ?? system;
  if (!any) {
    throw new FaceKitError(
      'FFMPEG_NOT_FOUND',
      'no ffmpeg found: @ffmpeg-installer/ffmpeg ships none for this platform and none is on PATH (install one or pass --ffmpeg PATH)',
      { field: 'ffmpeg' },
    );
  }
  return any;
}

/** One line for people: which ffmpeg ran. */
export function describeFfmpeg(info: FfmpegInfo): string {
  const from = info.origin === 'npm' ? 'npm @ffmpeg-installer' : info.origin === 'system' ? 'system' : '--ffmpeg';
  return `ffmpeg ${info.version} (${info.year}, ${from}: ${info.path})`;
}

/**
 * ffmpeg children get their own process group (POSIX): Ctrl-C in a terminal then reaches only
 * facekit, which stops the watch and lets the encoder finish the file, instead of every ffmpeg
 * quitting at once (a half-written MP4 has no index and does not play). Windows would open a
 * console window for a detached child, so there they stay attached.
 */
export const FFMPEG_DETACHED = process.platform !== 'win32';

/**
 * The RTSP demuxer's option that bounds each wait on its socket, in microseconds. ffmpeg 5.0
 * renamed it: `-stimeout` before, `-timeout` after, and before 5.0 `-timeout` meant something
 * else entirely (seconds to wait for a client: it turns ffmpeg into an RTSP *server*). So the
 * name is read from the build's own help, never guessed from its version. Exported for tests.
 */
export function parseRtspTimeoutOption(help: string): '-timeout' | '-stimeout' | null {
  for (const line of help.split('\n')) {
    const option = /^\s*(-s?timeout)\s+<\w+>.*\bmicroseconds\b/.exec(line);
    if (option) return option[1] as '-timeout' | '-stimeout';
  }
  return null;
}

const rtspTimeoutOptions = new Map<string, Promise<'-timeout' | '-stimeout' | null>>();

/** What this ffmpeg calls the RTSP socket timeout (null: a build without one, or without RTSP). Cached per binary. */
export function rtspTimeoutOption(info: FfmpegInfo): Promise<'-timeout' | '-stimeout' | null> {
  let pending = rtspTimeoutOptions.get(info.path);
  if (!pending) {
    pending = new Promise((done) => {
      execFile(info.path, ['-hide_banner', '-h', 'demuxer=rtsp'], { timeout: VERSION_TIMEOUT_MS }, (error, stdout) =>
        done(error ? null : parseRtspTimeoutOption(stdout)),
      );
    });
    rtspTimeoutOptions.set(info.path, pending);
  }
  return pending;
}
