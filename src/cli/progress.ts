/**
 * Progress on long runs (issue 17): a bar with rate and ETA on stderr while files are analysed,
 * and one summary line at the end. The bar is drawn only when stderr is a terminal (a log file or
 * a pipe gets no carriage-return litter) and never with --quiet; stdout, where results and JSON
 * go, is never touched.
 */
import { Option } from 'commander';

/** Redraws at most this often: faster than a person reads, slow enough to cost nothing. */
const REDRAW_MS = 100;
const BAR_WIDTH = 24;

export interface ProgressOptions {
  readonly quiet?: boolean;
}

export function quietOption(): Option {
  return new Option('--quiet', 'no progress bar and no summary line on stderr');
}

/** Counts of a finished run, for the summary line; people only where the command knows of people. */
export interface RunSummary {
  readonly files: number;
  readonly faces: number;
  readonly people?: number;
  readonly errors: number;
}

interface Stream {
  readonly isTTY?: boolean;
  write(text: string): boolean;
}

/** "1:05" for 65 s; "0:07" for 7 s. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h > 0 ? 2 : 1, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** One bar line: `[#####-----] 120/500 24% 3.1 files/s ETA 2:02`. */
export function barLine(done: number, total: number, elapsedMs: number): string {
  const share = total > 0 ? done / total : 1;
  const filled = Math.round(share * BAR_WIDTH);
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const eta = rate > 0 ? clock((total - done) / rate) : '?';
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${done}/${total} ${Math.floor(share * 100)}% ${rate.toFixed(1)} files/s ETA ${eta}`;
}

/** "500 files, 480 faces, 150 people, 2 errors, 24.1 s". */
export function summaryLine(s: RunSummary, elapsedMs: number): string {
  const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  return [
    n(s.files, 'file', 'files'),
    n(s.faces, 'face', 'faces'),
    ...(s.people !== undefined ? [n(s.people, 'person', 'people')] : []),
    n(s.errors, 'error', 'errors'),
    `${(elapsedMs / 1000).toFixed(1)} s`,
  ].join(', ');
}

/** What the progress display reads of one analysed file. */
export type Done = { readonly ok: true; readonly faces: readonly unknown[] } | { readonly ok: false };

export interface Progress {
  /** One more file done: counted in the summary (faces, or an error). */
  tick(result: Done): void;
  /** Clears the bar and, unless quiet, prints the summary line; `counts` override what tick() counted. */
  finish(counts?: Partial<RunSummary>): void;
}

/** A progress display for `total` files on `stream` (stderr by default). */
export function startProgress(total: number, options: ProgressOptions, stream: Stream = process.stderr): Progress {
  const start = performance.now();
  const drawing = stream.isTTY === true && options.quiet !== true;
  let done = 0;
  let faces = 0;
  let errors = 0;
  let drawnAt = Number.NEGATIVE_INFINITY;
  const draw = (): void => {
    drawnAt = performance.now();
    stream.write(`\r${barLine(done, total, drawnAt - start)}\x1b[K`);
  };
  return {
    tick(result) {
      done++;
      if (result.ok) faces += result.faces.length;
      else errors++;
      if (drawing && (performance.now() - drawnAt >= REDRAW_MS || done === total)) draw();
    },
    finish(counts = {}) {
      if (drawing) stream.write('\r\x1b[K');
      const summary: RunSummary = { files: done, faces, errors, ...counts };
      if (options.quiet !== true) stream.write(`facekit: ${summaryLine(summary, performance.now() - start)}\n`);
    },
  };
}
