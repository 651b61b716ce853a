/**
 * dlib's own HOG detector timed on a photo in the same benchmark run, through the development tool
 * tools/dlib-export/hog_reference (face_recognition's path: pyramid_up, then the detector). Absent
 * when the tool is not built (`make -C tools/dlib-export`; needs Debian's libdlib-dev).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Image } from '../src/types.js';
import { PROJECT_ROOT } from './common.js';

export const DLIB_HOG_TOOL = join(PROJECT_ROOT, 'tools', 'dlib-export', 'hog_reference');

export interface DlibHogRun {
  /** Median ms of `repeat` calls. */
  readonly ms: number;
  readonly faces: number;
}

/** dlib's time and face count at upsample 0 and 1, or undefined without the tool. */
export async function dlibHogTimes(image: Image, repeat: number): Promise<[DlibHogRun, DlibHogRun] | undefined> {
  if (!existsSync(DLIB_HOG_TOOL)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'facekit-dlib-hog-'));
  try {
    const png = join(dir, 'photo.png');
    await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .png()
      .toFile(png);
    const out = execFileSync(DLIB_HOG_TOOL, ['detect', '--repeat', String(repeat), `photo=${png}`], {
      maxBuffer: 1 << 24,
    });
    const [photo] = (JSON.parse(out.toString()) as { images: Record<string, { ms: number; detections: unknown[] }>[] })
      .images;
    const run = (key: string): DlibHogRun => {
      const r = photo?.[key] as { ms: number; detections: unknown[] };
      return { ms: r.ms, faces: r.detections.length };
    };
    return [run('upsample0'), run('upsample1')];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
