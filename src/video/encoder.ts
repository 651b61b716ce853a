/**
 * The annotated video: JPEG frames piped into ffmpeg (its mjpeg demuxer at the source's frame
 * rate), encoded as H.264, with the source's audio mapped in from the original file (`-map 1:a?`:
 * none when it has none), so sound and timing stay as they were.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FaceKitError } from '../errors.js';
import { FFMPEG_DETACHED } from './ffmpeg.js';

export interface EncoderOptions {
  readonly ffmpegPath: string;
  readonly out: string;
  readonly fps: number;
  /** A file whose audio goes into the output (the source video); none for streams and cameras. */
  readonly audioFrom?: string;
}

/** ffmpeg's stderr kept for the error message. */
const STDERR_KEEP_CHARS = 8_000;

export class VideoEncoder {
  private stderr = '';
  private readonly exited: Promise<number | null>;
  private failed: Error | undefined;

  private constructor(
    private readonly proc: ChildProcess,
    private readonly out: string,
  ) {
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (t: string) => {
      this.stderr = (this.stderr + t).slice(-STDERR_KEEP_CHARS);
    });
    proc.stdin?.on('error', (cause) => {
      this.failed ??= cause;
    });
    this.exited = new Promise((done) => {
      proc.once('error', (cause) => {
        this.failed ??= cause;
        done(null);
      });
      proc.once('close', (code) => done(code));
    });
  }

  static async open(options: EncoderOptions): Promise<VideoEncoder> {
    const folder = dirname(resolve(options.out));
    try {
      if (!(await stat(folder)).isDirectory()) throw new Error('not a folder');
    } catch (cause) {
      throw new FaceKitError('FILE_UNWRITABLE', `its folder ${folder} does not exist`, {
        file: options.out,
        field: 'out',
        cause,
      });
    }
    const audio = options.audioFrom
      ? ['-i', options.audioFrom, '-map', '0:v', '-map', '1:a?', '-c:a', 'aac', '-shortest']
      : [];
    const args = [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'mjpeg',
      '-framerate',
      String(options.fps),
      '-i',
      'pipe:0',
      ...audio,
      // H.264 in 4:2:0 needs even sides.
      '-vf',
      'pad=ceil(iw/2)*2:ceil(ih/2)*2',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-pix_fmt',
      'yuv420p',
      options.out,
    ];
    return new VideoEncoder(
      spawn(options.ffmpegPath, args, { stdio: ['pipe', 'ignore', 'pipe'], detached: FFMPEG_DETACHED }),
      options.out,
    );
  }

  private error(): FaceKitError {
    const said = this.stderr.trim().split('\n').slice(-2).join(' | ') || this.failed?.message || 'ffmpeg stopped';
    return new FaceKitError('ENCODER_FAILED', `ffmpeg could not write it: ${said}`, {
      file: this.out,
      cause: this.failed,
    });
  }

  /** Writes one JPEG frame, waiting while ffmpeg's pipe is full. */
  async write(jpeg: Buffer): Promise<void> {
    const stdin = this.proc.stdin;
    if (this.failed || !stdin || stdin.destroyed) throw this.error();
    if (!stdin.write(jpeg)) {
      await new Promise<void>((done) => {
        const settle = (): void => {
          stdin.off('drain', settle);
          stdin.off('close', settle);
          done();
        };
        stdin.once('drain', settle);
        stdin.once('close', settle);
      });
      if (this.failed) throw this.error();
    }
  }

  /** Ends the input and waits for ffmpeg to finish the file. */
  async finish(): Promise<void> {
    this.proc.stdin?.end();
    const code = await this.exited;
    if (code !== 0) throw this.error();
  }

  /** Stops ffmpeg without finishing the file (after an error elsewhere). */
  abort(): void {
    this.proc.kill('SIGKILL');
  }
}
