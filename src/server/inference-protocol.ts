/** Messages between the service and its inference workers: plain, structured-clone data. */
import type { FaceKitErrorCode } from '../errors.js';
import type { RecognitionOptions } from './limits.js';
import type { FaceData } from './pipeline.js';

/** How far a photo goes: detection only, or landmarks and descriptors too. */
export type Task = 'detect' | 'analyze';

export interface PhotoJob {
  readonly task: Task;
  readonly bytes: Uint8Array;
  /** What errors call the photo: `image`, `images[2]`, `a`. */
  readonly name: string;
  readonly options: RecognitionOptions;
  readonly maxPixels: number;
  /** Also crop a JPEG thumbnail of each face (enrolment). */
  readonly thumbnails: boolean;
}

/** A face as the command line's pool hands it over, and its thumbnail when one was asked for. */
export interface PhotoFace extends FaceData {
  readonly thumbnail?: Uint8Array;
}

/** Milliseconds per pipeline stage, for the metrics. */
export type StageTimes = Partial<Record<'decode' | 'detect' | 'landmarks' | 'encode' | 'thumbnail', number>>;

export interface PhotoResult {
  readonly width: number;
  readonly height: number;
  readonly faces: PhotoFace[];
  readonly stages: StageTimes;
}

export interface JobError {
  readonly code: FaceKitErrorCode;
  readonly message: string;
  readonly field?: string;
}

export type ToWorker =
  | { readonly type: 'job'; readonly id: number; readonly job: PhotoJob }
  | { readonly type: 'close' };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'start-failed'; readonly error: JobError }
  | { readonly type: 'done'; readonly id: number; readonly result: PhotoResult }
  | { readonly type: 'failed'; readonly id: number; readonly error: JobError };

export interface WorkerSetup {
  /** The kit every worker opens before it says ready, so the first request pays no start-up. */
  readonly warm: RecognitionOptions;
  /**
   * The embedder every kit encodes with, by name: the built-in one or a tuned one `facekit train`
   * saved in the model cache (each worker thread finds and registers it there itself).
   */
  readonly embedder: string;
}
