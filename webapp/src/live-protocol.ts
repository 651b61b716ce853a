/** Messages between the Live page and its inference worker (live-worker.ts). */
import type { Box } from 'facekit/browser';

export type LiveRequest =
  /** Loads and opens the models. */
  | { readonly id: number; readonly type: 'warm' }
  /** Detects faces in a frame; the worker keeps the frame for a following 'describe'. */
  | { readonly id: number; readonly type: 'detect'; readonly frame: ImageBitmap }
  /** Landmarks and descriptors for these detections of the last detected frame. */
  | { readonly id: number; readonly type: 'describe'; readonly indices: readonly number[] };

export interface WireDetection {
  readonly box: Box;
  readonly score: number;
}

export type LiveReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly detections?: readonly WireDetection[];
      readonly descriptors?: readonly Float32Array[];
    }
  | { readonly id: number; readonly ok: false; readonly code?: string; readonly message: string };
