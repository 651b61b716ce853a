/** What one server instance accepts and how much work it takes on; every number can be set from the command line. */
import { availableParallelism } from 'node:os';
import type { DetectorName } from '../detect/registry.js';
import { invalidArgument } from '../errors.js';
import type { Precision } from '../models/registry.js';

export interface ServeLimits {
  /** Largest request body, multipart uploads included (bytes). */
  readonly maxBodyBytes: number;
  /** Largest photo, width × height, read from its header before it is decoded. */
  readonly maxPixels: number;
  /** Most faces analysed per photo (a request's maxFaces may only lower it). */
  readonly maxFaces: number;
  /** Most photos in one request (enrolment, clustering). */
  readonly maxImages: number;
  /** Time from a request's arrival to its answer; past it the answer is TIMEOUT (503). */
  readonly timeoutMs: number;
  /** Inference worker threads, one single-threaded pipeline each. */
  readonly workers: number;
  /** Photos waiting for a worker beyond those being analysed; one more is refused with BUSY (503). */
  readonly queue: number;
  /**
   * Longest a photo may expect to wait for a worker, as a share of one analysis (the running mean):
   * past it the photo is refused with BUSY even when the queue has room. It bounds an accepted
   * photo's latency under overload to about (1 + queueWait) analyses.
   */
  readonly queueWait: number;
  /** Milliseconds a refused photo's 503 is held before it is sent (0: at once); see InferencePool.refuse. */
  readonly refusalDelayMs: number;
}

/** A 24-megapixel phone photo as JPEG is 5-12 MB; base64 in JSON adds a third. */
export const DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024;
/** 40 MP: every phone camera, while a decoded photo (3 bytes a pixel) stays at 120 MB per worker. */
export const DEFAULT_MAX_PIXELS = 40_000_000;
export const DEFAULT_MAX_FACES = 20;
export const DEFAULT_MAX_IMAGES = 20;
export const DEFAULT_TIMEOUT_MS = 30_000;

export function defaultWorkers(): number {
  return availableParallelism();
}

/**
 * One waiting photo per worker: each worker finds its next photo ready when it answers one (no
 * idle gap), and an accepted photo waits for at most one analysis ahead of it, so under overload
 * its latency stays within about twice the unloaded one. Two per worker measured 2.4-3.2× the
 * unloaded p99 at 4× overload (bench:server); everything past the queue is answered 503 at once
 * and the client retries after Retry-After.
 */
export const QUEUE_PER_WORKER = 1;

/**
 * A photo is queued only when a worker should take it within half an analysis, so an accepted photo
 * answers within about 1.5 analyses under any load. A waiting photo is still there whenever a worker
 * frees up under overload (clients keep arriving), so no worker idles between photos; a plain
 * count-bounded queue let a queued photo wait a whole analysis and measured 2.45-3.8× the unloaded
 * p99 at 4× overload (bench:server).
 */
export const DEFAULT_QUEUE_WAIT = 0.5;

/**
 * Long enough that a client retrying at once sends a few photos a second, not thousands; short
 * next to the Retry-After (≥ 1 s) a well-behaved client waits anyway, and to a load balancer's
 * fail-over.
 */
export const DEFAULT_REFUSAL_DELAY_MS = 200;

export function defaultLimits(workers = defaultWorkers()): ServeLimits {
  return {
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    maxPixels: DEFAULT_MAX_PIXELS,
    maxFaces: DEFAULT_MAX_FACES,
    maxImages: DEFAULT_MAX_IMAGES,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    workers,
    queue: QUEUE_PER_WORKER * workers,
    queueWait: DEFAULT_QUEUE_WAIT,
    refusalDelayMs: DEFAULT_REFUSAL_DELAY_MS,
  };
}

/** Checks every limit is a positive integer (queue and refusalDelayMs may be 0; queueWait is any share ≥ 0). */
export function checkLimits(limits: ServeLimits): ServeLimits {
  for (const [field, value] of Object.entries(limits)) {
    if (field === 'queueWait') {
      if (!(typeof value === 'number' && Number.isFinite(value) && value >= 0))
        throw invalidArgument(field, `must be a number of at least 0 (a share of one analysis), got ${value}`);
      continue;
    }
    const floor = field === 'queue' || field === 'refusalDelayMs' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < floor)
      throw invalidArgument(field, `must be an integer of at least ${floor}, got ${value}`);
  }
  return limits;
}

/** The service's pipeline settings for a request that chooses none (the command line's or createService's). */
export function defaultRecognition(
  o: { readonly detector: DetectorName; readonly precision?: Precision; readonly minConfidence?: number },
  maxFaces: number,
): RecognitionOptions {
  return {
    detector: o.detector,
    precision: o.precision ?? 'fp32',
    minConfidence: o.minConfidence,
    maxFaces,
    // Recognition photos may hold no face: a miss is answered at once, not after six more passes.
    retryOnMiss: false,
  };
}

/** Pipeline settings a request may choose. */
export interface RecognitionOptions {
  readonly detector: DetectorName;
  readonly precision: Precision;
  readonly minConfidence?: number;
  readonly maxFaces: number;
  /**
   * After a miss, try the other detectors and sizes before answering "no face" (the kit's
   * retryOnMiss). Off for recognition, where a photo without faces would pay six passes; on
   * for enrolment, whose photos are known to hold a face and are often tight crops that the
   * tiny detector at 416 px misses.
   */
  readonly retryOnMiss: boolean;
}
