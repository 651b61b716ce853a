/**
 * A photo archive bigger than LFW, for the large enrolment job of bench:cluster-scale (issue 15
 * asks for 100k photos; LFW has 13 233): each LFW photo once as it is and in `--variants - 1`
 * edited copies — mirrored, cropped three ways, scaled down and up, brightened, each re-encoded —
 * in the same person folders. Every copy is other bytes (a job's idempotency is by content, so a
 * byte-equal copy would be skipped as a duplicate) and still one face the detector has to find, so
 * the job does the full pipeline per photo, as on a real archive.
 *
 *   npm run bench:photo-archive -- [--data ../shared/data] [--out scratch/lfw-archive] [--variants 8]
 *
 * Writes `<out>/<person>/<photo>-v<k>.jpg`; a run over a folder that has the files skips them.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Region, Sharp } from 'sharp';
import { sharpLib } from '../src/image/sharp.js';
import { DEFAULT_DATA, PROJECT_ROOT, parseFlags } from './common.js';

type Edit = (image: Sharp, size: number) => Sharp;

/** Edits after the original (variant 0); sizes are of LFW's 250×250 photos but derived from `size`. */
const EDITS: readonly Edit[] = [
  (im) => im.flop(),
  (im, s) => im.extract(box(s, 0.9, 0.5, 0.5)),
  (im, s) => im.extract(box(s, 0.85, 0.4, 0.45)),
  (im, s) => im.extract(box(s, 0.85, 0.6, 0.55)),
  (im, s) => im.resize(Math.round(s * 0.8)),
  (im, s) => im.resize(Math.round(s * 1.3)),
  (im) => im.modulate({ brightness: 1.15 }),
];

/** A square crop of `fraction` of the side, centred at (cx, cy) as fractions of the side. */
function box(size: number, fraction: number, cx: number, cy: number): Region {
  const side = Math.round(size * fraction);
  const clamp = (c: number) => Math.min(size - side, Math.max(0, Math.round(c * size - side / 2)));
  return { left: clamp(cx), top: clamp(cy), width: side, height: side };
}

async function main(): Promise<void> {
  const flags = parseFlags({ data: DEFAULT_DATA, out: join(PROJECT_ROOT, 'scratch', 'lfw-archive'), variants: 8 });
  if (!Number.isInteger(flags.variants) || flags.variants < 1 || flags.variants > EDITS.length + 1)
    throw new Error(`--variants must be 1..${EDITS.length + 1}, got ${flags.variants}`);
  const sharp = sharpLib();
  const root = join(flags.data, 'lfw', 'images');
  const people = readdirSync(root).sort();
  let written = 0;
  let photos = 0;
  const t0 = performance.now();
  for (const person of people) {
    mkdirSync(join(flags.out, person), { recursive: true });
    for (const file of readdirSync(join(root, person)).sort()) {
      const src = join(root, person, file);
      const stem = file.replace(/\.jpg$/i, '');
      const target = (k: number) => join(flags.out, person, `${stem}-v${k}.jpg`);
      if (!existsSync(target(0))) copyFileSync(src, target(0));
      const size = (await sharp(src).metadata()).width ?? 250;
      await Promise.all(
        EDITS.slice(0, flags.variants - 1).map(async (edit, i) => {
          const out = target(i + 1);
          if (existsSync(out)) return;
          await edit(sharp(src), size).jpeg({ quality: 90 }).toFile(out);
          written++;
        }),
      );
      photos += flags.variants;
    }
    if (photos % 5000 < flags.variants)
      process.stderr.write(
        `${photos} photos (${written} written), ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
      );
  }
  console.log(`${photos} photos of ${people.length} people in ${flags.out} (${written} written now)`);
}

await main();
