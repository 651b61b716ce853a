import { shrinkImage } from '../image/shrink.js';
import type { Detection, Image, Point } from '../types.js';
import { DETECT_MAX_PIXELS } from './limits.js';

// The budget itself lives in limits.ts (no sharp), so MTCNN reads it in the browser too.
export { DETECT_MAX_PIXELS } from './limits.js';

/** What one detection pass reads: the photo itself, or its shrunk copy and the way back. */
export interface DetectionView {
  readonly image: Image;
  /** Photo pixels per copy pixel (1: the photo itself). */
  readonly scale: number;
  readonly original: Image;
}

/** The photo, or a copy within DETECT_MAX_PIXELS with the same aspect ratio. */
export async function detectionView(image: Image, maxPixels = DETECT_MAX_PIXELS): Promise<DetectionView> {
  const pixels = image.width * image.height;
  if (pixels <= maxPixels) return { image, scale: 1, original: image };
  const shrink = Math.sqrt(maxPixels / pixels);
  const width = Math.max(1, Math.floor(image.width * shrink));
  const height = Math.max(1, Math.floor(image.height * shrink));
  const copy = await shrinkImage(image, width, height);
  // The two axes round differently; the mean keeps boxes centred to within half a copy pixel.
  const scale = (image.width / width + image.height / height) / 2;
  return { image: copy, scale, original: image };
}

/** Detections in copy pixels as detections in the photo's pixels, clipped to the photo. */
export function toOriginal(found: readonly Detection[], view: DetectionView): Detection[] {
  if (view.scale === 1) return [...found];
  const { scale: s, original } = view;
  const point = (p: Point): Point => ({ x: p.x * s, y: p.y * s });
  return found.map((d) => {
    const x = Math.min(original.width, Math.max(0, d.box.x * s));
    const y = Math.min(original.height, Math.max(0, d.box.y * s));
    const right = Math.min(original.width, (d.box.x + d.box.width) * s);
    const bottom = Math.min(original.height, (d.box.y + d.box.height) * s);
    const box = { x, y, width: Math.max(0, right - x), height: Math.max(0, bottom - y) };
    const mapped: Detection =
      d.landmarks5 === undefined ? { ...d, box } : { ...d, box, landmarks5: d.landmarks5.map(point) };
    if (d.landmarkBox === undefined) return mapped;
    const b = d.landmarkBox;
    return { ...mapped, landmarkBox: { x: b.x * s, y: b.y * s, width: b.width * s, height: b.height * s } };
  });
}
