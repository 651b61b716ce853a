/** 1:1 verification: are two descriptors the same person, at which threshold, how sure. */
import { answerConfidence, type DistanceSample } from './calibrate.js';
import { checkDescriptorLike } from './check.js';
import { DEFAULT_TOLERANCE, euclideanDistance } from './distance.js';

/** The threshold a comparison uses, and the calibration (if any) its confidence comes from. */
export interface PairThreshold {
  readonly value: number;
  readonly source: 'option' | 'calibration' | 'builtin' | 'default';
  readonly far: number | null;
  readonly calibration: { readonly impostors: DistanceSample; readonly genuine: DistanceSample } | null;
}

export interface Verification {
  readonly same: boolean;
  readonly distance: number;
  readonly threshold: number;
  readonly thresholdSource: PairThreshold['source'];
  /** The calibration's target false-accept rate, when one set the threshold or the confidence. */
  readonly far: number | null;
  /** See answerConfidence in ./calibrate.ts; null without a calibration. */
  readonly confidence: number | null;
}

export const DEFAULT_PAIR_THRESHOLD: PairThreshold = {
  value: DEFAULT_TOLERANCE,
  source: 'default',
  far: null,
  calibration: null,
};

/** Same person when the distance is at most the threshold (as compareFaces decides). */
export function verifyDescriptors(
  a: Float32Array,
  b: Float32Array,
  threshold: PairThreshold = DEFAULT_PAIR_THRESHOLD,
): Verification {
  const distance = euclideanDistance(checkDescriptorLike(a, 'a'), checkDescriptorLike(b, 'b'));
  const same = distance <= threshold.value;
  const c = threshold.calibration;
  return {
    same,
    distance,
    threshold: threshold.value,
    thresholdSource: threshold.source,
    far: threshold.far,
    confidence: c ? answerConfidence(same, distance, c.impostors, c.genuine) : null,
  };
}
