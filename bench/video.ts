/**
 * Video benchmark: frames per second and per-frame latency (frame arrival to its tracks, p50/p99)
 * at 640×480 and 1280×720, 1 and 2 threads (each in its own process), detecting on every frame
 * and every n-th with tracking; the per-photo pipeline (kit.analyze on every frame, no tracking)
 * on the same clip in the same process as the baseline. Then identity accuracy per track and ID
 * switches on the test videos, and RSS over a long run.
 *
 * The machine may be shared: besides wall-clock fps, each row gives the CPU time of this process
 * per frame (process.cpuUsage: every thread, onnxruntime's included) and the fps that CPU time
 * allows ("cpu fps" = 1000 / CPU-ms). ffmpeg decodes in a child process whose CPU is not in that
 * figure; its own CPU-ms per frame is measured separately (bash `times` after a decode-only run).
 * Watch runs with a default kit (`createFaceKit({ threads })`), so it uses the video default
 * detector (VIDEO_DETECTOR: tiny, one pass, no border); the per-photo rows run the same kit's
 * analyze (the photo default: MTCNN, border, retries) on the first PER_PHOTO_FRAMES frames, and
 * analyze with the video detector on every frame.
 *
 *   npm run bench:video -- [--seconds 8] [--threads 1,2] [--every 3] [--rss-frames 20000] [--no-rss]
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { createFaceKit, type FaceKit, type Image, type WatchEvent, watch } from '../src/index.js';
import { VIDEO_DETECTOR } from '../src/video/watch.js';
import { findFfmpeg } from '../src/video/ffmpeg.js';
import { openSource } from '../src/video/source.js';
import { makeTestVideos } from '../test/video/videos.js';
import { markdownTable, parseFlags, percentile, PROJECT_ROOT, writeResult } from './common.js';

const flags = parseFlags({
  seconds: 8,
  threads: '1,2',
  every: 3,
  rssFrames: 20000,
  part: '',
  size: '',
  work: '',
  noRss: false,
});
const run = promisify(execFile);
const SIZES = ['640x480', '1280x720'] as const;
const FPS = 25;
/** The still is this much larger than the frame, so the crop has room to pan. */
const PAN_MARGIN = 1.25;
const SOAK_CLIP_SECONDS = 8;
/** Frames fed in the paced live run (4 s). */
const LIVE_FRAMES = 100;

/**
 * A pan over face-api's sample5 (five faces) at the given size. The photo is scaled once with
 * sharp: ffmpeg looping the 1920-px JPEG would decode and scale it again for every frame.
 */
async function makeClip(work: string, size: string, seconds: number): Promise<string> {
  const [w, h] = size.split('x').map(Number);
  const out = join(work, `clip-${size}-${seconds}s.mp4`);
  if (existsSync(out)) return out;
  const ffmpeg = (await findFfmpeg()).path;
  const still = join(work, `still-${size}.png`);
  await sharp(join(PROJECT_ROOT, 'node_modules/@vladmandic/face-api/demo/sample5.jpg'))
    .resize({ width: Math.round(w * PAN_MARGIN), height: Math.round(h * PAN_MARGIN), fit: 'cover' })
    .png()
    .toFile(still);
  await run(ffmpeg, [
    '-y',
    '-loglevel',
    'error',
    '-loop',
    '1',
    '-i',
    still,
    '-t',
    String(seconds),
    '-vf',
    `crop=${w}:${h}:x='(iw-ow)*t/${seconds}':y='(ih-oh)/2',fps=${FPS}`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    out,
  ]);
  return out;
}

/** A long clip for the memory soak: a short one repeated without re-encoding. */
async function makeLongClip(work: string, size: string, frames: number): Promise<string> {
  const short = await makeClip(work, size, SOAK_CLIP_SECONDS);
  const repeats = Math.ceil(frames / (SOAK_CLIP_SECONDS * FPS));
  const out = join(work, `soak-${size}-${repeats}x.mp4`);
  if (existsSync(out)) return out;
  const ffmpeg = (await findFfmpeg()).path;
  await run(ffmpeg, ['-y', '-loglevel', 'error', '-stream_loop', String(repeats - 1), '-i', short, '-c', 'copy', out]);
  return out;
}

interface Row {
  dropped?: number;
  /** Live rows: p99 and largest CPU-ms spent on one frame (its latency on an idle core). */
  cpuP99?: number;
  cpuMax?: number;
  size: string;
  threads: number;
  mode: string;
  frames: number;
  /** Frames the detector ran on (watch rows). */
  detections?: number;
  fps: number;
  /** CPU time of this process per frame, ms, and the fps it allows. */
  cpuMs: number;
  cpuFps: number;
  p50: number;
  p99: number;
}

/** Frames of the clip the photo-default baseline analyses: MTCNN with border costs ~0.2 CPU-s a frame. */
const PER_PHOTO_FRAMES = 25;

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const cpuFields = (cpu0: number, frames: number): { cpuMs: number; cpuFps: number } => {
  const cpuMs = (cpuNow() - cpu0) / Math.max(1, frames);
  return { cpuMs, cpuFps: 1000 / cpuMs };
};

/** CPU-ms per frame ffmpeg spends decoding the clip to rgb24 (the watch's source, run alone). */
async function decodeCpu(clip: string, size: string, threads: number): Promise<Row> {
  const ffmpeg = (await findFfmpeg()).path;
  const t0 = performance.now();
  const { stdout } = await run('bash', [
    '-c',
    `"$0" -hide_banner -loglevel error -nostdin -i "$1" -f rawvideo -pix_fmt rgb24 - | wc -c; times`,
    ffmpeg,
    clip,
  ]);
  const wall = performance.now() - t0;
  const [w, h] = size.split('x').map(Number);
  const lines = stdout.trim().split('\n');
  const frames = Math.round(Number(lines[0]) / (w * h * 3));
  // `times` prints the shell's own line, then its children's: "0m0.123s 0m0.045s".
  const seconds = (t: string): number => {
    const m = /(\d+)m([\d.]+)s/.exec(t);
    return m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN;
  };
  const [user, sys] = (lines.at(-1) as string).trim().split(/\s+/).map(seconds);
  const cpuMs = ((user + sys) * 1000) / frames;
  return {
    size,
    threads,
    mode: 'ffmpeg decode to rgb24 alone (child process, its own threads)',
    frames,
    fps: (frames * 1000) / wall,
    cpuMs,
    cpuFps: 1000 / cpuMs,
    p50: Number.NaN,
    p99: Number.NaN,
  };
}

const ms = (xs: number[]) => xs.sort((a, b) => a - b);

async function measureWatch(
  kit: FaceKit,
  clip: string,
  every: number,
  mode: string,
  size: string,
  threads: number,
): Promise<Row> {
  // A file's frames are always ready (ffmpeg decodes ahead), so the time between two finished
  // frames is the time one frame took; arrival-to-result latency is measured on the paced run.
  const perFrame: number[] = [];
  const t0 = performance.now();
  const cpu0 = cpuNow();
  let previous = t0;
  let frames = 0;
  let detections = 0;
  for await (const e of watch(clip, {
    kit,
    every,
    adaptive: every > 1,
    updates: false,
    onFrame: () => {
      frames++;
      const now = performance.now();
      perFrame.push(now - previous);
      previous = now;
    },
  }))
    if (e.type === 'summary') detections = e.detections;
  const wall = (performance.now() - t0) / 1000;
  const sorted = ms(perFrame.slice(1));
  return {
    size,
    threads,
    mode,
    frames,
    detections,
    fps: frames / wall,
    ...cpuFields(cpu0, frames),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

/**
 * Live: the clip's frames fed as raw frames at the clip's own rate (25 fps) through the stdin
 * source, as a camera would deliver them; latency from a frame's arrival to its tracks, and the
 * frames dropped as stale because the watch was busy.
 */
async function measureLive(
  kit: FaceKit,
  clip: string,
  size: string,
  threads: number,
): Promise<Row & { dropped: number; cpuP99: number; cpuMax: number }> {
  const [width, height] = size.split('x').map(Number);
  const decoded: Uint8Array[] = [];
  const src = await openSource(clip);
  for await (const item of src.items())
    if (item.type === 'frame' && decoded.length < LIVE_FRAMES) decoded.push(Uint8Array.from(item.frame.image.data));
  src.close();
  const feed = new PassThrough({ highWaterMark: width * height * 3 });
  let sent = 0;
  const timer = setInterval(() => {
    if (sent === decoded.length) {
      clearInterval(timer);
      feed.end();
      return;
    }
    feed.write(decoded[sent++]);
  }, 1000 / FPS);
  const latency: number[] = [];
  const frameCpu: number[] = [];
  let dropped = 0;
  let detections = 0;
  const t0 = performance.now();
  const cpu0 = cpuNow();
  let lastCpu = cpu0;
  for await (const e of watch('-', {
    kit,
    every: flags.every,
    updates: false,
    width,
    height,
    fps: FPS,
    stdin: feed,
    live: true,
    onFrame: (f) => {
      latency.push(performance.now() - f.receivedAt);
      // Between two frames the live loop waits idle (no CPU): the CPU used since the last frame is
      // what this one cost, its latency on an otherwise idle core.
      const now = cpuNow();
      frameCpu.push(now - lastCpu);
      lastCpu = now;
    },
  }))
    if (e.type === 'summary') {
      dropped = e.dropped;
      detections = e.detections;
    }
  const wall = (performance.now() - t0) / 1000;
  const sorted = ms(latency);
  return {
    size,
    threads,
    mode: `live at ${FPS} fps, every ${flags.every}: arrival to tracks`,
    frames: latency.length,
    detections,
    fps: latency.length / wall,
    ...cpuFields(cpu0, latency.length),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    cpuP99: percentile(ms(frameCpu.slice(1)), 99),
    cpuMax: Math.max(...frameCpu.slice(1)),
    dropped,
  };
}

async function measurePerPhoto(
  kit: FaceKit,
  clip: string,
  size: string,
  threads: number,
  mode: string,
  limit = Number.POSITIVE_INFINITY,
): Promise<Row> {
  const src = await openSource(clip);
  const latency: number[] = [];
  const t0 = performance.now();
  const cpu0 = cpuNow();
  for await (const item of src.items()) {
    if (item.type !== 'frame') continue;
    const start = performance.now();
    await kit.analyze(item.frame.image);
    latency.push(performance.now() - start);
    if (latency.length >= limit) break;
  }
  src.close();
  const wall = (performance.now() - t0) / 1000;
  const sorted = ms(latency);
  return {
    size,
    threads,
    mode,
    frames: latency.length,
    fps: latency.length / wall,
    ...cpuFields(cpu0, latency.length),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

async function firstFrame(clip: string): Promise<Image> {
  const src = await openSource(clip);
  for await (const item of src.items())
    if (item.type === 'frame') {
      src.close();
      return { ...item.frame.image, data: Uint8Array.from(item.frame.image.data) };
    }
  throw new Error(`${clip}: no frame`);
}

/** One size and thread count, in this process. */
async function speedPart(size: string, threads: number, work: string): Promise<Row[]> {
  const clip = await makeClip(work, size, flags.seconds);
  // The kit a user makes without naming a detector: watch then runs VIDEO_DETECTOR on the frames.
  const kit = createFaceKit({ threads });
  await kit.warmUp();
  // The per-photo pipeline with the video's detector, one pass, no border: what tracking saves.
  const photoTiny = createFaceKit({ threads, detector: VIDEO_DETECTOR, padding: 0, retryOnMiss: false });
  await photoTiny.warmUp();
  await kit.attempt(await firstFrame(clip), [VIDEO_DETECTOR, {}], 0);
  const rows = [
    await decodeCpu(clip, size, threads),
    await measurePerPhoto(
      kit,
      clip,
      size,
      threads,
      `per-photo analyze, photo default (MTCNN + border), first ${PER_PHOTO_FRAMES} frames`,
      PER_PHOTO_FRAMES,
    ),
    await measurePerPhoto(photoTiny, clip, size, threads, `per-photo analyze, ${VIDEO_DETECTOR} (baseline)`),
    await measureWatch(kit, clip, 1, 'watch, detect every frame', size, threads),
    await measureWatch(kit, clip, flags.every, `watch, detect every ${flags.every} + tracking`, size, threads),
    await measureLive(kit, clip, size, threads),
  ];
  await kit.dispose();
  await photoTiny.dispose();
  return rows;
}

interface Accuracy {
  video: string;
  expected: string;
  tracks: number;
  correctTracks: number;
  idSwitches: number;
}

/** Names expected per video (every confirmed track must carry one of them; null = unknown). */
const EXPECTED: Record<string, (string | null)[]> = {
  // The zoom's first frames show a third person's face cut by the right edge: a real stranger.
  panzoom: ['alice', null],
  walk: ['alice', null],
  cut: ['alice', 'bob'],
  occlusion: ['bob'],
};

async function accuracyPart(work: string): Promise<Accuracy[]> {
  const videos = await makeTestVideos(work);
  const kit = createFaceKit({ threads: 1 });
  const out: Accuracy[] = [];
  for (const name of Object.keys(EXPECTED)) {
    const list: WatchEvent[] = [];
    for await (const e of watch(videos[name as 'walk'], { kit, known: videos.known, updates: false })) list.push(e);
    const ended = list.filter((e): e is Extract<WatchEvent, { type: 'track-ended' }> => e.type === 'track-ended');
    // Only tracks over half a second count: a partial face at the frame edge for a few frames is not a person's track.
    const real = ended.filter((t) => t.duration >= 0.5);
    const expected = EXPECTED[name];
    const correct = real.filter((t) => expected.includes(t.name)).length;
    const switches =
      list.filter((e) => e.type === 'track-identified' && e.previous !== null).length +
      Math.max(0, real.length - expected.length);
    out.push({
      video: name,
      expected: expected.map((n) => n ?? 'unknown').join('+'),
      tracks: real.length,
      correctTracks: correct,
      idSwitches: switches,
    });
  }
  await kit.dispose();
  return out;
}

interface RssPoint {
  frame: number;
  rssMb: number;
}

async function rssPart(work: string, frames: number): Promise<RssPoint[]> {
  const clip = await makeLongClip(work, '320x240', frames);
  const kit = createFaceKit({ threads: 1 });
  const points: RssPoint[] = [];
  const step = Math.max(1, Math.floor(frames / 20));
  const stop = new AbortController();
  for await (const _ of watch(clip, {
    kit,
    every: flags.every,
    updates: false,
    signal: stop.signal,
    onFrame: (f) => {
      if (f.index >= frames - 1) stop.abort();
      if (f.index % step === 0 || f.index === frames - 1)
        points.push({ frame: f.index, rssMb: Math.round(process.memoryUsage().rss / 2 ** 20) });
    },
  }));
  await kit.dispose();
  return points;
}

function child(args: string[]): unknown {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/video.ts', ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`bench part ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
}

async function main(): Promise<void> {
  if (flags.part === 'speed') {
    process.stdout.write(`${JSON.stringify(await speedPart(flags.size, Number(flags.threads), flags.work))}\n`);
    return;
  }
  if (flags.part === 'accuracy') {
    process.stdout.write(`${JSON.stringify(await accuracyPart(flags.work))}\n`);
    return;
  }
  if (flags.part === 'rss') {
    process.stdout.write(`${JSON.stringify(await rssPart(flags.work, flags.rssFrames))}\n`);
    return;
  }
  const work = join(PROJECT_ROOT, 'bench', 'results', 'video-work');
  mkdirSync(work, { recursive: true });
  const rows: Row[] = [];
  for (const size of SIZES)
    for (const threads of String(flags.threads).split(',').map(Number)) {
      process.stderr.write(`speed ${size} ${threads} thread(s)…\n`);
      rows.push(
        ...(child([
          '--part',
          'speed',
          '--size',
          size,
          '--threads',
          String(threads),
          '--work',
          work,
          '--seconds',
          String(flags.seconds),
          '--every',
          String(flags.every),
        ]) as Row[]),
      );
    }
  process.stderr.write('accuracy…\n');
  const accuracy = child(['--part', 'accuracy', '--work', join(work, 'test-videos')]) as Accuracy[];
  if (!flags.noRss) process.stderr.write(`rss over ${flags.rssFrames} frames…\n`);
  const rss = flags.noRss
    ? []
    : (child([
        '--part',
        'rss',
        '--work',
        work,
        '--rss-frames',
        String(flags.rssFrames),
        '--every',
        String(flags.every),
      ]) as RssPoint[]);
  const speedTable = markdownTable(
    [
      'size',
      'threads',
      'mode',
      'frames',
      'detector ran',
      'wall fps',
      'CPU-ms/frame',
      'cpu fps',
      'wall ms/frame or latency p50',
      'p99',
      'dropped',
      'live: CPU-ms of one frame p99 / max',
    ],
    rows.map((r) => [
      r.size,
      r.threads,
      r.mode,
      r.frames,
      r.detections ?? '',
      r.fps,
      r.cpuMs,
      r.cpuFps,
      Number.isNaN(r.p50) ? '' : r.p50,
      Number.isNaN(r.p99) ? '' : r.p99,
      r.dropped ?? '',
      r.cpuP99 === undefined ? '' : `${r.cpuP99.toFixed(1)} / ${(r.cpuMax ?? 0).toFixed(1)}`,
    ]),
  );
  const accuracyTable = markdownTable(
    ['video', 'expected', 'tracks (≥ 0.5 s)', 'tracks named right', 'ID switches'],
    accuracy.map((a) => [a.video, a.expected, a.tracks, a.correctTracks, a.idSwitches]),
  );
  const rssLine = rss.map((p) => `${p.frame}:${p.rssMb}`).join(' ');
  process.stdout.write(
    `${speedTable}\n\n${accuracyTable}\n\nRSS MB by frame (320×240, every ${flags.every}): ${rssLine}\n`,
  );
  const file = writeResult('video', { flags, speed: rows, accuracy, rss });
  process.stdout.write(`\n${file}\n`);
}

await main();
