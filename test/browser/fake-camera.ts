/**
 * A fake camera for Chromium (--use-file-for-fake-video-capture): a .y4m video made here from one
 * face of face-api's demo photos (an npm package), so the tests need no camera and no download.
 */
import { writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { faceApiSample } from '../helpers/faceapi-reference.js';

export const CAMERA_WIDTH = 640;
export const CAMERA_HEIGHT = 480;

/** One 640×480 RGB frame: the given region of a demo photo, scaled to fill the frame. */
export async function cameraFrame(
  sample: number,
  region: { left: number; top: number; width: number; height: number },
) {
  const { data } = await sharp(faceApiSample(sample))
    .extract(region)
    .resize(CAMERA_WIDTH, CAMERA_HEIGHT, { fit: 'contain', background: { r: 40, g: 40, b: 40 } })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return data;
}

/** RGB → Y'CbCr 4:2:0 (BT.601, full range as C420jpeg says), the layout .y4m frames hold. */
function yuv420(rgb: Uint8Array, width: number, height: number): Buffer {
  const y = Buffer.alloc(width * height);
  const u = Buffer.alloc((width / 2) * (height / 2));
  const v = Buffer.alloc((width / 2) * (height / 2));
  for (let i = 0; i < width * height; i++) {
    const r = rgb[i * 3];
    const g = rgb[i * 3 + 1];
    const b = rgb[i * 3 + 2];
    y[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  }
  for (let cy = 0; cy < height / 2; cy++)
    for (let cx = 0; cx < width / 2; cx++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [dx, dy] of [
        [0, 0],
        [1, 0],
        [0, 1],
        [1, 1],
      ]) {
        const p = ((cy * 2 + dy) * width + cx * 2 + dx) * 3;
        r += rgb[p] / 4;
        g += rgb[p + 1] / 4;
        b += rgb[p + 2] / 4;
      }
      const k = cy * (width / 2) + cx;
      u[k] = Math.max(0, Math.min(255, Math.round(128 - 0.168736 * r - 0.331264 * g + 0.5 * b)));
      v[k] = Math.max(0, Math.min(255, Math.round(128 + 0.5 * r - 0.418688 * g - 0.081312 * b)));
    }
  return Buffer.concat([y, u, v]);
}

/** Writes a .y4m of `frames` copies of each RGB frame (Chromium loops the file). */
export function writeY4m(path: string, rgbFrames: readonly Uint8Array[], frames = 25): void {
  const header = Buffer.from(`YUV4MPEG2 W${CAMERA_WIDTH} H${CAMERA_HEIGHT} F30:1 Ip A1:1 C420jpeg\n`);
  const parts: Buffer[] = [header];
  for (const rgb of rgbFrames) {
    const frame = yuv420(rgb, CAMERA_WIDTH, CAMERA_HEIGHT);
    for (let i = 0; i < frames; i++) parts.push(Buffer.from('FRAME\n'), frame);
  }
  writeFileSync(path, Buffer.concat(parts));
}
