/**
 * One watch run with its outputs: the annotated video (ffmpeg), the events as JSON lines, and the
 * live viewer. What the CLI runs; usable from code as well.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { FaceKitError } from '../errors.js';
import { VideoEncoder } from './encoder.js';
import { findFfmpeg } from './ffmpeg.js';
import { startViewer, type Viewer } from './viewer.js';
import { type AnnotatedFrame, type WatchEvent, type WatchOptions, watch } from './watch.js';

export interface SessionOptions extends Omit<WatchOptions, 'onFrame'> {
  /** Annotated video to write (any container ffmpeg knows by extension; .mp4 recommended). */
  readonly out?: string;
  /** Events as JSON lines. */
  readonly json?: string;
  /** Port for the live viewer on 127.0.0.1 (0: any free port). */
  readonly serve?: number;
  readonly onEvent?: (event: WatchEvent) => void;
  readonly onFrame?: (frame: AnnotatedFrame) => void;
  /** Called once the viewer listens, with its address. */
  readonly onServe?: (url: string) => void;
}

export type Summary = Extract<WatchEvent, { type: 'summary' }>;

async function openJsonLines(path: string): Promise<WriteStream> {
  const stream = createWriteStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (cause: NodeJS.ErrnoException) =>
      reject(
        new FaceKitError('FILE_UNWRITABLE', `cannot be written (${cause.code ?? cause.message})`, {
          file: path,
          field: 'json',
          cause,
        }),
      ),
    );
  });
  return stream;
}

export async function runWatchSession(source: string, options: SessionOptions): Promise<Summary | null> {
  const json = options.json ? await openJsonLines(options.json) : undefined;
  let viewer: Viewer | undefined;
  let encoder: VideoEncoder | undefined;
  let summary: Summary | null = null;
  let ok = false;
  try {
    if (options.serve !== undefined) {
      viewer = await startViewer(options.serve);
      options.onServe?.(viewer.url);
    }
    const drawing = options.out !== undefined || viewer !== undefined;
    let opened: Extract<WatchEvent, { type: 'source-opened' }> | undefined;
    let written = -1;
    const onFrame = async (frame: AnnotatedFrame): Promise<void> => {
      options.onFrame?.(frame);
      if (!drawing) return;
      const jpeg = await frame.jpeg();
      viewer?.publishFrame(jpeg);
      if (options.out !== undefined && opened) {
        encoder ??= await VideoEncoder.open({
          ffmpegPath: opened.source.ffmpegPath ?? (await findFfmpeg(options.ffmpeg)).path,
          out: options.out,
          fps: opened.source.fps,
          audioFrom: opened.source.kind === 'file' && opened.source.hasAudio ? opened.source.description : undefined,
        });
        // A live frame dropped as stale is filled with the newest annotated one, so the output
        // keeps the stream's timing (files never skip: one write a frame).
        const copies = written < 0 ? 1 : Math.max(1, frame.index - written);
        for (let i = 0; i < copies; i++) await encoder.write(jpeg);
        written = frame.index;
      }
    };
    for await (const event of watch(source, { ...options, onFrame })) {
      if (event.type === 'source-opened') opened = event;
      if (event.type === 'summary') summary = event;
      json?.write(`${JSON.stringify(event)}\n`);
      viewer?.publishEvent(event);
      options.onEvent?.(event);
    }
    await encoder?.finish();
    ok = true;
    return summary;
  } finally {
    if (!ok) encoder?.abort();
    await viewer?.close();
    if (json) await new Promise<void>((done) => json.end(() => done()));
  }
}
