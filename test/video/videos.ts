/**
 * Test videos made with the npm ffmpeg from face-api's demo photos, 320×240 at 10 fps, a few
 * seconds each, with what is known about them: who is in them and when.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { findFfmpeg } from '../../src/video/ffmpeg.js';
import { samplePath } from '../helpers/photos.js';

const run = promisify(execFile);

export const FPS = 10;
export const WIDTH = 320;
export const HEIGHT = 240;

interface Region {
  sample: number;
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Alice in sample3 (for the videos) and in sample1 (enrolled): two photos of one person, 0.41 apart. */
const ALICE_VIDEO: Region = { sample: 3, left: 867, top: 90, width: 600, height: 600 };
const ALICE_WIDE: Region = { sample: 3, left: 667, top: 15, width: 1000, height: 750 };
const ALICE_KNOWN: Region = { sample: 1, left: 1172, top: 0, width: 748, height: 700 };
/**
 * Bob, only in sample2: enrolled from another crop of the same photo. Known photos keep context
 * around the face: tiny's 416-px input misses a face that fills the photo.
 */
const BOB_VIDEO: Region = { sample: 2, left: 1120, top: 5, width: 800, height: 600 };
const BOB_KNOWN: Region = { sample: 2, left: 1050, top: 0, width: 870, height: 870 };
/** A stranger from sample4, never enrolled. */
const STRANGER: Region = { sample: 4, left: 526, top: 0, width: 450, height: 450 };

async function crop(region: Region, width: number, height: number, file: string): Promise<string> {
  await sharp(samplePath(region.sample))
    .extract({ left: region.left, top: region.top, width: region.width, height: region.height })
    .resize(width, height)
    .png()
    .toFile(file);
  return file;
}

export interface TestVideos {
  dir: string;
  ffmpeg: string;
  known: string;
  /** Alice panned and zoomed, 3 s. */
  panzoom: string;
  /** Alice walks across (left to right) over 4 s; a stranger shows from 1 to 3 s; a sine tone as audio. */
  walk: string;
  /** Alice for 2 s, cut to Bob for 2 s. */
  cut: string;
  /** Bob panned slowly, a black box over his face from 1.0 to 1.6 s, 3 s. */
  occlusion: string;
}

async function ffmpeg(bin: string, args: string[]): Promise<void> {
  await run(bin, ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

const H264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-r', String(FPS)];

/** `input` as an MPEG-2 transport stream without audio: what a camera's HTTP stream carries. */
export async function toTransportStream(bin: string, input: string, out: string): Promise<string> {
  await ffmpeg(bin, ['-i', input, '-an', '-c:v', 'mpeg2video', '-q:v', '4', '-f', 'mpegts', out]);
  return out;
}

export async function makeTestVideos(dir: string): Promise<TestVideos> {
  const bin = (await findFfmpeg()).path;
  const known = join(dir, 'known');
  mkdirSync(join(known, 'alice'), { recursive: true });
  await crop(ALICE_KNOWN, 400, 374, join(known, 'alice', 'a.jpg'));
  await crop(BOB_KNOWN, 360, 360, join(known, 'bob.jpg'));
  const alice = await crop(ALICE_VIDEO, 120, 120, join(dir, 'alice.png'));
  const aliceWide = await crop(ALICE_WIDE, 640, 480, join(dir, 'alice-wide.png'));
  const aliceStill = await crop(
    { ...ALICE_WIDE, left: 767, top: 90, width: 800, height: 600 },
    WIDTH,
    HEIGHT,
    join(dir, 'alice-still.png'),
  );
  const bob = await crop(BOB_VIDEO, 400, 300, join(dir, 'bob.png'));
  const bobStill = await crop(BOB_VIDEO, WIDTH, HEIGHT, join(dir, 'bob-still.png'));
  const stranger = await crop(STRANGER, 110, 110, join(dir, 'stranger.png'));

  const v: TestVideos = {
    dir,
    ffmpeg: bin,
    known,
    panzoom: join(dir, 'panzoom.mp4'),
    walk: join(dir, 'walk.mp4'),
    cut: join(dir, 'cut.mp4'),
    occlusion: join(dir, 'occlusion.mp4'),
  };
  await Promise.all([
    // Zoom from 1× to 1.3× over 3 s while the window drifts right and down.
    ffmpeg(bin, [
      '-loop',
      '1',
      '-i',
      aliceWide,
      '-t',
      '3',
      '-vf',
      `zoompan=z='1+0.01*on':x='iw/2-iw/zoom/2+on*2':y='ih/2-ih/zoom/2+on':d=1:s=${WIDTH}x${HEIGHT}:fps=${FPS}`,
      ...H264,
      v.panzoom,
    ]),
    ffmpeg(bin, [
      '-f',
      'lavfi',
      '-i',
      `color=c=gray:s=${WIDTH}x${HEIGHT}:r=${FPS}:d=4`,
      '-loop',
      '1',
      '-i',
      alice,
      '-loop',
      '1',
      '-i',
      stranger,
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:duration=4',
      '-filter_complex',
      "[0:v][1:v]overlay=x='-120+t*110':y=0:shortest=1[a];[a][2:v]overlay=x=60:y=125:enable='between(t,1,3)':shortest=1[v]",
      '-map',
      '[v]',
      '-map',
      '3:a',
      '-c:a',
      'aac',
      '-t',
      '4',
      ...H264,
      v.walk,
    ]),
    ffmpeg(bin, [
      '-loop',
      '1',
      '-t',
      '2',
      '-i',
      aliceStill,
      '-loop',
      '1',
      '-t',
      '2',
      '-i',
      bobStill,
      '-filter_complex',
      `[0:v]fps=${FPS}[a];[1:v]fps=${FPS}[b];[a][b]concat=n=2:v=1[v]`,
      '-map',
      '[v]',
      ...H264,
      v.cut,
    ]),
    ffmpeg(bin, [
      '-loop',
      '1',
      '-i',
      bob,
      '-t',
      '3',
      '-vf',
      `crop=${WIDTH}:${HEIGHT}:x='t*20':y=30,drawbox=x=100:y=40:w=170:h=150:color=black:t=fill:enable='between(t,1,1.6)'`,
      ...H264,
      v.occlusion,
    ]),
  ]);
  return v;
}
