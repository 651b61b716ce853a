import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { FaceKitError } from '../../src/errors.js';
import { createFaceKit, type FaceKit, openGallery, type WatchEvent, watch } from '../../src/index.js';
import { loadKnownFolder } from '../../src/video/known.js';
import { startViewer } from '../../src/video/viewer.js';
import { exportTuned } from '../../src/train/export.js';
import { stockTail } from '../../src/train/network.js';
import { VIDEO_DETECTOR, videoDetection, type WatchOptions } from '../../src/video/watch.js';
import { cliRunner } from '../helpers/cli.js';
import { isolatedCacheDir } from '../helpers/photos.js';
import { tempDir } from '../helpers/temp.js';
import { recordRtp, startRtspServer } from './rtsp-server.js';
import { makeTestVideos, type TestVideos, toTransportStream } from './videos.js';

const run = promisify(execFile);
const dir = tempDir('facekit-video-watch-');
const cacheDir = isolatedCacheDir();
let videos: TestVideos;
let kit: FaceKit;

type Ended = Extract<WatchEvent, { type: 'track-ended' }>;

async function events(source: string, options: Partial<WatchOptions> = {}): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  for await (const e of watch(source, { kit, known: videos.known, ...options })) out.push(e);
  return out;
}
const endedTracks = (list: WatchEvent[]): Ended[] => list.filter((e): e is Ended => e.type === 'track-ended');
const isCode = (code: string) => (e: unknown) => e instanceof FaceKitError && e.code === code;

before(async () => {
  videos = await makeTestVideos(dir);
  // A kit as a user makes it: no detector named, so watch runs its video default (VIDEO_DETECTOR,
  // one pass, no border) on the frames, and the known photos get the photo default.
  kit = createFaceKit({ threads: 1 });
});
after(() => kit.dispose());

describe('watch over the test videos (known people from a folder)', () => {
  it('pan and zoom: Alice is one track, named, seen nearly throughout', async () => {
    const alice = endedTracks(await events(videos.panzoom)).filter((t) => t.name === 'alice');
    assert.equal(alice.length, 1);
    assert.ok(alice[0].from <= 0.3 && alice[0].time >= 2.5, `span ${alice[0].from}–${alice[0].time}`);
  });
  it('walk-in: Alice enters and leaves, a stranger shows for two seconds and stays unknown', async () => {
    const frames: number[] = [];
    let jpeg: Buffer | undefined;
    const list = await events(videos.walk, {
      onFrame: async (f) => {
        frames.push(f.index);
        if (f.index === 20) jpeg = await f.jpeg();
      },
    });
    const tracks = endedTracks(list);
    assert.equal(tracks.length, 2);
    const alice = tracks.find((t) => t.name === 'alice');
    const stranger = tracks.find((t) => t.name === null);
    assert.ok(alice && stranger);
    assert.ok(
      alice.from >= 0.5 && alice.from <= 1.4 && alice.time >= 3 && alice.time <= 3.8,
      `alice ${alice.from}–${alice.time}`,
    );
    assert.ok(
      stranger.from >= 0.9 && stranger.from <= 1.3 && stranger.time >= 2.6 && stranger.time <= 3.1,
      `stranger ${stranger.from}–${stranger.time}`,
    );
    assert.deepEqual(frames, [...Array(40).keys()]);
    assert.equal(jpeg?.subarray(0, 2).toString('hex'), 'ffd8');
    const summary = list.at(-1);
    assert.equal(summary?.type, 'summary');
    if (summary?.type === 'summary') {
      assert.deepEqual(
        summary.people.map((p) => p.name),
        ['alice'],
      );
      assert.equal(summary.unknown.length, 1);
    }
    // Every identification names a started track.
    const started = new Set(list.flatMap((e) => (e.type === 'track-started' ? [e.track] : [])));
    for (const e of list) if (e.type === 'track-identified') assert.ok(started.has(e.track));
  });
  it('blurUnknown pixelates the stranger, not Alice', async () => {
    const distinct = new Map<string, number>();
    await events(videos.walk, {
      blurUnknown: true,
      onFrame: (f) => {
        if (f.index !== 20) return;
        for (const face of f.faces) {
          const colours = new Set<number>();
          const b = face.box;
          for (let y = Math.max(0, Math.ceil(b.y)); y < Math.min(f.image.height, b.y + b.height - 1); y++)
            for (let x = Math.max(0, Math.ceil(b.x)); x < Math.min(f.image.width, b.x + b.width - 1); x++) {
              const i = (y * f.image.width + x) * 3;
              colours.add((f.image.data[i] << 16) | (f.image.data[i + 1] << 8) | f.image.data[i + 2]);
            }
          distinct.set(face.name ?? 'unknown', colours.size);
        }
      },
    });
    // A mosaic of 8-px cells over a ~60-px face has at most ~10×10 colours (+ edge cells); a face has thousands.
    assert.ok((distinct.get('unknown') ?? Infinity) <= 150, `unknown: ${distinct.get('unknown')}`);
    assert.ok((distinct.get('alice') ?? 0) > 1000, `alice: ${distinct.get('alice')}`);
  });
  it('a cut ends the track: Alice before it, Bob after it, no track across', async () => {
    const tracks = endedTracks(await events(videos.cut));
    assert.deepEqual(
      tracks.map((t) => t.name),
      ['alice', 'bob'],
    );
    assert.ok(tracks[0].time < 2 && tracks[1].from >= 2, `${tracks[0].time} / ${tracks[1].from}`);
  });
  it('an occlusion does not split the track, with detection on every frame or every third', async () => {
    for (const every of [1, 3]) {
      const tracks = endedTracks(await events(videos.occlusion, { every }));
      assert.equal(tracks.length, 1, `every ${every}`);
      assert.equal(tracks[0].name, 'bob');
      assert.ok(tracks[0].from <= 0.2 && tracks[0].time >= 2.6);
    }
  });
  it('recognises against a gallery too', async () => {
    const known = await loadKnownFolder(kit, videos.known);
    const gallery = await openGallery({ path: join(dir, 'g.db') });
    try {
      for (const p of known.people)
        await gallery.enroll(
          p.name,
          p.descriptors.map((descriptor) => ({ descriptor })),
        );
      const tracks = endedTracks(await events(videos.cut, { known: undefined, gallery }));
      assert.deepEqual(
        tracks.map((t) => t.name),
        ['alice', 'bob'],
      );
    } finally {
      await gallery.close();
    }
  });
  it('saves unknown people in the gallery as a cluster run, to be named and enrolled afterwards', async () => {
    const known = await loadKnownFolder(kit, videos.known);
    const gallery = await openGallery({ path: join(dir, 'g3.db') });
    try {
      for (const p of known.people)
        await gallery.enroll(
          p.name,
          p.descriptors.map((descriptor) => ({ descriptor })),
        );
      const summary = (await events(videos.walk, { known: undefined, gallery, saveUnknown: true })).at(-1);
      assert.ok(summary?.type === 'summary' && summary.clusterRun !== null);
      assert.equal(summary.unknown.length, 1);
      const run = await gallery.clusterRun(summary.clusterRun);
      assert.deepEqual(
        run.faces.map((f) => f.cluster),
        [1],
      );
      assert.match(run.faces[0].sourceFile, /walk\.mp4#track-\d+@/);
      const outcome = await gallery.nameCluster(1, 'stranger', run.id);
      assert.equal(outcome.person.name, 'stranger');
      assert.equal(outcome.added.length, 1);
      assert.ok((await gallery.people()).some((p) => p.name === 'stranger'));
    } finally {
      await gallery.close();
    }
    await assert.rejects(events(videos.walk, { saveUnknown: true }), isCode('INVALID_ARGUMENT'));
  });
  it('refuses bad options and bad known folders', async () => {
    await assert.rejects(events(videos.cut, { every: 0 }), isCode('INVALID_ARGUMENT'));
    const gallery = await openGallery({ path: join(dir, 'g2.db') });
    await assert.rejects(events(videos.cut, { gallery }), isCode('INVALID_ARGUMENT'));
    await gallery.close();
    await assert.rejects(events(videos.cut, { known: join(dir, 'nobody') }), isCode('FILE_NOT_FOUND'));
    await assert.rejects(events(join(dir, 'missing.mp4')), isCode('FILE_NOT_FOUND'));
    // Detector and border are checked before ffmpeg starts: a missing file is not what is reported.
    await assert.rejects(events(join(dir, 'missing.mp4'), { detector: 'nope' as 'tiny' }), isCode('INVALID_ARGUMENT'));
    await assert.rejects(events(videos.cut, { padding: 2 }), isCode('INVALID_ARGUMENT'));
    // A gallery of one embedder's descriptors and a kit encoding another's do not mix.
    const other = await openGallery({ path: join(dir, 'g-other.db'), modelId: 'dlib128+other' });
    await assert.rejects(events(videos.cut, { gallery: other, known: undefined }), isCode('INVALID_ARGUMENT'));
    await other.close();
  });
  it('runs the video default detector unless the kit or the watch names one', () => {
    const plain = createFaceKit();
    const mtcnn = createFaceKit({ detector: 'mtcnn', mtcnn: { minFaceSize: 40 } });
    assert.deepEqual(videoDetection({ kit: plain }), {
      pass: [VIDEO_DETECTOR, { minConfidence: undefined, maxFaces: undefined, inputSize: 416 }],
      padding: 0,
    });
    assert.equal(videoDetection({ kit: plain, detectOptions: { inputSize: 320 } }).pass[1].inputSize, 320);
    assert.deepEqual(videoDetection({ kit: mtcnn }).pass, [
      'mtcnn',
      { minConfidence: undefined, maxFaces: undefined, mtcnn: { minFaceSize: 40 } },
    ]);
    assert.deepEqual(videoDetection({ kit: mtcnn, detector: 'cnn', padding: 0.1 }), {
      pass: ['mmod', { minConfidence: undefined, maxFaces: undefined, upsample: 1 }],
      padding: 0.1,
    });
  });
});

describe('a live stream that breaks (local HTTP server)', () => {
  it('ends the tracks at the break, reports the gap, resumes, and reports giving up', async () => {
    const bytes = readFileSync(await toTransportStream(videos.ffmpeg, videos.walk, join(dir, 'walk-live.ts')));
    let requests = 0;
    // Sent at the video's rate, as a camera would: a live source drops the frames it is given
    // faster than it takes them, and ffmpeg reads ~2 s of a transport stream before its first
    // frame (probing), which then come at once. 40 slices of the 4-s clip, one every 100 ms.
    const SLICES = 40;
    const paced = (res: ServerResponse, upTo: number): void => {
      res.writeHead(200, { 'content-type': 'video/mp2t' });
      let k = 0;
      const timer = setInterval(() => {
        if (k === upTo) {
          clearInterval(timer);
          if (upTo < SLICES) res.socket?.destroy();
          else res.end();
          return;
        }
        const at = (i: number): number => Math.round((bytes.length * i) / SLICES);
        res.write(bytes.subarray(at(k), at(k + 1)));
        k++;
      }, 100);
      res.on('close', () => clearInterval(timer));
    };
    const server = createServer((_req, res) => {
      requests++;
      // Alice is in view when the first connection drops, four fifths of the way in.
      if (requests === 1) paced(res, Math.round(SLICES * 0.8));
      else if (requests === 2) paced(res, SLICES);
      else res.writeHead(503).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cam.ts`;
      // Known people as descriptors: encoding the folder's photos after the stream opened would
      // let the first connection run out before the first frame is taken.
      const known = (await loadKnownFolder(kit, videos.known)).people;
      const list = await events(url, { known, reconnect: { attempts: 2, initialDelayMs: 20 } });
      const types = list.map((e) => e.type);
      const gaps = list.filter((e): e is Extract<WatchEvent, { type: 'source-gap' }> => e.type === 'source-gap');
      assert.deepEqual(
        gaps.map((g) => [g.resumed, g.attempts]),
        [
          [true, 1],
          [false, 2],
        ],
      );
      const firstGap = types.indexOf('source-gap');
      const before = list.slice(0, firstGap);
      assert.ok(
        before.some((e) => e.type === 'track-ended' && e.name === 'alice'),
        `alice's track ends at the break: ${types.join(' ')}`,
      );
      assert.ok(
        list.slice(firstGap + 1).some((e) => e.type === 'track-started'),
        'a new track after the stream resumed',
      );
      assert.equal(types.at(-1), 'summary');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('an RTSP camera (local RTSP server)', () => {
  it('names Alice over RTSP/TCP, and a camera that goes silent ends in a gap instead of a frozen watch', async () => {
    const clip = await recordRtp(videos.ffmpeg, videos.walk, dir);
    // Twice real time; the camera stops sending at 3.2 s of the clip (Alice in view) and keeps
    // the connection open; reopened, it answers 404.
    const server = await startRtspServer({
      clip,
      path: '/cam',
      speed: 2,
      plans: [{ play: 'silent', at: 3.2 }, { play: 'missing' }],
    });
    try {
      const known = (await loadKnownFolder(kit, videos.known)).people;
      const list = await events(server.url, {
        known,
        stallTimeoutMs: 1000,
        reconnect: { attempts: 1, initialDelayMs: 20 },
      });
      const types = list.map((e) => e.type);
      const opened = list[0];
      assert.equal(opened.type, 'source-opened');
      if (opened.type === 'source-opened') {
        assert.equal(opened.source.kind, 'stream');
        assert.deepEqual([opened.source.width, opened.source.height, opened.source.live], [320, 240, true]);
      }
      assert.ok(
        list.some((e) => e.type === 'track-identified' && e.name === 'alice'),
        `alice named: ${types.join(' ')}`,
      );
      const gaps = list.filter((e): e is Extract<WatchEvent, { type: 'source-gap' }> => e.type === 'source-gap');
      assert.deepEqual(
        gaps.map((g) => [g.resumed, g.attempts]),
        [[false, 1]],
      );
      assert.match(gaps[0].reason, /no frame for 1 s/);
      // Alice was in view when the camera went quiet: her track ends with the stream, before the gap.
      const gapAt = types.indexOf('source-gap');
      assert.ok(
        list.slice(0, gapAt).some((e) => e.type === 'track-ended' && e.name === 'alice'),
        `alice's track ends at the stall: ${types.join(' ')}`,
      );
      const summary = list.at(-1);
      assert.equal(summary?.type, 'summary');
      if (summary?.type === 'summary')
        assert.deepEqual(
          summary.people.map((p) => p.name),
          ['alice'],
        );
    } finally {
      await server.close();
    }
  });
});

describe('live viewer', () => {
  it('serves the page, the MJPEG stream and the events on loopback', async () => {
    const viewer = await startViewer(0);
    try {
      assert.match(viewer.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      viewer.publishEvent({ type: 'track-started', track: 1, time: 0.5 });
      const page = await fetch(viewer.url);
      assert.match(await page.text(), /stream\.mjpg/);
      const jpeg = Buffer.from([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);
      viewer.publishFrame(jpeg);
      const stream = await fetch(`${viewer.url}stream.mjpg`);
      assert.match(stream.headers.get('content-type') ?? '', /^multipart\/x-mixed-replace; boundary=/);
      const reader = stream.body?.getReader();
      const first = await reader?.read();
      assert.ok(Buffer.from(first?.value ?? []).includes(jpeg));
      await reader?.cancel();
      const sse = await fetch(`${viewer.url}events`);
      const sseReader = sse.body?.getReader();
      const replay = Buffer.from((await sseReader?.read())?.value ?? []).toString();
      assert.match(replay, /^data: \{"type":"track-started","track":1/);
      await sseReader?.cancel();
      assert.equal((await fetch(`${viewer.url}nope`)).status, 404);
    } finally {
      await viewer.close();
    }
    await assert.rejects(startViewer(70000), isCode('INVALID_ARGUMENT'));
  });
});

describe('facekit watch (CLI)', () => {
  const cli = cliRunner(process.cwd(), {});
  it('writes the annotated video with the audio kept, the events, and the timeline', async () => {
    const out = join(dir, 'out.mp4');
    const json = join(dir, 'events.jsonl');
    const r = await cli([
      'watch',
      videos.walk,
      '--known',
      videos.known,
      '--out',
      out,
      '--json',
      json,
      '--blur-unknown',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /alice: 2\.\d s/);
    assert.match(r.stdout, /unknown person 1:/);
    const lines = readFileSync(json, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as WatchEvent);
    assert.equal(lines[0].type, 'source-opened');
    assert.equal(lines.at(-1)?.type, 'summary');
    const probe = await run(videos.ffmpeg, ['-hide_banner', '-i', out]).catch((e: { stderr: string }) => e);
    assert.match(probe.stderr, /Video: h264/);
    assert.match(probe.stderr, /Audio: aac/);
    assert.match(probe.stderr, /Duration: 00:00:04\.0/);
  });
  it('fails clearly: missing source or camera, bad ffmpeg, both --db and --known, bad --every, --rtsp-transport, --stall-timeout', async () => {
    const missing = await cli(['watch', join(dir, 'none.mp4')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /none\.mp4: no such video file/);
    const ffmpeg = await cli(['watch', videos.walk, '--ffmpeg', join(dir, 'no-ffmpeg')]);
    assert.equal(ffmpeg.code, 1);
    assert.match(ffmpeg.stderr, /not an ffmpeg that runs/);
    const both = await cli(['watch', videos.walk, '--db', 'x.db', '--known', videos.known]);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /--db and --known/);
    const save = await cli(['watch', videos.walk, '--save-unknown']);
    assert.equal(save.code, 1);
    assert.match(save.stderr, /--save-unknown needs --db/);
    const every = await cli(['watch', videos.walk, '--every', '0']);
    assert.notEqual(every.code, 0);
    assert.match(every.stderr, /every/);
    const transport = await cli(['watch', 'rtsp://127.0.0.1:1/cam', '--rtsp-transport', 'http']);
    assert.notEqual(transport.code, 0);
    assert.match(transport.stderr, /--rtsp-transport[\s\S]*tcp, udp/);
    const stall = await cli(['watch', 'rtsp://127.0.0.1:1/cam', '--stall-timeout', '0']);
    assert.notEqual(stall.code, 0);
    assert.match(stall.stderr, /positive number/);
    const camera = await cli(['watch', '/dev/video97']);
    assert.equal(camera.code, 1);
    assert.match(camera.stderr, /\/dev\/video97: no such camera/);
    const help = await cli(['watch', '--help']);
    assert.match(help.stdout, /--model[\s\S]*default:\s+watch's\s+video\s+default,\s+'tiny'/);
    assert.match(help.stdout, /--embedder <name>/);
    const embedder = await cli(['watch', videos.walk, '--embedder', 'nobody']);
    assert.equal(embedder.code, 1);
    assert.match(embedder.stderr, /unknown embedder "nobody"/);
  });
  it('--embedder: an exported model encodes the tracks, and a gallery of another embedder is refused', async () => {
    // The stock last layer exported as a tuned embedder: a model facekit train could have saved,
    // under its own name and descriptor space, that names Alice as dlib128 does.
    await exportTuned('stocklayer', await stockTail(), {
      modelsDir: cacheDir,
      threshold: 0.6,
      training: { test: true },
    });
    const r = await cli(['watch', videos.walk, '--known', videos.known, '--embedder', 'stocklayer', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /alice: 2\.\d s/);
    const db = join(dir, 'stock.db');
    const gallery = await openGallery({ path: db });
    await gallery.enroll('carol', [{ descriptor: new Float32Array(128).fill(0.05) }]);
    await gallery.close();
    const mixed = await cli(['watch', videos.walk, '--db', db, '--embedder', 'stocklayer']);
    assert.equal(mixed.code, 1);
    assert.match(mixed.stderr, /holds dlib_resnet128 descriptors.*--embedder dlib128/);
  });
});
