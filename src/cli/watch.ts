/** `facekit watch <source>`: faces tracked and recognised in a video, stream or camera. */
import { stat } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { FaceKitError } from '../errors.js';
import type { DetectorName, Gallery } from '../index.js';
import type { RtspTransport, Summary, WatchEvent } from '../entry/video.js';
import { embedderOption, modelOption } from './output.js';
import { msFromSeconds } from './gallery-options.js';

export interface WatchCliOptions {
  db?: string;
  known?: string;
  out?: string;
  json?: string;
  every: number;
  blurUnknown?: boolean;
  saveUnknown?: boolean;
  serve?: number | true;
  ffmpeg?: string;
  model?: DetectorName;
  threads: number;
  tolerance?: number;
  fps?: number;
  size?: { width: number; height: number };
  rtspTransport?: RtspTransport;
  /** Seconds without a frame before a live source counts as broken. */
  stallTimeout?: number;
  quiet?: boolean;
  /** A tuned embedder by name ('facekit train --out'); the gallery must hold its descriptors. */
  embedder?: string;
  /** Hand the source to `facekit worker --cameras` processes on this Redis queue (watch-queue.ts). */
  queue?: string;
  stop?: boolean;
  status?: boolean;
}

/**
 * RTSP_TRANSPORTS as a type-checked literal: importing the value would load the whole video
 * front end (entry/video) at every CLI start; it is loaded only when watch runs.
 */
const RTSP_CHOICES: readonly RtspTransport[] = ['tcp', 'udp'] satisfies readonly RtspTransport[];

/** The viewer's port when --serve is given without one. */
export const DEFAULT_SERVE_PORT = 8090;
const BAR_WIDTH = 30;

function positiveInt(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1)
      throw new FaceKitError('INVALID_ARGUMENT', `${name}: must be a positive integer, got '${v}'`, { field: name });
    return n;
  };
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new FaceKitError('INVALID_ARGUMENT', `--serve: port must be 0–65535, got '${v}'`, { field: 'serve' });
  return n;
}

function parseSize(v: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1)
    throw new FaceKitError('INVALID_ARGUMENT', `--size: expected WxH such as 640x480, got '${v}'`, { field: 'size' });
  return { width: Number(m[1]), height: Number(m[2]) };
}

function parsePositive(v: string): number {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0))
    throw new FaceKitError('INVALID_ARGUMENT', `expected a positive number, got '${v}'`);
  return n;
}

const clock = (seconds: number): string => {
  const m = Math.floor(seconds / 60);
  return `${m}:${(seconds - m * 60).toFixed(1).padStart(4, '0')}`;
};

function describe(event: WatchEvent): string | null {
  const who = 'name' in event ? (event.name ?? 'unknown') : '';
  switch (event.type) {
    case 'source-opened':
      return `${event.source.description}: ${event.source.width}x${event.source.height} at ${event.source.fps} fps${event.source.ffmpeg ? `, ${event.source.ffmpeg}` : ''}`;
    case 'track-started':
      return `${clock(event.time)} track ${event.track} started (${who})`;
    case 'track-identified':
      return `${clock(event.time)} track ${event.track} is ${who}${event.distance === null ? '' : ` (distance ${event.distance})`}${event.previous ? `, was ${event.previous}` : ''}`;
    case 'track-ended':
      return `${clock(event.time)} track ${event.track} ended (${who}, ${event.duration.toFixed(1)} s)`;
    case 'source-gap':
      return `${clock(event.time)} source broke (${event.reason}); ${event.resumed ? `resumed after ${event.duration.toFixed(1)} s, ${event.attempts} attempt(s)` : `gave up after ${event.attempts} attempt(s)`}`;
    default:
      return null;
  }
}

function printSummary(summary: Summary): void {
  const lines = [
    `\n${summary.frames} frames, detector on ${summary.detections}${summary.dropped > 0 ? `, ${summary.dropped} live frames dropped` : ''}`,
  ];
  const spans = (list: readonly { track: number; from: number; to: number }[]): string =>
    list.map((s) => `${clock(s.from)}–${clock(s.to)} (#${s.track})`).join(', ');
  for (const p of summary.people) lines.push(`${p.name}: ${p.seconds.toFixed(1)} s — ${spans(p.spans)}`);
  for (const u of summary.unknown)
    lines.push(`unknown person ${u.group}: ${u.seconds.toFixed(1)} s — ${spans(u.spans)}`);
  if (summary.people.length === 0 && summary.unknown.length === 0) lines.push('nobody seen');
  if (summary.clusterRun !== null)
    lines.push(
      `unknown people saved as cluster run ${summary.clusterRun}: enrol one with 'facekit cluster name <n> <person>' (n = the unknown person's number)`,
    );
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function runWatch(source: string, opts: WatchCliOptions): Promise<number> {
  if (opts.queue !== undefined) {
    const { runWatchQueue } = await import('./watch-queue.js');
    return runWatchQueue(source, { ...opts, queue: opts.queue });
  }
  if (opts.stop || opts.status)
    throw new FaceKitError('INVALID_ARGUMENT', '--stop and --status: only with --queue', { field: 'queue' });
  if (opts.db !== undefined && opts.known !== undefined)
    throw new FaceKitError('INVALID_ARGUMENT', '--db and --known: give one of them', { field: 'known' });
  if (opts.saveUnknown && opts.db === undefined)
    throw new FaceKitError('INVALID_ARGUMENT', '--save-unknown needs --db (the gallery to save them in)', {
      field: 'saveUnknown',
    });
  // Loaded here, not at the top: onnxruntime and sharp must not slow `facekit --help`.
  const { createFaceKit, openGallery } = await import('../index.js');
  const { loadKnownFolder, runWatchSession } = await import('../entry/video.js');
  const { embedderEntry } = await import('../entry/embed.js');
  // Checked before any file is touched: an unknown name lists the embedders there are.
  const entry = opts.embedder === undefined ? undefined : embedderEntry(opts.embedder, '--embedder');
  const kit = createFaceKit({ detector: opts.model, threads: opts.threads, embedder: opts.embedder });
  let gallery: Gallery | undefined;
  try {
    if (opts.db !== undefined) {
      await stat(opts.db).catch((cause) => {
        throw new FaceKitError('FILE_NOT_FOUND', 'no such gallery', { file: opts.db, field: 'db', cause });
      });
      gallery = await openGallery({
        path: opts.db,
        create: false,
        modelId: entry?.modelId,
        matchThreshold: entry?.thresholds.match,
      });
    }
    // Known photos are often close-ups, which tiny at one size misses: they get the CLI's usual
    // retries, which video frames cannot afford.
    const photoKit =
      opts.known === undefined
        ? undefined
        : createFaceKit({ detector: opts.model, threads: opts.threads, retryOnMiss: true, embedder: opts.embedder });
    const known =
      opts.known === undefined
        ? undefined
        : await loadKnownFolder(photoKit as typeof kit, opts.known).finally(() => photoKit?.dispose());
    for (const s of known?.skipped ?? []) process.stderr.write(`${s.file}: ${s.problem} (skipped)\n`);
    let duration: number | null = null;
    let fps = 0;
    const bar = process.stderr.isTTY && !opts.quiet;
    // Ctrl-C stops a camera or stream cleanly: the watch ends, the summary prints, the output is
    // finished; a second Ctrl-C quits at once.
    const stop = new AbortController();
    const onInterrupt = (): void => {
      if (stop.signal.aborted) process.exit(130);
      process.stderr.write('\nstopping (Ctrl-C again to quit at once)…\n');
      stop.abort();
    };
    process.on('SIGINT', onInterrupt);
    const started = performance.now();
    const summary = await runWatchSession(source, {
      kit,
      gallery,
      known: known?.people,
      tolerance: opts.tolerance,
      every: opts.every,
      blurUnknown: opts.blurUnknown,
      saveUnknown: opts.saveUnknown,
      out: opts.out,
      json: opts.json,
      serve: opts.serve === true ? DEFAULT_SERVE_PORT : opts.serve,
      ffmpeg: opts.ffmpeg,
      fps: opts.fps,
      width: opts.size?.width,
      height: opts.size?.height,
      rtspTransport: opts.rtspTransport,
      stallTimeoutMs: msFromSeconds(opts.stallTimeout),
      signal: stop.signal,
      onServe: (url) => process.stderr.write(`viewer: ${url}\n`),
      onEvent: (event) => {
        if (event.type === 'source-opened') {
          duration = event.source.live ? null : event.source.duration;
          fps = event.source.fps;
        }
        const line = event.type === 'summary' || opts.quiet ? null : describe(event);
        if (line) process.stdout.write(`${line}\n`);
      },
      onFrame: (frame) => {
        if (!bar || duration === null || duration <= 0) return;
        const done = Math.min(1, frame.time / duration);
        const rate = (frame.index + 1) / ((performance.now() - started) / 1000);
        const filled = Math.round(done * BAR_WIDTH);
        process.stderr.write(
          `\r[${'#'.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}] ${(done * 100).toFixed(0).padStart(3)}% ${frame.time.toFixed(1)}/${duration.toFixed(1)} s, ${rate.toFixed(0)} fps (${(rate / Math.max(fps, 1)).toFixed(1)}× real time)`,
        );
      },
    });
    process.off('SIGINT', onInterrupt);
    if (bar && duration !== null) process.stderr.write('\n');
    if (summary) printSummary(summary);
    if (opts.out) process.stderr.write(`annotated video: ${opts.out}\n`);
    return 0;
  } finally {
    await kit.dispose();
    await gallery?.close();
  }
}

/** The shared --model, with no default: none named, watch runs its video default on the frames. */
function videoModelOption(): Option {
  const option = modelOption().default(undefined);
  option.description += " (default: watch's video default, 'tiny' with one pass a frame and no border)";
  return option;
}

export function watchCommand(): Command {
  return (
    new Command('watch')
      .summary('track and recognise faces in a video file, stream or camera')
      .description(
        'track and recognise faces in a video file, an rtsp/http(s)/hls stream, a camera (/dev/videoN, avfoundation:0, dshow:video=NAME), an image sequence (frames/%04d.png) or raw rgb24 frames on stdin (-, with --size)',
      )
      .argument('<source>', 'file, URL, device, image pattern or -')
      .option('--db <file>', 'recognise people enrolled in this gallery (its calibrated threshold)')
      .option('--known <dir>', 'recognise people from a folder: <dir>/<name>.jpg or <dir>/<name>/*.jpg')
      .option('--out <file>', 'write the annotated video (boxes, track ids, names), keeping the audio')
      .option('--json <file>', 'write every event as a JSON line')
      .option(
        '--every <n>',
        'run the detector on every n-th frame, tracking in between (1: every frame)',
        positiveInt('every'),
        3,
      )
      .option('--blur-unknown', 'pixelate faces not recognised in the annotated output')
      .option(
        '--save-unknown',
        "with --db: save unknown people's faces as a cluster run, to enrol with 'facekit cluster name'",
      )
      .addOption(
        new Option('--serve [port]', `live viewer on 127.0.0.1 (default port ${DEFAULT_SERVE_PORT})`).argParser(
          parsePort,
        ),
      )
      .option('--ffmpeg <path>', 'the ffmpeg to run (default: the newer of the npm and the system ffmpeg)')
      // Every registered detector (hog and face_recognition's cnn too). None named: watch runs its video
      // default on the frames (VIDEO_DETECTOR: tiny, one pass, no border; the photo default costs
      // ~16× more CPU per frame, bench:video) and the known photos get the photo default.
      .addOption(videoModelOption())
      .addOption(embedderOption())
      .option('--threads <n>', 'onnxruntime threads (0: all cores)', (v) => Number(v), 1)
      .option('--tolerance <d>', 'distance threshold for --known (default 0.6)', parsePositive)
      .option('--fps <n>', 'frame rate of an image sequence, camera or stdin', parsePositive)
      .option('--size <WxH>', 'frame size of raw frames on stdin, or the capture size asked of a camera', parseSize)
      .addOption(
        new Option(
          '--rtsp-transport <mode>',
          'RTSP: RTP inside the RTSP connection (tcp: through NAT, no loss) or on UDP ports (udp)',
        )
          .choices(RTSP_CHOICES)
          .default('tcp'),
      )
      .option(
        '--stall-timeout <s>',
        'seconds without a frame before a live source counts as broken and is reopened (default 5)',
        parsePositive,
      )
      .option('--quiet', 'no event lines or progress bar, only the summary')
      .option(
        '--queue <redis-url>',
        'hand the source to `facekit worker --cameras` processes on this Redis queue (with --db postgres://…): one source per worker, taken over when a worker dies',
      )
      .option('--status', 'with --queue: where the source stands and its latest events')
      .option('--stop', 'with --queue: stop watching the source')
      .action(async (source: string, opts: WatchCliOptions) => {
        process.exitCode = await runWatch(source, opts);
      })
  );
}
