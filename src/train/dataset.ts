import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { FaceKitError, invalidArgument } from '../errors.js';
import { seeded } from './model.js';
import { SAMPLE_ROWS, type Samples } from './trainer.js';

/**
 * A training or evaluation set on disk: one folder per person, photos inside (any names; sub-
 * folders are walked). And the split by person that keeps validation people out of training.
 */

const PHOTO = new Set(['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff', '.gif', '.avif', '.heic']);

export interface PersonPhotos {
  readonly person: string;
  readonly files: readonly string[];
}

async function walk(dir: string, out: string[]): Promise<void> {
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, out);
    else if (entry.isFile() && PHOTO.has(extname(entry.name).toLowerCase())) out.push(path);
  }
}

/** The people of `dir` (its sub-folders) and their photos; FILE_NOT_FOUND / EMPTY_INPUT when there is nothing to learn from. */
export async function readDataset(dir: string, field = 'dataset_dir'): Promise<PersonPhotos[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory())
    throw new FaceKitError('FILE_NOT_FOUND', 'is not a folder (give a folder with one sub-folder per person)', {
      file: dir,
      field,
    });
  const people: PersonPhotos[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const files: string[] = [];
    await walk(join(dir, entry.name), files);
    if (files.length > 0) people.push({ person: entry.name, files });
  }
  if (people.length === 0)
    throw new FaceKitError(
      'EMPTY_INPUT',
      'holds no person folders with photos (expected <dataset_dir>/<person>/<photo>)',
      {
        file: dir,
        field,
      },
    );
  return people;
}

/** The samples whose label is in `people`, relabelled 0..k-1 in order (every per-photo array kept in step). */
export function subset(samples: Samples, people: ReadonlySet<number>): Samples {
  const map = new Map<number, number>();
  const kept: number[] = [];
  const labels: number[] = [];
  samples.labels.forEach((l, i) => {
    if (!people.has(l)) return;
    if (!map.has(l)) map.set(l, map.size);
    kept.push(i);
    labels.push(map.get(l) as number);
  });
  const out: Record<string, readonly Float32Array[]> = {};
  for (const name of SAMPLE_ROWS) {
    const rows = samples[name];
    if (rows) out[name] = kept.map((i) => rows[i]);
  }
  return { ...(out as { features: Float32Array[] }), labels: Int32Array.from(labels) };
}

/**
 * People with 2+ photos split into training and validation by person (seeded): `share` of them,
 * at least 2, validate. Needs 4 such people: 2 to train on, 2 to validate with.
 */
export function splitByPerson(samples: Samples, share: number, seed: number): { train: Samples; validation: Samples } {
  const counts = new Map<number, number>();
  for (const l of samples.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const usable = [...counts.keys()].filter((l) => (counts.get(l) ?? 0) >= 2).sort((a, b) => a - b);
  if (usable.length < 4)
    throw invalidArgument(
      'dataset_dir',
      `needs at least 4 people with 2 or more photos where a face is found (2 to train on, 2 to validate with); found ${usable.length}`,
    );
  const rnd = seeded(seed ^ 0x5eed);
  for (let i = usable.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [usable[i], usable[j]] = [usable[j], usable[i]];
  }
  const nVal = Math.min(usable.length - 2, Math.max(2, Math.round(usable.length * share)));
  return {
    validation: subset(samples, new Set(usable.slice(0, nVal))),
    train: subset(samples, new Set(usable.slice(nVal))),
  };
}
