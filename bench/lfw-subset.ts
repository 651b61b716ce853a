/** Evenly spaced LFW photos, for the benchmarks that sample LFW rather than walk all 13,233 photos. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Absolute paths of `limit` photos spread evenly over lfw/images in name order (all for limit <= 0). */
export function lfwSubset(lfwDir: string, limit: number): string[] {
  const all = readdirSync(join(lfwDir, 'images'))
    .sort()
    .flatMap((person) =>
      readdirSync(join(lfwDir, 'images', person))
        .sort()
        .map((f) => join(lfwDir, 'images', person, f)),
    );
  if (limit <= 0 || limit >= all.length) return all;
  const step = all.length / limit;
  return Array.from({ length: limit }, (_, i) => all[Math.floor(i * step)]);
}
