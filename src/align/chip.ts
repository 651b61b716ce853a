import { FaceKitError } from '../errors.js';
import { downscaleRegion } from '../image/ops.js';
import { warpAffine } from '../image/warp.js';
import type { Image, Point } from '../types.js';
import { affineScale, applyAffine, fitSimilarity, type Affine } from './similarity.js';
import type { ChipTemplate } from './templates.js';

/** An aligned face: float RGB (0..255, NHWC) ready for an embedder, and how it was cut. */
export interface Chip {
  readonly size: number;
  readonly data: Float32Array;
  /** Maps chip pixel (u, v) to the source image point it was sampled from. */
  readonly chipToImage: Affine;
}

/** Similarity transform chip → image that puts the template's points onto the face's landmarks. */
export function chipTransform(landmarks: readonly Point[], template: ChipTemplate): Affine {
  const maxIndex = Math.max(...template.pointIndices);
  if (landmarks.length <= maxIndex) {
    throw new FaceKitError(
      'INVALID_ARGUMENT',
      `the chip template needs landmark ${maxIndex}, got ${landmarks.length} points`,
      { field: 'landmarks' },
    );
  }
  return fitSimilarity(
    template.targets,
    template.pointIndices.map((i) => landmarks[i]),
  );
}

/** Cuts the aligned chip of one face; writes into `out` at `outOffset` when given (for batching). */
export function extractChip(
  image: Image,
  landmarks: readonly Point[],
  template: ChipTemplate,
  out?: Float32Array,
  outOffset = 0,
): Chip {
  const chipToImage = chipTransform(landmarks, template);
  return { size: template.size, chipToImage, data: warpChip(image, chipToImage, template.size, out, outOffset) };
}

/** Samples `size`×`size` chip pixels through `chipToImage`, anti-aliased when the face is large. */
export function warpChip(
  image: Image,
  chipToImage: Affine,
  size: number,
  out?: Float32Array,
  outOffset = 0,
): Float32Array {
  // From 1.5 source pixels per chip pixel on, bilinear sampling skips pixels and aliases: the face
  // is first box-filtered down by the nearest integer factor (dlib does the same with a pyramid).
  const k = Math.round(affineScale(chipToImage));
  if (k < 2) return warpAffine(image, chipToImage, size, size, out, outOffset);
  // Bounding box of the chip in the source, downscaled by k; the map is re-expressed in the small image.
  const corners = [
    applyAffine(chipToImage, { x: 0, y: 0 }),
    applyAffine(chipToImage, { x: size, y: 0 }),
    applyAffine(chipToImage, { x: 0, y: size }),
    applyAffine(chipToImage, { x: size, y: size }),
  ];
  const x0 = Math.floor(Math.min(...corners.map((p) => p.x))) - k;
  const y0 = Math.floor(Math.min(...corners.map((p) => p.y))) - k;
  const x1 = Math.ceil(Math.max(...corners.map((p) => p.x))) + k;
  const y1 = Math.ceil(Math.max(...corners.map((p) => p.y))) + k;
  const small = downscaleRegion(image, x0, y0, Math.ceil((x1 - x0) / k), Math.ceil((y1 - y0) / k), k);
  // Small pixel (i, j) is centred on source x0 + i·k + (k − 1)/2.
  const shift = (k - 1) / 2;
  const m = chipToImage;
  const inSmall: Affine = [m[0] / k, m[1] / k, (m[2] - x0 - shift) / k, m[3] / k, m[4] / k, (m[5] - y0 - shift) / k];
  return warpAffine(small, inSmall, size, size, out, outOffset);
}
