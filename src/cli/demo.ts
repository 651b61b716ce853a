import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import type { DetectorName } from '../entry/detect.js';
import { FaceKitError } from '../errors.js';
import { annotate, type FaceMark, loadImage } from '../entry/image.js';
import { DEFAULT_TOLERANCE, type FaceRef, groupPeople } from '../entry/match.js';
import type { AnalyzedFace, Image } from '../index.js';
import { DISTANCE_DECIMALS, printJson, printLine, round, roundBox, SCORE_DECIMALS, warn } from './output.js';
import { ensureModels } from '../entry/models.js';
import { batchKit, requiredModels } from './analyze.js';
import { prepareOutputFolder, uniqueName, writeNewFile } from '../util/output-folder.js';

export interface DemoCliOptions {
  out: string;
  model: DetectorName;
  json?: boolean;
  /** Replace files in --out that exist already (refused otherwise). */
  force?: boolean;
}

/** The six group photos @vladmandic/face-api ships in its demo folder: a real test set already on disk. */
const SAMPLE_COUNT = 6;

/** Person colours for the annotated photos: far apart in hue so neighbours never look alike. */
const PERSON_COLORS = [
  '#ff3b30',
  '#007aff',
  '#ffcc00',
  '#af52de',
  '#ff9500',
  '#5ac8fa',
  '#ff2d55',
  '#34c759',
  '#a2845e',
  '#5856d6',
];
/** Faces seen in only one photo. */
const LONE_COLOR = '#ffffff';

export function samplePhotos(): string[] {
  let dir: string;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');
  } catch (cause) {
    throw new FaceKitError(
      'FILE_NOT_FOUND',
      'the demo needs the photos of the @vladmandic/face-api package, which is not installed',
      { cause },
    );
  }
  const files = Array.from({ length: SAMPLE_COUNT }, (_, i) => join(dir, `sample${i + 1}.jpg`));
  const missing = files.find((f) => !existsSync(f));
  if (missing)
    throw new FaceKitError('FILE_NOT_FOUND', 'demo photo is missing from the installed @vladmandic/face-api package', {
      file: missing,
    });
  return files;
}

interface PhotoRun {
  file: string;
  image: Image;
  width: number;
  height: number;
  faces: AnalyzedFace[];
  decodeMs: number;
  analyzeMs: number;
}

export async function runDemo(opts: DemoCliOptions): Promise<number> {
  const json = opts.json === true;
  // Human output goes to stdout; with --json, stdout is the document alone.
  const say = json ? (m: string) => process.stderr.write(`${m}\n`) : printLine;
  const photos = samplePhotos();
  // Made before the models load and the photos are analysed: a bad --out fails at once, not after the work.
  await prepareOutputFolder(opts.out, "cannot write the demo's output");
  const outDir = resolve(opts.out);
  say(`facekit demo: ${photos.length} sample photos from @vladmandic/face-api, ${opts.model} detector`);

  const buildMs = await ensureModels(requiredModels({ detector: opts.model, stage: 'analyze' }), say, warn);
  if (buildMs > 0) say(`models built in ${(buildMs / 1000).toFixed(1)} s`);

  const kit = batchKit({ detector: opts.model, stage: 'analyze' }, 0);
  const runs: PhotoRun[] = [];
  let loadMs: number;
  try {
    const t0 = performance.now();
    await kit.warmUp();
    loadMs = performance.now() - t0;
    for (const file of photos) {
      const t1 = performance.now();
      const image = await loadImage(file);
      const t2 = performance.now();
      const faces = await kit.analyze(image);
      const t3 = performance.now();
      runs.push({
        file,
        image,
        width: image.width,
        height: image.height,
        faces,
        decodeMs: t2 - t1,
        analyzeMs: t3 - t2,
      });
    }
  } finally {
    await kit.dispose();
  }

  const { pairs, people } = groupPeople(
    runs.map((r) => r.faces),
    DEFAULT_TOLERANCE,
  );
  const personOf = new Map<string, number>();
  people.forEach((g, p) => g.forEach((r) => personOf.set(`${r.photo}:${r.face}`, p + 1)));
  const person = (r: FaceRef): number | null => personOf.get(`${r.photo}:${r.face}`) ?? null;
  const name = (r: FaceRef): string => `${basename(runs[r.photo].file)} #${r.face + 1}`;

  const written: string[] = [];
  const names = new Set<string>();
  for (const [photo, run] of runs.entries()) {
    const marks: FaceMark[] = run.faces.map((f, face) => {
      const p = person({ photo, face });
      return {
        box: f.box,
        landmarks: f.landmarks,
        label: p === null ? `#${face + 1}` : `#${face + 1} person ${p}`,
        color: p === null ? LONE_COLOR : PERSON_COLORS[(p - 1) % PERSON_COLORS.length],
      };
    });
    const target = join(outDir, uniqueName(basename(run.file), names));
    await writeNewFile(target, await annotate(run.image, marks), opts.force === true);
    written.push(target);
  }

  if (json) {
    printJson({
      model: opts.model,
      tolerance: DEFAULT_TOLERANCE,
      buildMs: Math.round(buildMs),
      loadMs: Math.round(loadMs),
      photos: runs.map((r, photo) => ({
        file: r.file,
        width: r.width,
        height: r.height,
        decodeMs: Math.round(r.decodeMs),
        analyzeMs: Math.round(r.analyzeMs),
        annotated: written[photo],
        faces: r.faces.map((f, face) => ({
          box: roundBox(f.box),
          score: round(f.score, SCORE_DECIMALS),
          person: person({ photo, face }),
        })),
      })),
      matches: pairs.map((m) => ({
        a: { file: runs[m.a.photo].file, face: m.a.face + 1 },
        b: { file: runs[m.b.photo].file, face: m.b.face + 1 },
        distance: round(m.distance, DISTANCE_DECIMALS),
        person: person(m.a) !== null && person(m.a) === person(m.b) ? person(m.a) : null,
      })),
      people: people.map((g, p) => ({
        person: p + 1,
        faces: g.map((r) => ({ file: runs[r.photo].file, face: r.face + 1 })),
      })),
      out: outDir,
    });
    return 0;
  }

  printLine(`models loaded in ${Math.round(loadMs)} ms\n`);
  const w = Math.max(...runs.map((r) => basename(r.file).length), 'photo'.length);
  printLine(`${'photo'.padEnd(w)}  ${'size'.padStart(9)}  faces  decode ms  analyze ms`);
  for (const r of runs) {
    printLine(
      `${basename(r.file).padEnd(w)}  ${`${r.width}×${r.height}`.padStart(9)}  ${String(r.faces.length).padStart(5)}  ${String(Math.round(r.decodeMs)).padStart(9)}  ${String(Math.round(r.analyzeMs)).padStart(10)}`,
    );
  }
  const total = runs.reduce((s, r) => s + r.analyzeMs, 0);
  const faceCount = runs.reduce((s, r) => s + r.faces.length, 0);
  printLine(
    `${'total'.padEnd(w)}  ${''.padStart(9)}  ${String(faceCount).padStart(5)}  ${''.padStart(9)}  ${String(Math.round(total)).padStart(10)}`,
  );

  printLine(`\nwho matches whom (faces in different photos, distance < ${DEFAULT_TOLERANCE}):`);
  if (pairs.length === 0) printLine('  nobody: every face is someone seen once');
  const nw = Math.max(0, ...pairs.flatMap((m) => [name(m.a).length, name(m.b).length]));
  for (const m of pairs) {
    const p = person(m.a);
    const tag =
      p !== null && p === person(m.b) ? `person ${p}` : '(not joined: would put two faces of one photo in one person)';
    printLine(`  ${name(m.a).padEnd(nw)}  ~  ${name(m.b).padEnd(nw)}  ${m.distance.toFixed(3)}  ${tag}`);
  }
  if (people.length > 0) {
    printLine('\npeople seen in more than one photo:');
    people.forEach((g, p) => printLine(`  person ${p + 1}: ${g.map(name).join(', ')}`));
  }
  printLine(`\nannotated photos (boxes, 68 landmarks, person labels) written to ${outDir}/`);
  return 0;
}
