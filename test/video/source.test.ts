import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { FaceKitError } from '../../src/errors.js';
import {
  compareBuilds,
  findFfmpeg,
  parseRtspTimeoutOption,
  parseVersion,
  rtspTimeoutOption,
} from '../../src/video/ffmpeg.js';
import { openSource, type SourceItem } from '../../src/video/source.js';
import { startViewer } from '../../src/video/viewer.js';
import { describeSource, inputArgs, maskPasswords, parseSource } from '../../src/video/source-spec.js';
import { tempDir } from '../helpers/temp.js';
import { type RtpClip, recordRtp, startRtspServer } from './rtsp-server.js';
import { FPS, HEIGHT, makeTestVideos, type TestVideos, toTransportStream, WIDTH } from './videos.js';

const run = promisify(execFile);
const dir = tempDir('facekit-video-source-');
let videos: TestVideos;

async function collect(items: AsyncGenerator<SourceItem>, slowMs = 0): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const item of items) {
    out.push(item);
    if (slowMs > 0) await new Promise((r) => setTimeout(r, slowMs));
  }
  return out;
}

const isCode = (code: string) => (e: unknown) => e instanceof FaceKitError && e.code === code;

before(async () => {
  videos = await makeTestVideos(dir);
});

describe('source strings and ffmpeg versions', () => {
  it('tells files, streams, cameras, sequences and stdin apart', () => {
    assert.deepEqual(parseSource('a.mp4'), { kind: 'file', path: 'a.mp4' });
    assert.deepEqual(parseSource('rtsp://cam/1'), { kind: 'stream', url: 'rtsp://cam/1' });
    assert.deepEqual(parseSource('https://x/live.m3u8'), { kind: 'stream', url: 'https://x/live.m3u8' });
    assert.deepEqual(parseSource('/dev/video0'), { kind: 'device', api: 'v4l2', device: '/dev/video0' });
    assert.deepEqual(parseSource('avfoundation:0'), { kind: 'device', api: 'avfoundation', device: '0' });
    assert.deepEqual(parseSource('dshow:video=Cam'), { kind: 'device', api: 'dshow', device: 'video=Cam' });
    assert.deepEqual(parseSource('f/%04d.png'), { kind: 'sequence', pattern: 'f/%04d.png' });
    assert.deepEqual(parseSource('-'), { kind: 'stdin' });
    assert.throws(() => parseSource(''), isCode('INVALID_ARGUMENT'));
    assert.throws(() => parseSource('dshow:'), isCode('INVALID_ARGUMENT'));
  });
  it('prefers the newer build: a 2024 release over the 2018 npm snapshot', () => {
    const npm = parseVersion(
      'ffmpeg version N-47683-g0e8eb07980-static https://x  Copyright (c) 2000-2018 the FFmpeg developers',
    );
    const system = parseVersion('ffmpeg version 5.1.6-0+deb12u1 Copyright (c) 2000-2024 the FFmpeg developers');
    assert.ok(npm && system);
    assert.deepEqual(system.release, [5, 1, 6]);
    assert.equal(npm.release, null);
    assert.ok(compareBuilds(system, npm) > 0);
    assert.ok(compareBuilds({ year: 2024, release: [6, 0, 0] }, { year: 2024, release: [5, 1, 6] }) > 0);
    assert.equal(parseVersion('not ffmpeg'), null);
  });
  it('finds an ffmpeg without any system one, and says which', async () => {
    const info = await findFfmpeg();
    assert.ok(info.path.length > 0);
    assert.ok(['npm', 'system'].includes(info.origin));
  });
  it('refuses an ffmpeg path that does not run (FFMPEG_NOT_FOUND)', async () => {
    await assert.rejects(findFfmpeg(join(dir, 'no-ffmpeg')), isCode('FFMPEG_NOT_FOUND'));
    await assert.rejects(openSource(videos.walk, { ffmpeg: join(dir, 'no-ffmpeg') }), isCode('FFMPEG_NOT_FOUND'));
  });
});

describe('file sources', () => {
  it('gives every frame of a file, at its size, rate and times, with audio noted', async () => {
    const src = await openSource(videos.walk);
    assert.equal(src.info.width, WIDTH);
    assert.equal(src.info.height, HEIGHT);
    assert.equal(src.info.fps, FPS);
    assert.equal(src.info.hasAudio, true);
    assert.equal(src.info.live, false);
    const frames = (await collect(src.items())).flatMap((i) => (i.type === 'frame' ? [i.frame] : []));
    assert.equal(frames.length, 40);
    assert.deepEqual(
      frames.map((f) => f.index),
      [...Array(40).keys()],
    );
    assert.equal(frames[15].time, 1.5);
    assert.equal(frames[0].image.data.length, WIDTH * HEIGHT * 3);
  });
  it('drops nothing when the consumer is slow (ffmpeg waits)', async () => {
    const src = await openSource(videos.panzoom);
    const items = await collect(src.items(), 15);
    assert.equal(items.length, 30);
    assert.equal(src.dropped, 0);
  });
  it('reads an image sequence at the given rate', async () => {
    await run(videos.ffmpeg, ['-loglevel', 'error', '-i', videos.cut, '-frames:v', '5', join(dir, 'seq%03d.png')]);
    const src = await openSource(join(dir, 'seq%03d.png'), { fps: 5 });
    const frames = (await collect(src.items())).flatMap((i) => (i.type === 'frame' ? [i.frame] : []));
    assert.equal(frames.length, 5);
    assert.equal(frames[4].time, 0.8);
  });
  it('reports a missing file, a file that is not a video, and a truncated one', async () => {
    await assert.rejects(openSource(join(dir, 'missing.mp4')), isCode('FILE_NOT_FOUND'));
    const junk = join(dir, 'junk.mp4');
    writeFileSync(junk, Buffer.from('this is not a video at all'.repeat(100)));
    await assert.rejects(openSource(junk), isCode('STREAM_CORRUPT'));
    const truncated = join(dir, 'truncated.mp4');
    writeFileSync(truncated, readFileSync(videos.panzoom).subarray(0, 3000));
    await assert.rejects(openSource(truncated), isCode('STREAM_CORRUPT'));
  });
});

describe('raw frames on stdin', () => {
  it('cuts the byte stream into frames and refuses a partial last frame', async () => {
    const input = new PassThrough();
    const src = await openSource('-', { width: 4, height: 2, stdin: input, live: false });
    const done = collect(src.items());
    input.write(Buffer.alloc(4 * 2 * 3 * 2, 7));
    input.end(Buffer.alloc(5));
    await assert.rejects(done, isCode('STREAM_CORRUPT'));
    const ok = new PassThrough();
    const whole = await openSource('-', { width: 4, height: 2, stdin: ok, live: false });
    ok.end(Buffer.alloc(4 * 2 * 3 * 3, 1));
    assert.equal((await collect(whole.items())).length, 3);
  });
  it('needs a frame size', async () => {
    await assert.rejects(openSource('-', { stdin: new PassThrough() }), isCode('INVALID_ARGUMENT'));
  });
});

describe('live HTTP stream', () => {
  let server: Server;
  let url: string;
  let requests = 0;
  before(async () => {
    const bytes = readFileSync(await toTransportStream(videos.ffmpeg, videos.walk, join(dir, 'walk.ts')));
    server = createServer((_req, res) => {
      requests++;
      if (requests === 1) {
        // The first connection breaks half-way through the stream.
        res.writeHead(200, { 'content-type': 'video/mp2t' });
        res.write(bytes.subarray(0, bytes.length >> 1), () => res.socket?.destroy());
      } else if (requests === 2) {
        res.writeHead(200, { 'content-type': 'video/mp2t' }).end(bytes);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/live.ts`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('reads a stream, reopens it when it breaks, reports the gaps, and gives up when it stays down', async () => {
    const src = await openSource(url, { reconnect: { attempts: 2, initialDelayMs: 20 } });
    assert.equal(src.info.live, true);
    const items = await collect(src.items());
    const gaps = items.flatMap((i) => (i.type === 'gap' ? [i.gap] : []));
    assert.deepEqual(
      gaps.map((g) => g.resumed),
      [true, false],
    );
    assert.equal(gaps[1].attempts, 2);
    const firstGap = items.findIndex((i) => i.type === 'gap');
    assert.ok(firstGap > 0, 'frames before the break');
    assert.ok(
      items.slice(firstGap + 1).some((i) => i.type === 'frame'),
      'frames after reconnecting',
    );
    assert.ok(gaps[0].to >= gaps[0].from);
    // Backoff: the two failed reopens waited 20 then 40 ms before giving up.
    assert.ok(gaps[1].to - gaps[1].from >= 0.06, `gave up after ${gaps[1].to - gaps[1].from} s`);
  });
  it('reads an HLS playlist and its segments over HTTP', async () => {
    const hls = join(dir, 'hls');
    mkdirSync(hls, { recursive: true });
    // One-second segments of the 4-s walk, as a packager writes them for a player.
    await run(videos.ffmpeg, [
      '-loglevel',
      'error',
      '-i',
      videos.walk,
      '-an',
      '-c:v',
      'mpeg2video',
      '-q:v',
      '4',
      '-f',
      'hls',
      '-hls_time',
      '1',
      '-hls_list_size',
      '0',
      join(hls, 'walk.m3u8'),
    ]);
    const asked: string[] = [];
    const files = createServer((req, res) => {
      asked.push(req.url ?? '');
      try {
        res.writeHead(200).end(readFileSync(join(hls, basename(req.url ?? ''))));
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (files.address() as AddressInfo).port;
      // Not live: a finished playlist is read whole (live, frames that come faster than taken are dropped).
      const src = await openSource(`http://127.0.0.1:${port}/walk.m3u8`, { live: false });
      assert.equal(src.info.width, WIDTH);
      assert.equal(src.info.height, HEIGHT);
      const frames = (await collect(src.items())).filter((i) => i.type === 'frame');
      assert.ok(frames.length >= 38 && frames.length <= 41, `${frames.length} frames`);
      assert.ok(asked.filter((u) => u.endsWith('.ts')).length >= 3, `segments asked: ${asked.join(' ')}`);
    } finally {
      await new Promise<void>((r) => files.close(() => r()));
    }
  });
  it('reads an MJPEG stream over HTTP (the live viewer serving frames)', async () => {
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    const viewer = await startViewer(0);
    const timer = setInterval(() => viewer.publishFrame(jpeg), 50);
    try {
      const src = await openSource(`${viewer.url}stream.mjpg`, { reconnect: { attempts: 1, initialDelayMs: 20 } });
      assert.equal(src.info.width, 64);
      assert.equal(src.info.height, 48);
      let frames = 0;
      for await (const item of src.items()) if (item.type === 'frame' && ++frames === 5) break;
      assert.equal(frames, 5);
    } finally {
      clearInterval(timer);
      await viewer.close();
    }
  });
  it('reports a stream that cannot be opened at all (SOURCE_UNOPENABLE)', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(openSource(`http://127.0.0.1:${port}/none.ts`), isCode('SOURCE_UNOPENABLE'));
  });
});

describe('live RTSP stream (local RTSP server)', () => {
  let clip: RtpClip;
  before(async () => {
    clip = await recordRtp(videos.ffmpeg, videos.walk, dir);
  });
  const framesOf = (items: SourceItem[]) => items.flatMap((i) => (i.type === 'frame' ? [i.frame] : []));
  const gapsOf = (items: SourceItem[]) => items.flatMap((i) => (i.type === 'gap' ? [i.gap] : []));

  it('reads a camera over RTSP/TCP, reopens it when the connection drops, reports the gaps, gives up on 404', async () => {
    // Twice real time: 2 s for the 4-s walk clip. The first session is cut at 2 s of the clip.
    const server = await startRtspServer({
      clip,
      path: '/cam',
      speed: 2,
      plans: [{ play: 'cut', at: 2 }, { play: 'whole' }, { play: 'missing' }],
    });
    try {
      const src = await openSource(server.url, { reconnect: { attempts: 2, initialDelayMs: 20 } });
      assert.deepEqual([src.info.width, src.info.height, src.info.fps, src.info.live], [WIDTH, HEIGHT, FPS, true]);
      const items = await collect(src.items());
      const gaps = gapsOf(items);
      assert.deepEqual(
        gaps.map((g) => [g.resumed, g.attempts]),
        [
          [true, 1],
          [false, 2],
        ],
      );
      const firstGap = items.findIndex((i) => i.type === 'gap');
      const cut = framesOf(items.slice(0, firstGap));
      const whole = framesOf(items.slice(firstGap + 1));
      // Cut at 2 s of a 10-fps clip: about 20 frames (the last ones in flight are lost with the connection).
      assert.ok(cut.length >= 12 && cut.length <= 21, `${cut.length} frames before the cut`);
      // The whole clip the second time: every frame taken or counted as dropped (live: never a
      // backlog; a frame's index counts the ones dropped before it).
      const counted = (whole.at(-1)?.index ?? 0) - (cut.at(-1)?.index ?? 0);
      assert.ok(counted >= 38 && counted <= 40, `${counted} frames counted, ${whole.length} taken`);
      assert.ok(whole.length >= 30, `${whole.length} frames taken`);
      assert.ok(whole.every((f) => f.image.data.length === WIDTH * HEIGHT * 3));
      // RTP came interleaved on the RTSP connection, as asked.
      assert.ok(server.requests.includes('SETUP RTP/AVP/TCP;unicast;interleaved=0-1'), server.requests.join(', '));
      assert.equal(server.requests.filter((r) => r === 'DESCRIBE').length, 4);
    } finally {
      await server.close();
    }
  });

  it('reopens a camera that keeps the connection open but sends nothing, with each ffmpeg build found', async () => {
    const builds = new Map<string, string>();
    const chosen = await findFfmpeg();
    builds.set(chosen.path, chosen.version);
    const npm = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string };
    const npmBuild = await findFfmpeg(npm.path).catch(() => null);
    if (npmBuild) builds.set(npmBuild.path, npmBuild.version);
    for (const [path, version] of builds) {
      const server = await startRtspServer({
        clip,
        path: '/cam',
        speed: 2,
        plans: [{ play: 'silent', at: 2 }, { play: 'missing' }],
      });
      try {
        const src = await openSource(server.url, {
          ffmpeg: path,
          stallTimeoutMs: 800,
          reconnect: { attempts: 1, initialDelayMs: 20 },
        });
        const started = performance.now();
        const items = await collect(src.items());
        const gaps = gapsOf(items);
        assert.equal(gaps.length, 1, `${version}: ${gaps.length} gaps`);
        assert.match(gaps[0].reason, /no frame for 0\.8 s/);
        assert.equal(gaps[0].resumed, false);
        assert.ok(framesOf(items).length >= 8, `${version}: frames before the silence`);
        // Silent after 1 s of wall time (2 s of the clip), then 0.8 s (~2 s; the bound is loose for a
        // loaded machine). The reason above says the watchdog ended it: without one, ffmpeg over TCP
        // waits for ever, or three of its socket timeouts with one.
        assert.ok(performance.now() - started < 8000, `${version}: ended after ${performance.now() - started} ms`);
        assert.equal(server.requests.filter((r) => r === 'DESCRIBE').length, 2, `${version}: reopened once`);
      } finally {
        await server.close();
      }
    }
  });

  it('reads RTP over UDP when asked (rtspTransport: udp)', async () => {
    const server = await startRtspServer({ clip, path: '/cam', speed: 4, plans: [{ play: 'whole' }] });
    try {
      const src = await openSource(server.url, { rtspTransport: 'udp' });
      let frames = 0;
      for await (const item of src.items()) {
        if (item.type === 'gap') break;
        frames++;
      }
      src.close();
      // Loopback loses no datagram: every frame taken or counted as dropped.
      assert.ok(frames + src.dropped >= 38, `${frames} + ${src.dropped} frames`);
      assert.ok(
        server.requests.some((r) => /^SETUP RTP\/AVP(\/UDP)?;unicast;client_port=\d+-\d+/.test(r)),
        server.requests.join(', '),
      );
    } finally {
      await server.close();
    }
  });

  it('reports a camera path the server does not know and a camera that refuses the connection, naming the URL', async () => {
    const server = await startRtspServer({ clip, path: '/cam', plans: [{ play: 'whole' }] });
    try {
      const wrong = server.url.replace(/cam$/, 'nope');
      await assert.rejects(
        openSource(wrong),
        (e) => isCode('SOURCE_UNOPENABLE')(e) && (e as FaceKitError).file === wrong && /404/.test((e as Error).message),
      );
    } finally {
      await server.close();
    }
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const url = `rtsp://admin:s3cret@127.0.0.1:${(closed.address() as AddressInfo).port}/cam`;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(openSource(url), (e) => {
      assert.ok(isCode('SOURCE_UNOPENABLE')(e), String(e));
      // Named, with the password masked, also in ffmpeg's quoted lines.
      assert.equal((e as FaceKitError).file, url.replace('s3cret', '***'));
      assert.doesNotMatch((e as Error).message, /s3cret/);
      return true;
    });
  });

  it('refuses a bad transport or stall timeout before ffmpeg runs', async () => {
    await assert.rejects(
      openSource('rtsp://127.0.0.1:1/cam', { rtspTransport: 'http' as 'tcp' }),
      (e) => isCode('INVALID_ARGUMENT')(e) && (e as FaceKitError).field === 'rtspTransport',
    );
    await assert.rejects(
      openSource('rtsp://127.0.0.1:1/cam', { stallTimeoutMs: 0 }),
      (e) => isCode('INVALID_ARGUMENT')(e) && (e as FaceKitError).field === 'stallTimeoutMs',
    );
  });
});

describe('ffmpeg input arguments', () => {
  const base = { rtspTransport: 'tcp' as const, socketTimeoutUs: 5_000_000, rtspTimeoutOption: '-timeout' as const };
  it('bounds RTSP socket waits with the option this build knows, and picks the transport', async () => {
    const rtsp = { kind: 'stream', url: 'rtsp://cam/1' } as const;
    assert.deepEqual(inputArgs(rtsp, base).slice(0, 4), ['-rtsp_transport', 'tcp', '-timeout', '5000000']);
    assert.deepEqual(inputArgs(rtsp, { ...base, rtspTransport: 'udp', rtspTimeoutOption: '-stimeout' }).slice(0, 4), [
      '-rtsp_transport',
      'udp',
      '-stimeout',
      '5000000',
    ]);
    assert.deepEqual(inputArgs(rtsp, { ...base, rtspTimeoutOption: null }).slice(0, 2), ['-rtsp_transport', 'tcp']);
    assert.deepEqual(inputArgs({ kind: 'stream', url: 'http://cam/a.ts' }, base).slice(0, 2), [
      '-rw_timeout',
      '5000000',
    ]);
    // ffmpeg 4 and earlier: -timeout is in seconds and makes ffmpeg wait as a server; -stimeout is the socket bound.
    const old = [
      '  -timeout           <int>        .D....... set maximum timeout (in seconds) to wait for incoming connections (-1 is infinite, imply flag listen) (deprecated, use listen_timeout) (from INT_MIN to INT_MAX) (default -1)',
      '  -stimeout          <int>        .D....... set timeout (in microseconds) of socket TCP I/O operations (from INT_MIN to INT_MAX) (default 0)',
    ].join('\n');
    assert.equal(parseRtspTimeoutOption(old), '-stimeout');
    const current =
      '  -timeout           <int64>      .D......... set timeout (in microseconds) of socket I/O operations (from INT_MIN to I64_MAX) (default 0)';
    assert.equal(parseRtspTimeoutOption(current), '-timeout');
    assert.equal(parseRtspTimeoutOption('Unknown format rtsp'), null);
    assert.notEqual(await rtspTimeoutOption(await findFfmpeg()), null);
  });
  it('asks a V4L2 camera for its rate and size, and names a camera that is not there', async () => {
    assert.deepEqual(
      inputArgs(
        { kind: 'device', api: 'v4l2', device: '/dev/video0' },
        { ...base, fps: 30, size: { width: 640, height: 480 } },
      ),
      ['-f', 'v4l2', '-framerate', '30', '-video_size', '640x480', '-i', '/dev/video0'],
    );
    assert.deepEqual(inputArgs({ kind: 'device', api: 'v4l2', device: '/dev/video0' }, base), [
      '-f',
      'v4l2',
      '-i',
      '/dev/video0',
    ]);
    const missing = '/dev/video97';
    await assert.rejects(
      openSource(missing),
      (e) =>
        isCode('FILE_NOT_FOUND')(e) &&
        (e as FaceKitError).file === missing &&
        /no such camera/.test((e as Error).message),
    );
    const notCamera = join(dir, 'video0');
    writeFileSync(notCamera, 'a plain file');
    await assert.rejects(
      openSource(`v4l2:${notCamera}`),
      (e) => isCode('SOURCE_UNOPENABLE')(e) && (e as FaceKitError).file === notCamera,
    );
  });
  it('masks a camera password wherever the source is shown', () => {
    assert.equal(maskPasswords('rtsp://admin:s3cr@t@cam:554/live'), 'rtsp://admin:***@cam:554/live');
    assert.equal(
      maskPasswords('[tcp @ 0x1] rtsp://u:p@cam/1: Connection refused'),
      '[tcp @ 0x1] rtsp://u:***@cam/1: Connection refused',
    );
    assert.equal(maskPasswords('rtsp://cam:554/live'), 'rtsp://cam:554/live');
    assert.equal(maskPasswords('rtsp://user@cam/live'), 'rtsp://user@cam/live');
    assert.equal(describeSource(parseSource('rtsp://a:b@cam/1')), 'rtsp://a:***@cam/1');
  });
});
