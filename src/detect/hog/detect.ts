/**
 * dlib's frontal HOG face detector as face_recognition calls it (dlib's Python binding): upsample
 * the image `upsample` times with pyramid_up, detect, map each box back with rect_down.
 */
import type { Image } from '../../types.js';
import { FRONTAL_FACE_DETECTOR } from './frontal-face-weights.js';
import type { HogModel } from './model.js';
import { pointDown2X, pointDown2Y, pyramidUp2, roundEdge } from './pyramid.js';
import { type DlibRect, type HogDetection, scanImage } from './scan.js';

export interface HogSettings {
  /** Times the image is doubled before detection (face_recognition's number_of_times_to_upsample). */
  readonly upsample: number;
  /** Added to every filter's threshold (dlib's adjust_threshold): lower finds more, and more false faces. */
  readonly adjustThreshold: number;
}

function down(v: number, times: number, step: (x: number) => number): number {
  let x = v;
  for (let i = 0; i < times; i++) x = step(x);
  return roundEdge(x);
}

/** Detections in pixels of `image`, best first (dlib's order). */
export function detectFacesHog(
  image: Image,
  settings: HogSettings,
  model: HogModel = FRONTAL_FACE_DETECTOR,
): HogDetection[] {
  let scanned = image;
  for (let i = 0; i < settings.upsample; i++) scanned = pyramidUp2(scanned);
  const found = scanImage(model, scanned, settings.adjustThreshold);
  if (settings.upsample === 0) return found;
  return found.map((d) => {
    const rect: DlibRect = {
      left: down(d.rect.left, settings.upsample, pointDown2X),
      top: down(d.rect.top, settings.upsample, pointDown2Y),
      right: down(d.rect.right, settings.upsample, pointDown2X),
      bottom: down(d.rect.bottom, settings.upsample, pointDown2Y),
    };
    return { ...d, rect };
  });
}
