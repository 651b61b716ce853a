import { invalidArgument } from '../errors.js';

/**
 * P × K batches: P people, K photos each, so every anchor has positives and negatives in its
 * batch for online mining. One epoch visits every person with two or more photos once, in a
 * seeded order; a person with fewer than K photos repeats some (the batch still holds K).
 */
export interface BatchShape {
  /** People per batch (P). */
  readonly people: number;
  /** Photos per person (K). */
  readonly photos: number;
}

/** Indices of each person's samples; labels are 0..people-1. */
export function groupByPerson(labels: ArrayLike<number>): number[][] {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const g = groups.get(labels[i]) ?? [];
    g.push(i);
    groups.set(labels[i], g);
  }
  return [...groups.keys()].sort((a, b) => a - b).map((k) => groups.get(k) as number[]);
}

function shuffle<T>(xs: T[], rnd: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** One epoch of batches (sample indices), from the seeded generator `rnd`. */
export function epochBatches(labels: ArrayLike<number>, shape: BatchShape, rnd: () => number): number[][] {
  if (!(Number.isInteger(shape.people) && shape.people >= 2))
    throw invalidArgument('people', `needs at least 2 people per batch, got ${shape.people}`);
  if (!(Number.isInteger(shape.photos) && shape.photos >= 2))
    throw invalidArgument('photos', `needs at least 2 photos per person, got ${shape.photos}`);
  const people = groupByPerson(labels).filter((g) => g.length >= 2);
  if (people.length < 2)
    throw invalidArgument('dataset', `needs 2 or more people with 2 or more photos each, got ${people.length}`);
  const order = shuffle([...people.keys()], rnd);
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += shape.people) {
    let chosen = order.slice(start, start + shape.people);
    // A last group of one person has no negatives: it joins people drawn from the rest.
    if (chosen.length < 2) chosen = [...chosen, ...shuffle(order.slice(0, start), rnd).slice(0, shape.people - 1)];
    const batch: number[] = [];
    for (const p of chosen) {
      const photos = shuffle([...people[p]], rnd);
      for (let k = 0; k < shape.photos; k++) batch.push(photos[k % photos.length]);
    }
    batches.push(batch);
  }
  return batches;
}
