import { FaceKitError } from '../errors.js';
import { applyAffine, type Affine } from '../image/warp.js';
import type { Point } from '../types.js';

export { applyAffine, type Affine };

/**
 * Least-squares similarity transform (rotation, uniform scale, translation; no shear, no
 * reflection) taking `from[i]` onto `to[i]`. Closed form: with both point sets centred,
 * a = Σ(p·q) / Σ|p|², b = Σ(p×q) / Σ|p|², and the map is [a −b; b a]·p + t.
 */
export function fitSimilarity(from: readonly Point[], to: readonly Point[]): Affine {
  if (from.length !== to.length || from.length < 2) {
    throw new FaceKitError(
      'INVALID_ARGUMENT',
      `a similarity fit needs >= 2 point pairs, got ${from.length} and ${to.length}`,
      { field: 'points' },
    );
  }
  const n = from.length;
  let fx = 0,
    fy = 0,
    tx = 0,
    ty = 0;
  for (let i = 0; i < n; i++) {
    fx += from[i].x;
    fy += from[i].y;
    tx += to[i].x;
    ty += to[i].y;
  }
  fx /= n;
  fy /= n;
  tx /= n;
  ty /= n;
  let dot = 0,
    cross = 0,
    norm = 0;
  for (let i = 0; i < n; i++) {
    const px = from[i].x - fx,
      py = from[i].y - fy;
    const qx = to[i].x - tx,
      qy = to[i].y - ty;
    dot += px * qx + py * qy;
    cross += px * qy - py * qx;
    norm += px * px + py * py;
  }
  if (!(norm > 0) || !Number.isFinite(dot + cross)) {
    throw new FaceKitError(
      'INVALID_ARGUMENT',
      'points for the similarity fit are degenerate (all equal or not finite)',
      { field: 'points' },
    );
  }
  const a = dot / norm;
  const b = cross / norm;
  return [a, -b, tx - (a * fx - b * fy), b, a, ty - (b * fx + a * fy)];
}

/** Source pixels per output pixel of a similarity map (its uniform scale). */
export function affineScale(m: Affine): number {
  return Math.sqrt(Math.abs(m[0] * m[4] - m[1] * m[3]));
}
