/** Messages between the Live page and its inference worker (live-worker.ts). */
import type { Box } from 'facekit/browser';

export type LiveRequest =
  /**
   * Opens the kit and its models, with onnxruntime-web threads as asked (absent: the kit's default);
   * first, and once: onnxruntime fixes its thread count when its first session opens.
   */
  | { readonly id: number; readonly type: 'warm'; readonly threads?: number }
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
      /** 'warm': the threads onnxruntime-web runs with (1 where the page is not cross-origin isolated). */
      readonly threads?: number;
    }
  | { readonly id: number; readonly ok: false; readonly code?: string; readonly message: string };
