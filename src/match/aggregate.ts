/**
 * From the k nearest faces to one answer per person. A gallery holds several faces per person;
 * how their distances combine decides who wins:
 * - 'best': the person's closest face (1-NN; what face_recognition does).
 * - 'mean': the mean of the person's closest `meanOf` faces among the k found: one lucky
 *   look-alike photo counts less, a person photographed consistently counts more.
 * - 'vote': the person with most faces within the threshold among the k nearest; ties go to the
 *   closer face. The distance reported is the person's closest.
 */
import { invalidArgument } from '../errors.js';

export const AGGREGATIONS = ['best', 'mean', 'vote'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];
/** Neighbours looked at: enough for a runner-up and for votes among people with a few photos each. */
export const DEFAULT_K = 10;
/** Faces averaged by 'mean': three photos of a person already outvote one look-alike. */
export const DEFAULT_MEAN_OF = 3;

export interface Candidate {
  readonly person: number;
  readonly faceId: number;
  readonly distance: number;
}

export interface PersonScore {
  readonly person: number;
  /** The aggregated distance (closest face for 'best' and 'vote'). */
  readonly distance: number;
  /** Nearest face of this person among the candidates. */
  readonly faceId: number;
  readonly closest: number;
  /** Candidates of this person within the threshold. */
  readonly votes: number;
  /** Candidates of this person among the k. */
  readonly found: number;
}

export function checkAggregation(value: unknown, field = 'aggregate'): Aggregation {
  if ((AGGREGATIONS as readonly unknown[]).includes(value)) return value as Aggregation;
  throw invalidArgument(
    field,
    `unknown aggregation "${String(value)}" (use ${AGGREGATIONS.map((a) => `'${a}'`).join(', ')})`,
  );
}

/** People ranked best first from candidates sorted nearest first. */
export function aggregate(
  candidates: readonly Candidate[],
  mode: Aggregation,
  threshold: number,
  meanOf = DEFAULT_MEAN_OF,
): PersonScore[] {
  if (!Number.isInteger(meanOf) || meanOf < 1)
    throw invalidArgument('meanOf', `must be a positive integer, got ${meanOf}`);
  const by = new Map<number, Candidate[]>();
  for (const c of candidates) {
    const list = by.get(c.person) ?? [];
    list.push(c);
    by.set(c.person, list);
  }
  const scores: PersonScore[] = [...by.entries()].map(([person, list]) => {
    const sorted = [...list].sort((a, b) => a.distance - b.distance);
    const top = sorted.slice(0, meanOf);
    const closest = sorted[0].distance;
    const distance = mode === 'mean' ? top.reduce((s, c) => s + c.distance, 0) / top.length : closest;
    return {
      person,
      distance,
      closest,
      faceId: sorted[0].faceId,
      votes: sorted.filter((c) => c.distance <= threshold).length,
      found: sorted.length,
    };
  });
  if (mode === 'vote') return scores.sort((a, b) => b.votes - a.votes || a.closest - b.closest);
  return scores.sort((a, b) => a.distance - b.distance || a.closest - b.closest);
}
