/** Messages between the Live page and its inference worker (live-worker.ts). */
import type { Box, WebExecutionProviderChoice, WebRuntimeInfo } from 'facekit/browser';

export type LiveRequest =
  /**
   * Opens the kit and its models on the execution provider and with the onnxruntime-web threads
   * asked (absent: the kit's defaults); first, and once: onnxruntime fixes its thread count when
   * its first session opens.
   */
  | {
      readonly id: number;
      readonly type: 'warm';
      readonly executionProvider: WebExecutionProviderChoice;
      readonly threads?: number;
    }
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
      /** 'warm': what the models run on (the provider, the threads: 1 where the page is not cross-origin isolated). */
      readonly runtime?: WebRuntimeInfo;
    }
  | { readonly id: number; readonly ok: false; readonly code?: string; readonly message: string };
