/**
 * Detection on a padded copy of the photo. The three detectors were trained on photos where a face
 * sits inside the frame with background around it; a face that fills the frame and touches its
 * edges (ID photos, face thumbnails, tight crops) is missed: on 600 tightly cropped LFW faces the
 * tiny detector found no face in most of them (see bench/defaults.ts and the note of issue 17).
 * A uniform border around the photo gives the face the context the networks expect; boxes are
 * mapped back to the photo, clipped to it, and those lying wholly in the border are dropped before
 * `maxFaces` is applied, so a border artefact never takes a real face's place.
 */
import type { Box, Detection, Image, Point } from '../types.js';
import { checkMaxFaces, facesInImage, iom } from './nms.js';
import type { DetectOptions, FaceDetector } from './detector.js';
import type { DetectorName } from './registry.js';
import { invalidArgument } from '../errors.js';

/** Grey of the border: the mean of a natural photo, so the border adds no edge the networks read as a face's. */
const PAD_GREY = 128;

/** Largest border, as a fraction of the photo's longer side: beyond it the face only shrinks in the network's input. */
export const MAX_PADDING = 1;

export function checkPadding(padding: number): number {
  if (!(Number.isFinite(padding) && padding >= 0 && padding <= MAX_PADDING))
    throw invalidArgument(
      'padding',
      `must be a number from 0 to ${MAX_PADDING} (a fraction of the longer side), got ${padding}`,
    );
  return padding;
}

/** The border in pixels on each side for `padding` (a fraction of the longer side). */
export function borderPixels(image: Image, padding: number): number {
  return Math.round(Math.max(image.width, image.height) * padding);
}

/** `image` centred on a grey canvas `border` pixels wider on every side. */
export function padImage(image: Image, border: number): Image {
  if (border === 0) return image;
  const width = image.width + 2 * border;
  const height = image.height + 2 * border;
  const data = new Uint8Array(width * height * 3).fill(PAD_GREY);
  const rowBytes = image.width * 3;
  for (let y = 0; y < image.height; y++) {
    const from = y * rowBytes;
    data.set(image.data.subarray(from, from + rowBytes), ((y + border) * width + border) * 3);
  }
  return { width, height, data };
}

const shift = (p: Point, by: number): Point => ({ x: p.x - by, y: p.y - by });

/** Detections on the padded image, in pixels of the photo that was padded by `border`. */
export function unpadDetections(found: readonly Detection[], border: number): Detection[] {
  return found.map((d) => ({
    ...d,
    box: { x: d.box.x - border, y: d.box.y - border, width: d.box.width, height: d.box.height },
    ...(d.landmarks5 ? { landmarks5: d.landmarks5.map((p) => shift(p, border)) } : {}),
    ...(d.landmarkBox
      ? { landmarkBox: { ...d.landmarkBox, x: d.landmarkBox.x - border, y: d.landmarkBox.y - border } }
      : {}),
  }));
}

/** A box reaching (or crossing) the photo's edge, within a pixel: its face may go on beyond the frame. */
export function touchesEdge(box: Box, image: Image): boolean {
  return box.x <= 1 || box.y <= 1 || box.x + box.width >= image.width - 1 || box.y + box.height >= image.height - 1;
}

/** Overlap (over the smaller box) above which two boxes of the two passes are one face, or a part of it. */
const SAME_FACE = 0.5;

/**
 * One pass of `detector` over `image`, every detection tagged with the detector that found it.
 * With a border (`padding` × the longer side), the detector runs on the photo and on the bordered
 * copy, and the answers are merged: the plain pass's faces clear of the photo's edges; the
 * bordered pass's faces not overlapping one of those (faces cut by the frame, faces the plain
 * pass missed); the plain pass's edge faces the bordered pass did not find. Why both passes, not
 * the bordered one alone (the first version): in the wrong LFW pairs among its first 4,514, 8
 * photos had their central face missed by the bordered MTCNN pass (a small box inside the face,
 * or another face, answered instead) and found by the plain pass (bench:lfw-variants); why not
 * the plain one alone: faces that fill the frame (tight crops, ID
 * photos) and faces near the edges of group photos need the border (see DEFAULT_PADDING).
 */
export async function detectPadded(
  detector: FaceDetector,
  image: Image,
  options: DetectOptions,
  padding: number,
): Promise<Detection[]> {
  const border = borderPixels(image, padding);
  // The registry names every detector it makes: a FaceDetector's name is a DetectorName.
  const name = detector.name as DetectorName;
  const tag = (ds: readonly Detection[]): Detection[] => ds.map((d) => ({ ...d, detector: name }));
  if (border === 0) return tag(await detector.detect(image, options));
  const { maxFaces, ...rest } = options;
  const limit = maxFaces === undefined ? Number.POSITIVE_INFINITY : checkMaxFaces(maxFaces);
  const plain = await detector.detect(image, rest);
  const bordered = unpadDetections(await detector.detect(padImage(image, border), rest), border);
  const overlaps = (d: Detection, others: readonly Detection[]) => others.some((o) => iom(d.box, o.box) >= SAME_FACE);
  const clear = plain.filter((d) => !touchesEdge(d.box, image));
  const added = bordered.filter((b) => !overlaps(b, clear));
  const edge = plain.filter((d) => touchesEdge(d.box, image) && !overlaps(d, added));
  const merged = [...clear, ...added, ...edge].sort((a, b) => b.score - a.score);
  return tag(facesInImage(merged, image.width, image.height, limit));
}

/**
 * The kit's border when none is asked for, from bench/defaults.ts (MTCNN, 150 LFW photos and their
 * tight crops, shared 2-core machine): a tenth of the longer side took tight crops found from 84%
 * to 92% and recall on dlib's detection photos from 0.86 to 0.91; a quarter found fewer (90%).
 */
export const DEFAULT_PADDING = 0.1;
