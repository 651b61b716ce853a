import { faceDistance } from './distance.js';

export interface KnownFace {
  readonly name: string;
  readonly file: string;
  readonly descriptor: Float32Array;
}

export interface PersonDistance {
  readonly name: string;
  readonly distance: number;
}

/**
 * Known people ordered by their closest photo to `probe`: one entry per person, so three photos
 * of one person cannot crowd out the runner-up.
 */
export function rankPeople(known: readonly KnownFace[], probe: Float32Array): PersonDistance[] {
  const distances = faceDistance(
    known.map((k) => k.descriptor),
    probe,
  );
  const best = new Map<string, number>();
  known.forEach((k, i) => {
    const previous = best.get(k.name);
    if (previous === undefined || distances[i] < previous) best.set(k.name, distances[i]);
  });
  return [...best.entries()].map(([name, distance]) => ({ name, distance })).sort((a, b) => a.distance - b.distance);
}
