/** Drawing a frame's tracks (box, track id, name) with the image module's annotate(). */
import type { Box, Image } from '../index.js';
import { annotate, type FaceMark } from '../image/draw.js';
import { pixelate } from './blur.js';

export interface FrameFace {
  readonly track: number;
  readonly box: Box;
  /** The track's person, null while unknown. */
  readonly name: string | null;
  readonly distance: number | null;
}

const KNOWN_COLOR = '#00ff00';
const UNKNOWN_COLOR = '#ff8800';
/** Video frames are re-encoded by ffmpeg anyway; 85 keeps labels crisp at half the bytes of 95. */
export const FRAME_JPEG_QUALITY = 85;

export function frameMarks(faces: readonly FrameFace[]): FaceMark[] {
  return faces.map((f) => ({
    box: f.box,
    label: `#${f.track} ${f.name ?? 'unknown'}`,
    color: f.name === null ? UNKNOWN_COLOR : KNOWN_COLOR,
  }));
}

/** A copy of `image` with every unknown face pixelated. */
export function blurUnknownFaces(image: Image, faces: readonly FrameFace[]): Image {
  const copy: Image = { width: image.width, height: image.height, data: Uint8Array.from(image.data) };
  for (const f of faces) if (f.name === null) pixelate(copy, f.box);
  return copy;
}

export function drawFrame(image: Image, faces: readonly FrameFace[]): Promise<Buffer> {
  return annotate(image, frameMarks(faces), { format: 'jpeg', quality: FRAME_JPEG_QUALITY });
}
