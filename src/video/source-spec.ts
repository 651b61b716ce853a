/**
 * What a source string names, and the ffmpeg input arguments that open it. Plain data and pure
 * functions: the process handling is in source.ts.
 */
import { invalidArgument } from '../errors.js';

export type SourceSpec =
  | { readonly kind: 'file'; readonly path: string }
  /** RTSP, RTMP, HTTP(S) (MPEG-TS, MJPEG, HLS playlists), UDP, SRT. */
  | { readonly kind: 'stream'; readonly url: string }
  /** A camera through the platform's capture API. */
  | { readonly kind: 'device'; readonly api: CaptureApi; readonly device: string }
  /** An ffmpeg image pattern such as frames/%04d.png, read at `fps`. */
  | { readonly kind: 'sequence'; readonly pattern: string }
  /** Raw rgb24 frames of a given size on standard input (`-`). */
  | { readonly kind: 'stdin' };

export type CaptureApi = 'v4l2' | 'avfoundation' | 'dshow';

const STREAM_SCHEMES = /^(rtsp|rtsps|rtmp|rtmps|http|https|udp|tcp|srt|rtp|hls\+https?):\/\//i;
const DEVICE_PREFIXES: Readonly<Record<string, CaptureApi>> = {
  'v4l2:': 'v4l2',
  'avfoundation:': 'avfoundation',
  'dshow:': 'dshow',
};
/** A printf-style frame number (%d, %04d) in a path: ffmpeg's image2 pattern. */
const SEQUENCE_PATTERN = /%0?\d*d/;

/**
 * Reads a source string: `-` (raw frames on stdin), a URL, `/dev/videoN` (V4L2), `v4l2:DEV`,
 * `avfoundation:0` (macOS), `dshow:video=Camera` (Windows), a path with %d (image sequence),
 * else a video file.
 */
export function parseSource(source: string): SourceSpec {
  if (typeof source !== 'string' || source.trim() === '') throw invalidArgument('source', 'must be a non-empty string');
  if (source === '-') return { kind: 'stdin' };
  if (STREAM_SCHEMES.test(source)) return { kind: 'stream', url: source };
  for (const [prefix, api] of Object.entries(DEVICE_PREFIXES)) {
    if (source.toLowerCase().startsWith(prefix)) {
      const device = source.slice(prefix.length);
      if (device === '') throw invalidArgument('source', `'${source}' names no device after '${prefix}'`);
      return { kind: 'device', api, device };
    }
  }
  if (/^\/dev\/video\d+$/.test(source)) return { kind: 'device', api: 'v4l2', device: source };
  if (SEQUENCE_PATTERN.test(source)) return { kind: 'sequence', pattern: source };
  return { kind: 'file', path: source };
}

/** Live sources run at their own pace: a consumer that falls behind gets the newest frame, not a backlog. */
export function isLive(spec: SourceSpec): boolean {
  return spec.kind === 'stream' || spec.kind === 'device' || spec.kind === 'stdin';
}

/**
 * A camera URL often carries its login (rtsp://admin:secret@cam/…): passwords are masked in
 * everything facekit prints or stores (events, errors, ffmpeg's lines quoted in them), never in
 * what ffmpeg is given. The password runs to the last '@' before the path (it may hold an '@').
 */
export function maskPasswords(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s/@:]*):[^\s/]*@/gi, '$1:***@');
}

export function describeSource(spec: SourceSpec): string {
  switch (spec.kind) {
    case 'file':
      return spec.path;
    case 'stream':
      return maskPasswords(spec.url);
    case 'device':
      return `${spec.api}:${spec.device}`;
    case 'sequence':
      return spec.pattern;
    case 'stdin':
      return 'stdin';
  }
}

/** Image sequences have no frame rate of their own; ffmpeg's image2 default is 25. */
export const DEFAULT_SEQUENCE_FPS = 25;

/** How RTP reaches us from an RTSP camera. */
export type RtspTransport = 'tcp' | 'udp';
export const RTSP_TRANSPORTS: readonly RtspTransport[] = ['tcp', 'udp'];

/** What shapes the ffmpeg input arguments besides the source itself. */
export interface InputSettings {
  /** Rate of an image sequence; the rate asked of a camera. */
  readonly fps?: number;
  /** The capture size asked of a camera. */
  readonly size?: { readonly width: number; readonly height: number };
  readonly rtspTransport: RtspTransport;
  /** How long ffmpeg waits on a silent network socket before it gives up, µs. */
  readonly socketTimeoutUs: number;
  /** This ffmpeg's name for the RTSP socket timeout (ffmpeg.ts), null when it has none. */
  readonly rtspTimeoutOption: '-timeout' | '-stimeout' | null;
}

/** Microseconds of a live stream ffmpeg reads to learn its format before decoding. */
const STREAM_PROBE_US = 1_000_000;

/** ffmpeg arguments before `-i` and the input itself, for every kind but stdin. */
export function inputArgs(spec: Exclude<SourceSpec, { kind: 'stdin' }>, settings: InputSettings): string[] {
  switch (spec.kind) {
    case 'file':
      return ['-i', spec.path];
    case 'sequence':
      return ['-f', 'image2', '-framerate', String(settings.fps ?? DEFAULT_SEQUENCE_FPS), '-i', spec.pattern];
    case 'stream':
      // No `-fflags nobuffer` / `-flags low_delay`: with them the 2018 npm build output no frame
      // at all from an MPEG-2 transport stream over HTTP (measured); stale frames are dropped here instead.
      // ffmpeg probes 5 s of a stream (its default analyzeduration) before the first frame; a
      // low-rate transport stream over HTTP then opened only once the whole test clip had come
      // (4.5 s), 1 s of probing opens it after ~1.7 s and the frames then flow as they arrive.
      return [...streamArgs(spec.url, settings), '-analyzeduration', String(STREAM_PROBE_US), '-i', spec.url];
    case 'device': {
      const rate = settings.fps === undefined ? [] : ['-framerate', String(settings.fps)];
      const size = settings.size ? ['-video_size', `${settings.size.width}x${settings.size.height}`] : [];
      return ['-f', spec.api, ...rate, ...size, '-i', spec.device];
    }
  }
}

/** Protocol options: a bound on socket waits (else a server that stops answering hangs ffmpeg), RTSP's transport. */
function streamArgs(url: string, settings: InputSettings): string[] {
  const timeout = String(settings.socketTimeoutUs);
  if (/^rtsps?:/i.test(url)) {
    const bound = settings.rtspTimeoutOption ? [settings.rtspTimeoutOption, timeout] : [];
    return ['-rtsp_transport', settings.rtspTransport, ...bound];
  }
  if (/^(https?|tcp|hls)/i.test(url)) return ['-rw_timeout', timeout];
  return [];
}
