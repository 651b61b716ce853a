/** What the gallery commands share when they run: opening and closing, threshold warnings. */
import { embedderEntry } from '../entry/embed.js';
import { defaultGalleryPath, type Gallery, openGallery, type ThresholdInfo } from '../entry/gallery.js';
import type { DbCliOptions } from './gallery-options.js';

export type { DbCliOptions };
import { note, warn } from './output.js';

/**
 * Runs `fn` on the gallery named by --db (or the default), closing it whatever happens. `create`:
 * make the file if missing; false: it must exist; 'read': it must exist and is opened read-only, so
 * listing and searching work on read-only storage.
 */
export async function withGallery<T>(
  opts: DbCliOptions,
  create: boolean | 'read',
  fn: (g: Gallery) => Promise<T>,
): Promise<T> {
  const entry = opts.embedder === undefined ? undefined : embedderEntry(opts.embedder, '--embedder');
  const gallery = await openGallery({
    path: opts.db ?? defaultGalleryPath(),
    // A tuned embedder's descriptors live in their own space: the gallery must hold that one.
    modelId: entry?.modelId,
    matchThreshold: entry?.thresholds.match,
    create: create === true,
    readOnly: create === 'read',
    onNote: note,
  });
  try {
    return await fn(gallery);
  } finally {
    await gallery.close();
  }
}

/** Says on stderr when the threshold in use is not the one its user probably expects. */
export function warnAboutThreshold(t: ThresholdInfo, faces: number, command: string): void {
  if (t.source === 'builtin') {
    note(
      `the gallery is not calibrated: using the built-in calibration, threshold ${t.value.toFixed(3)} for a false-accept rate of ${t.far}${t.level === 'search' ? ` over the gallery's people` : ''} (facekit calibrate measures one on your own faces)`,
    );
  } else if (t.source === 'default') {
    warn(
      `the gallery is not calibrated: using the default tolerance ${t.value} (run facekit calibrate --far 0.001 for a threshold with a known false-accept rate)`,
    );
  } else if (t.source === 'calibration' && t.level === 'pair' && command === 'identify') {
    warn(
      `the calibration at FAR ${t.far} had too few probes for a search threshold: using its pair threshold, which accepts strangers more often than ${t.far} when searching many people`,
    );
  } else if (t.source === 'calibration' && t.calibration && faces > 2 * t.calibration.faces && command === 'identify') {
    warn(
      `the gallery has grown from ${t.calibration.faces} to ${faces} faces since it was calibrated: strangers are accepted more often now; run facekit calibrate again`,
    );
  }
}

/** The threshold as --json prints it (without the calibration's distance samples). */
export function thresholdJson(
  t: ThresholdInfo | { value: number; source: string; far: number | null; level?: string | null },
) {
  return { value: t.value, source: t.source, far: t.far, level: 'level' in t ? (t.level ?? null) : null };
}
