/**
 * The LFW photos bench/train.ts needs, as cached pooled features (src/train/features.ts): every
 * photo named in pairs.txt first, then up to --per-person photos of each person with two or more
 * (the training pool). Same detection as bench/lfw-faces.ts: tiny with the retry chain and a
 * low-score rescue, the face nearest the centre. Features are cached by content hash, so an
 * interrupted run resumes and every row of the benchmark reuses them.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createFaceKit } from '../src/pipeline/kit.js';
import { FeatureCache, type FaceChooser, fileFeatures, type RecordLayout } from '../src/train/features.js';
import { FeatureNetwork } from '../src/train/network.js';
import { DEFAULT_DATA } from './common.js';
import { centralFace } from './lfw-faces.js';
import { readPairs } from './lfw-protocol.js';

export const LFW_FEATURE_SETTINGS = 'lfw:tiny+retry+rescue0.1:central';
export const DEFAULT_FEATURE_CACHE = '/work/notes/train-cache';
/** The records the last-stage and flip rows read: both views, each with the last block's input. */
export const STAGE_FLIP_LAYOUT: RecordLayout = { stage: true, flip: true };

export const lfwChooser: FaceChooser = (detections, image) =>
  centralFace(detections, image, true) ?? centralFace(detections, image, false);

/** Photos (relative to lfw/) in the order they are encoded: pair photos, then the training pool. */
export function lfwPhotos(lfwDir: string, perPerson: number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (p: string) => {
    if (!seen.has(p)) {
      seen.add(p);
      out.push(p);
    }
  };
  for (const pair of readPairs(lfwDir)) {
    add(join('images', pair.a));
    add(join('images', pair.b));
  }
  const imagesDir = join(lfwDir, 'images');
  for (const person of readdirSync(imagesDir).sort()) {
    const files = readdirSync(join(imagesDir, person))
      .filter((f) => f.endsWith('.jpg'))
      .sort();
    if (files.length < 2) continue;
    for (const f of files.slice(0, perPerson)) add(`images/${person}/${f}`);
  }
  return out;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const lfwDir = join(flag('data', DEFAULT_DATA), 'lfw');
  const photos = lfwPhotos(lfwDir, Number(flag('per-person', '10')));
  // --stage: records with the mirrored view and the last block's input (the last-stage and flip rows).
  const stage = args.includes('--stage');
  const cache = new FeatureCache(
    flag('cache', DEFAULT_FEATURE_CACHE),
    LFW_FEATURE_SETTINGS,
    stage ? STAGE_FLIP_LAYOUT : undefined,
  );
  const kit = createFaceKit({ detector: 'tiny', threads: Number(flag('threads', '2')), rescueMinConfidence: 0.1 });
  const network = await FeatureNetwork.open({ threads: Number(flag('threads', '2')) }, { stage });
  const t0 = performance.now();
  try {
    await fileFeatures(
      photos.map((p) => join(lfwDir, p)),
      {
        kit,
        network,
        cache,
        choose: lfwChooser,
        onPhoto: (done, total) => {
          if (done % 250 === 0)
            process.stderr.write(`${done}/${total} ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
        },
      },
    );
  } finally {
    await kit.dispose();
    await network.dispose();
  }
}

if (process.argv[1]?.endsWith('train-features.ts')) await main();
