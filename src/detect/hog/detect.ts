/**
 * dlib's frontal HOG face detector as face_recognition calls it (dlib's Python binding): upsample
 * the image `upsample` times with pyramid_up, detect, map each box back with rect_down.
 */
import type { Image } from '../../types.js';
import { FRONTAL_FACE_DETECTOR } from './frontal-face-weights.js';
import type { HogModel } from './model.js';
import { rectDown2 } from '../dlib-geometry.js';
import type { FilterEngine } from './filter-engine.js';
import { type HogDetection, scanImage } from './scan.js';

export interface HogSettings {
  /** Times the image is doubled before detection (face_recognition's number_of_times_to_upsample). */
  readonly upsample: number;
  /** Added to every filter's threshold (dlib's adjust_threshold): lower finds more, and more false faces. */
  readonly adjustThreshold: number;
}

/** Detections in pixels of `image`, best first (dlib's order). */
export function detectFacesHog(
  image: Image,
  settings: HogSettings,
  model: HogModel = FRONTAL_FACE_DETECTOR,
  engine?: FilterEngine,
): HogDetection[] {
  const found = scanImage(model, image, settings.adjustThreshold, engine, settings.upsample);
  if (settings.upsample === 0) return found;
  return found.map((d) => ({ ...d, rect: rectDown2(d.rect, settings.upsample) }));
}
