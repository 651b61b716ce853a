/**
 * Cuts a byte stream of raw rgb24 frames into frames and hands them out one at a time, with
 * back-pressure: a file's reader pauses the stream while QUEUED_FRAMES wait (ffmpeg then blocks on
 * its pipe, nothing is dropped); a live reader keeps reading and holds only the newest frame.
 */
import type { Readable } from 'node:stream';

/** Frames decoded ahead of the consumer for files: enough to hide ffmpeg's jitter, little memory (3 × 2.7 MB at 1280×720). */
export const QUEUED_FRAMES = 3;

export interface RawFrame {
  readonly data: Uint8Array;
  /** performance.now() when its last byte arrived: the start of the frame's latency. */
  readonly receivedAt: number;
}

export type ReadResult = { readonly frame: RawFrame } | { readonly end: true; readonly partialBytes: number };

export class FrameReader {
  private readonly queue: RawFrame[] = [];
  private current: Buffer;
  private filled = 0;
  private ended = false;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;
  /** Live frames replaced by a newer one before the consumer took them. */
  dropped = 0;

  constructor(
    private readonly stream: Readable,
    private readonly frameBytes: number,
    private readonly live: boolean,
  ) {
    this.current = Buffer.allocUnsafe(frameBytes);
    stream.on('data', (chunk: Buffer) => this.take(chunk));
    stream.on('end', () => this.finish());
    stream.on('close', () => this.finish());
    stream.on('error', (error: Error) => {
      this.failure ??= error;
      this.finish();
    });
  }

  private take(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(chunk.length - at, this.frameBytes - this.filled);
      chunk.copy(this.current, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === this.frameBytes) {
        this.push({ data: this.current, receivedAt: performance.now() });
        this.current = Buffer.allocUnsafe(this.frameBytes);
        this.filled = 0;
      }
    }
  }

  private push(frame: RawFrame): void {
    if (this.live && this.queue.length > 0) {
      this.dropped += this.queue.length;
      this.queue.length = 0;
    }
    this.queue.push(frame);
    if (!this.live && this.queue.length >= QUEUED_FRAMES) this.stream.pause();
    this.wake();
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The next frame, or the end (with the bytes of an incomplete last frame, which a healthy stream never leaves). */
  async read(): Promise<ReadResult> {
    for (;;) {
      const frame = this.queue.shift();
      if (frame) {
        if (!this.live && this.queue.length < QUEUED_FRAMES && this.stream.isPaused()) this.stream.resume();
        return { frame };
      }
      if (this.failure) throw this.failure;
      if (this.ended) return { end: true, partialBytes: this.filled };
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }
}
