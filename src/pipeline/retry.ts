import type { DetectOptions } from '../detect/detector.js';
import { DETECTOR_NAMES, DETECTORS, type DetectorName, detectorEntry } from '../detect/registry.js';

/**
 * One detection pass: which detector, with which options. Kept a plain pair (callers remap chains
 * with `[name, { ...o, minConfidence }]`); detectionAttempts gives each pass only its own knobs.
 */
export type Attempt = readonly [DetectorName, DetectOptions];

/**
 * The passes a `retryOnMiss` kit makes, in order: the configured detector first with its own knobs,
 * then every registered detector's retry passes in DETECTORS' order (tiny at four sizes, SSD,
 * MTCNN), skipping the one equal to the first. Exported so the LFW benchmark walks the same chain.
 */
export function detectionAttempts(detector: DetectorName, options: DetectOptions): Attempt[] {
  // Each pass carries only its detector's knobs: a tiny size in SSD's options would only mislead a reader of the chain.
  const { inputSize: _inputSize, mtcnn: _mtcnn, upsample: _upsample, ...common } = options;
  const own = detectorEntry(detector).ownOptions(options);
  const first: Attempt = [detector, { ...common, ...own }];
  const sameAsFirst = (name: DetectorName, pass: DetectOptions): boolean =>
    name === detector && Object.entries(pass).every(([key, value]) => (own as Record<string, unknown>)[key] === value);
  const retries = DETECTOR_NAMES.flatMap((name) =>
    DETECTORS[name].retryPasses
      .filter((pass) => !sameAsFirst(name, pass))
      .map((pass): Attempt => [name, { ...common, ...pass }]),
  );
  return [first, ...retries];
}
