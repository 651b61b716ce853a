/**
 * Frame sources: ffmpeg decodes a file, stream, camera or image sequence to raw rgb24 on its
 * stdout; raw frames on stdin need no ffmpeg. Files never drop a frame (the reader pauses ffmpeg);
 * live sources keep only the newest frame, and a live stream that breaks is reopened with
 * exponential backoff, the gap reported.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { FaceKitError, invalidArgument } from '../errors.js';
import type { Image } from '../index.js';
import { FFMPEG_DETACHED, type FfmpegInfo, findFfmpeg, rtspTimeoutOption } from './ffmpeg.js';
import { FrameReader } from './frame-reader.js';
import {
  describeSource,
  type InputSettings,
  inputArgs,
  isLive,
  maskPasswords,
  parseSource,
  RTSP_TRANSPORTS,
  type RtspTransport,
  type SourceSpec,
} from './source-spec.js';

export interface ReconnectOptions {
  /** Failed reopen attempts in a row before a broken live stream is given up; default 8. */
  readonly attempts?: number;
  /** First wait before reopening, doubled after each failure up to maxDelayMs; default 250 ms. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

export interface SourceOptions {
  /** ffmpeg binary to run instead of the newer of npm's and the system's. */
  readonly ffmpeg?: string;
  /** Frame rate of an image sequence, camera or raw stdin (files and streams carry their own). */
  readonly fps?: number;
  /** Frame size of raw stdin frames (required for `-`); for a camera, the capture size asked of it. */
  readonly width?: number;
  readonly height?: number;
  /** Where `-` reads raw frames from; default process.stdin. */
  readonly stdin?: Readable;
  /** Override whether frames may be dropped (live) or never (files, sequences). */
  readonly live?: boolean;
  readonly reconnect?: ReconnectOptions;
  /** How long opening may take before the source counts as unopenable; default 20 s. */
  readonly openTimeoutMs?: number;
  /**
   * A live source that gives no frame for this long counts as broken: ffmpeg is stopped and the
   * source reopened, the gap reported (a camera that froze, or a server that keeps the connection
   * open and sends nothing). Default 5 s; Infinity waits forever. Raise it for cameras that send
   * only on motion.
   */
  readonly stallTimeoutMs?: number;
  /**
   * RTSP: 'tcp' (default) carries RTP inside the RTSP connection: through NAT and firewalls, no
   * packet loss. 'udp' sends it to UDP ports of ours: a little less delay on a clean LAN, but lost
   * packets show as smeared frames, and NAT or a firewall between often blocks it.
   */
  readonly rtspTransport?: RtspTransport;
}

export interface SourceInfo {
  readonly description: string;
  readonly kind: SourceSpec['kind'];
  readonly live: boolean;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Seconds, when the container says (files). */
  readonly duration: number | null;
  readonly hasAudio: boolean;
  /** Null for raw stdin, which needs no ffmpeg. */
  readonly ffmpeg: FfmpegInfo | null;
}

export interface VideoFrame {
  /** Frame number in the source (live frames dropped in between still count). */
  readonly index: number;
  /** Seconds: the frame's place in a file; for live sources, time since the source opened. */
  readonly time: number;
  readonly image: Image;
  /** performance.now() when the frame arrived. */
  readonly receivedAt: number;
}

export interface SourceGap {
  /** Seconds since the source opened, when it broke and when frames came again. */
  readonly from: number;
  readonly to: number;
  readonly attempts: number;
  readonly reason: string;
  /** False when every reopen failed and the source gave up. */
  readonly resumed: boolean;
}

export type SourceItem =
  | { readonly type: 'frame'; readonly frame: VideoFrame }
  | { readonly type: 'gap'; readonly gap: SourceGap };

export interface FrameSource {
  readonly info: SourceInfo;
  /** Frames (and gaps) in order; ends with the source; throws STREAM_CORRUPT when a file breaks. */
  items(): AsyncGenerator<SourceItem>;
  /** Live frames replaced by newer ones before they were taken. */
  readonly dropped: number;
  /** Stops ffmpeg; items() then ends. Safe to call twice. */
  close(): void;
}

const DEFAULT_RECONNECT: Required<ReconnectOptions> = { attempts: 8, initialDelayMs: 250, maxDelayMs: 8_000 };
const DEFAULT_OPEN_TIMEOUT_MS = 20_000;
const DEFAULT_STALL_TIMEOUT_MS = 5_000;
/** Enough of ffmpeg's stderr to hold its stream description and the last error lines. */
const STDERR_KEEP_CHARS = 32_000;
/** Lines of ffmpeg's stderr quoted in an error message. */
const ERROR_LINES = 3;

interface Header {
  width: number;
  height: number;
  fps: number;
  duration: number | null;
  hasAudio: boolean;
}

interface Run {
  readonly proc: ChildProcess;
  readonly reader: FrameReader;
  readonly header: Header;
  readonly exited: Promise<number | null>;
  stderr(): string;
  /** Set when the stall watchdog stopped ffmpeg: no frame came for stallTimeoutMs. */
  stalled: boolean;
}

/** Parses what ffmpeg prints about its input and its rawvideo output. Exported for tests. */
export function parseHeader(stderr: string): Header | null {
  const outAt = stderr.indexOf('Output #0');
  if (outAt < 0) return null;
  const output = stderr.slice(outAt);
  const video = /Stream #\d+:\d+[^\n]*: Video: [^\n]*?, (\d+)x(\d+)[^\n]*\n/.exec(output);
  if (!video) return null;
  const fps = /, ([\d.]+) (?:fps|tbr)/.exec(video[0]);
  const input = stderr.slice(0, outAt);
  const duration = /Duration: (\d+):(\d+):([\d.]+)/.exec(input);
  return {
    width: Number(video[1]),
    height: Number(video[2]),
    fps: fps ? Number(fps[1]) : 0,
    duration: duration ? Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]) : null,
    hasAudio: /Stream #\d+:\d+[^\n]*: Audio: /.test(input),
  };
}

/** ffmpeg's last lines, passwords masked, without progress lines or ffmpeg 5's notice that -vsync has a new name. */
function lastLines(text: string): string {
  return maskPasswords(text)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^(Press \[q\]|frame=|-vsync is deprecated)/.test(l))
    .slice(-ERROR_LINES)
    .join(' | ');
}

/** An error for a source ffmpeg could not open or decode, told apart by what ffmpeg said. */
export function openError(description: string, stderr: string, exitCode: number | null): FaceKitError {
  const said = lastLines(stderr) || `ffmpeg exited with code ${exitCode}`;
  if (/No such file or directory/i.test(stderr) && !/^[a-z]+:\/\//i.test(description))
    return new FaceKitError('FILE_NOT_FOUND', `ffmpeg cannot open it: ${said}`, { file: description });
  if (
    /Invalid data found|moov atom not found|could not find codec parameters|Invalid NAL|decoding for stream/i.test(
      stderr,
    )
  )
    return new FaceKitError('STREAM_CORRUPT', `not a video ffmpeg can decode: ${said}`, { file: description });
  return new FaceKitError('SOURCE_UNOPENABLE', `ffmpeg cannot open it: ${said}`, { file: description });
}

/** Where stopped output ends: a live source's stall watchdog, ffmpeg's own socket timeouts. */
interface Limits {
  readonly openTimeoutMs: number;
  readonly stallTimeoutMs: number;
}

function startFfmpeg(
  ffmpeg: FfmpegInfo,
  spec: Exclude<SourceSpec, { kind: 'stdin' }>,
  settings: InputSettings,
  limits: Limits,
  live: boolean,
): Promise<Run> {
  const args = [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    ...inputArgs(spec, settings),
    // Live frames pass as they come: ffmpeg's default for raw output (a constant rate) duplicates
    // frames to fill a stall and dropped the first 4 frames of an RTSP stream whose first
    // timestamps it had not yet synchronised (the 2018 npm build). The rate is the camera's business.
    ...(live ? ['-vsync', 'passthrough'] : []),
    '-map',
    '0:v:0',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ];
  const description = describeSource(spec);
  return new Promise((resolve, reject) => {
    const proc = spawn(ffmpeg.path, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: FFMPEG_DETACHED });
    let stderr = '';
    let settled = false;
    const exited = new Promise<number | null>((done) => proc.once('close', (code) => done(code)));
    const fail = (error: FaceKitError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(
      () =>
        fail(
          new FaceKitError('SOURCE_UNOPENABLE', `ffmpeg did not start decoding within ${limits.openTimeoutMs} ms`, {
            file: description,
          }),
        ),
      limits.openTimeoutMs,
    );
    proc.once('error', (cause) =>
      fail(new FaceKitError('FFMPEG_NOT_FOUND', `cannot run ffmpeg: ${cause.message}`, { file: ffmpeg.path, cause })),
    );
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (text: string) => {
      stderr = (stderr + text).slice(-STDERR_KEEP_CHARS);
      if (settled) return;
      const header = parseHeader(stderr);
      if (!header) return;
      settled = true;
      clearTimeout(timer);
      if (!(header.width > 0 && header.height > 0)) {
        proc.kill('SIGKILL');
        reject(new FaceKitError('STREAM_CORRUPT', 'ffmpeg reports no frame size', { file: description }));
        return;
      }
      const reader = new FrameReader(proc.stdout as Readable, header.width * header.height * 3, live);
      const run: Run = { proc, reader, header, exited, stderr: () => stderr, stalled: false };
      if (live && Number.isFinite(limits.stallTimeoutMs)) watchForStall(run, limits.stallTimeoutMs);
      resolve(run);
    });
    void exited.then((code) => fail(openError(description, stderr, code)));
  });
}

/**
 * Stops ffmpeg when a live source's output stops: ffmpeg itself may wait on a silent camera for
 * ever (RTSP over TCP with no socket timeout) or retry for several timeouts in a row (three
 * socket timeouts on an RTSP stream, measured with ffmpeg 4 and 5). Output bytes flow only as
 * frames are decoded, and a live reader never pauses its pipe, so silence here means no frames.
 */
function watchForStall(run: Run, timeoutMs: number): void {
  const timer = setTimeout(() => {
    run.stalled = true;
    run.proc.kill('SIGKILL');
  }, timeoutMs);
  run.proc.stdout?.on('data', () => timer.refresh());
  void run.exited.then(() => clearTimeout(timer));
}

const sleep = (ms: number, wake: { cancel?: () => void }): Promise<void> =>
  new Promise((done) => {
    const t = setTimeout(done, ms);
    wake.cancel = () => {
      clearTimeout(t);
      done();
    };
  });

function checkPositive(value: number | undefined, field: string, infinite = false): void {
  if (value !== undefined && !((Number.isFinite(value) || (infinite && value === Infinity)) && value > 0))
    throw invalidArgument(field, `must be a positive number, got ${value}`);
}

/**
 * A V4L2 camera that is not there: said before ffmpeg runs, naming the device (ffmpeg's own
 * line names its demuxer first). Other capture APIs name devices ffmpeg alone can list.
 */
async function checkCamera(spec: Extract<SourceSpec, { kind: 'device' }>): Promise<void> {
  if (spec.api !== 'v4l2') return;
  let isDevice: boolean;
  try {
    isDevice = (await stat(spec.device)).isCharacterDevice();
  } catch (cause) {
    throw new FaceKitError('FILE_NOT_FOUND', 'no such camera (a V4L2 camera shows as /dev/videoN when plugged in)', {
      file: spec.device,
      cause,
    });
  }
  if (!isDevice) throw new FaceKitError('SOURCE_UNOPENABLE', 'is not a camera device', { file: spec.device });
}

/** Opens a source and reads its header; FFMPEG_NOT_FOUND, FILE_NOT_FOUND, SOURCE_UNOPENABLE or STREAM_CORRUPT when it cannot. */
export async function openSource(source: string, options: SourceOptions = {}): Promise<FrameSource> {
  const spec = parseSource(source);
  checkPositive(options.fps, 'fps');
  checkPositive(options.openTimeoutMs, 'openTimeoutMs');
  checkPositive(options.stallTimeoutMs, 'stallTimeoutMs', true);
  const rtspTransport = options.rtspTransport ?? 'tcp';
  if (!RTSP_TRANSPORTS.includes(rtspTransport))
    throw invalidArgument('rtspTransport', `must be one of ${RTSP_TRANSPORTS.join(', ')}, got '${rtspTransport}'`);
  const live = options.live ?? isLive(spec);
  if (spec.kind === 'stdin') return openStdin(options, live);
  if (spec.kind === 'device') await checkCamera(spec);
  if (spec.kind === 'file') {
    try {
      if (!(await stat(spec.path)).isFile()) throw invalidArgument('source', `${spec.path} is not a file`);
    } catch (cause) {
      if (cause instanceof FaceKitError) throw cause;
      throw new FaceKitError('FILE_NOT_FOUND', 'no such video file', { file: spec.path, cause });
    }
  }
  const ffmpeg = await findFfmpeg(options.ffmpeg);
  const reconnect = { ...DEFAULT_RECONNECT, ...options.reconnect };
  const limits: Limits = {
    openTimeoutMs: options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS,
    stallTimeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
  };
  const { width, height } = options;
  const settings: InputSettings = {
    fps: options.fps,
    size: width !== undefined && height !== undefined ? { width, height } : undefined,
    rtspTransport,
    // ffmpeg's own bound on a silent socket, as a backstop to the watchdog and for the handshake
    // (a server that accepts and never answers); the watchdog, in frames, usually ends it first.
    socketTimeoutUs: Math.round(Math.min(limits.stallTimeoutMs, limits.openTimeoutMs) * 1000),
    rtspTimeoutOption: spec.kind === 'stream' && /^rtsps?:/i.test(spec.url) ? await rtspTimeoutOption(ffmpeg) : null,
  };
  const first = await startFfmpeg(ffmpeg, spec, settings, limits, live);
  const { header } = first;
  const description = describeSource(spec);
  const info: SourceInfo = {
    description,
    kind: spec.kind,
    live,
    width: header.width,
    height: header.height,
    fps: header.fps > 0 ? header.fps : (options.fps ?? DEFAULT_SEQUENCE_FALLBACK_FPS),
    duration: header.duration,
    hasAudio: header.hasAudio,
    ffmpeg,
  };
  const openedAt = performance.now();
  let run: Run | undefined = first;
  let closed = false;
  let dropped = 0;
  const wake: { cancel?: () => void } = {};

  async function* items(): AsyncGenerator<SourceItem> {
    let index = -1;
    try {
      for (;;) {
        if (!run || closed) return;
        const current: Run = run;
        let droppedBefore = current.reader.dropped;
        for (;;) {
          const r = await current.reader.read();
          if ('end' in r) break;
          const skipped = current.reader.dropped - droppedBefore;
          droppedBefore = current.reader.dropped;
          dropped += skipped;
          index += 1 + skipped;
          const time = live ? (r.frame.receivedAt - openedAt) / 1000 : index / info.fps;
          yield {
            type: 'frame',
            frame: {
              index,
              time,
              receivedAt: r.frame.receivedAt,
              image: { width: info.width, height: info.height, data: r.frame.data },
            },
          };
        }
        const code = await current.exited;
        if (closed) return;
        if (!live) {
          if (code !== 0) throw openError(description, current.stderr(), code);
          return;
        }
        const from = (performance.now() - openedAt) / 1000;
        const reason = current.stalled
          ? `no frame for ${limits.stallTimeoutMs / 1000} s (the source stalled)`
          : lastLines(current.stderr()) || `stream ended (ffmpeg exit code ${code})`;
        run = undefined;
        let attempts = 0;
        while (!run && !closed && attempts < reconnect.attempts) {
          await sleep(Math.min(reconnect.initialDelayMs * 2 ** attempts, reconnect.maxDelayMs), wake);
          attempts++;
          if (closed) return;
          try {
            run = await startFfmpeg(ffmpeg, spec as Exclude<SourceSpec, { kind: 'stdin' }>, settings, limits, live);
          } catch {
            // Counted; the next attempt waits twice as long.
          }
        }
        if (closed) return;
        yield {
          type: 'gap',
          gap: { from, to: (performance.now() - openedAt) / 1000, attempts, reason, resumed: run !== undefined },
        };
      }
    } finally {
      close();
    }
  }

  function close(): void {
    if (closed) return;
    closed = true;
    wake.cancel?.();
    run?.proc.kill('SIGKILL');
  }

  return {
    info,
    items,
    get dropped() {
      return dropped;
    },
    close,
  };
}

/** ffmpeg reports no rate for some live inputs; 25 is its own default for such streams. */
const DEFAULT_SEQUENCE_FALLBACK_FPS = 25;

function openStdin(options: SourceOptions, live: boolean): FrameSource {
  const { width, height } = options;
  if (!(Number.isInteger(width) && (width as number) > 0 && Number.isInteger(height) && (height as number) > 0))
    throw invalidArgument('size', 'raw frames on stdin (-) need a positive integer width and height (--size WxH)');
  const w = width as number;
  const h = height as number;
  const stream = options.stdin ?? process.stdin;
  const fps = options.fps ?? DEFAULT_SEQUENCE_FALLBACK_FPS;
  const reader = new FrameReader(stream, w * h * 3, live);
  const openedAt = performance.now();
  let closed = false;
  async function* items(): AsyncGenerator<SourceItem> {
    let index = -1;
    let droppedBefore = 0;
    for (;;) {
      const r = await reader.read();
      if (closed) return;
      if ('end' in r) {
        if (r.partialBytes > 0)
          throw new FaceKitError('STREAM_CORRUPT', `raw input ended ${r.partialBytes} bytes into a ${w}x${h} frame`, {
            file: 'stdin',
          });
        return;
      }
      index += 1 + reader.dropped - droppedBefore;
      droppedBefore = reader.dropped;
      const time = live ? (r.frame.receivedAt - openedAt) / 1000 : index / fps;
      yield {
        type: 'frame',
        frame: { index, time, receivedAt: r.frame.receivedAt, image: { width: w, height: h, data: r.frame.data } },
      };
    }
  }
  return {
    info: {
      description: 'stdin',
      kind: 'stdin',
      live,
      width: w,
      height: h,
      fps,
      duration: null,
      hasAudio: false,
      ffmpeg: null,
    },
    items,
    get dropped() {
      return reader.dropped;
    },
    close() {
      closed = true;
      stream.pause();
    },
  };
}
