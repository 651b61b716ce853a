/**
 * Recognition by track, not by frame: each track collects a few descriptors of its best views,
 * each is matched against the known people once, and the track's name is a quality-weighted vote
 * over them. A track stays unknown until the vote is confident, and is relabelled when later
 * evidence outvotes its label.
 */
import type { Box, Gallery, IdentifyOptions } from '../index.js';
import { DEFAULT_TOLERANCE, euclideanDistance } from '../entry/match.js';

/** One descriptor's answer: the person within the threshold (null: nobody) and the distance. */
export interface MatchResult {
  readonly name: string | null;
  readonly distance: number;
  /** The open-set threshold it was decided with. */
  readonly threshold: number;
}

export interface Matcher {
  /** The open-set threshold in use, and where it came from (for the report). */
  readonly thresholdSource: string;
  identify(descriptors: readonly Float32Array[]): Promise<MatchResult[]>;
}

/** Matches against a gallery with its calibrated open-set (search) threshold, unless `options` sets one. */
export function galleryMatcher(gallery: Gallery, options: IdentifyOptions = {}): Matcher {
  return {
    thresholdSource: 'gallery (calibrated search threshold, else 0.6)',
    async identify(descriptors) {
      if (descriptors.length === 0) return [];
      const answers = await gallery.identify(descriptors, options);
      return answers.map((a) => ({ name: a.person, distance: a.distance, threshold: a.threshold }));
    },
  };
}

export interface KnownPerson {
  readonly name: string;
  readonly descriptors: readonly Float32Array[];
}

/** Matches against people given as descriptors: the closest person, if within `threshold` (default 0.6). */
export function knownMatcher(people: readonly KnownPerson[], threshold = DEFAULT_TOLERANCE): Matcher {
  return {
    thresholdSource: `known people (threshold ${threshold})`,
    async identify(descriptors) {
      return descriptors.map((d) => {
        let best: MatchResult = { name: null, distance: Number.POSITIVE_INFINITY, threshold };
        for (const p of people)
          for (const k of p.descriptors) {
            const distance = euclideanDistance(k, d);
            if (distance < best.distance) best = { name: p.name, distance, threshold };
          }
        return best.distance <= threshold ? best : { ...best, name: null };
      });
    },
  };
}

/** Descriptors a track keeps: its best views; more add time but hardly change a vote. */
export const SAMPLES_PER_TRACK = 8;
/** A view counts as better when its quality beats the track's best by this factor. */
const BETTER_VIEW = 1.15;
/** While a track's name is undecided it is sampled at most this often (seconds) for more votes. */
const UNDECIDED_RESAMPLE_SECONDS = 0.4;
/** Votes for a person before the name is given, unless one match alone is strong (below). */
const CONFIRM_VOTES = 2;
/** A single match this far inside the threshold (fraction of it) is confident on its own. */
const STRONG_MATCH_FRACTION = 0.8;
/** Unknown votes before a named track is relabelled unknown (evidence against, not mere absence). */
const UNKNOWN_VOTES = 3;

export interface Sample {
  readonly descriptor: Float32Array;
  /** The detection it was made from. */
  readonly box: Box;
  readonly score: number;
  readonly quality: number;
  readonly time: number;
  readonly match: MatchResult;
}

export interface Decision {
  readonly name: string | null;
  /** Best distance among the votes for the decided name (for unknown: to the nearest anyone). */
  readonly distance: number | null;
  readonly votes: number;
}

export class TrackIdentity {
  readonly samples: Sample[] = [];
  label: Decision = { name: null, distance: null, votes: 0 };
  /** Has the label ever been decided (a name, or unknown on evidence)? */
  decided = false;
  private lastSampleTime = Number.NEGATIVE_INFINITY;

  get bestQuality(): number {
    return this.samples.reduce((q, s) => Math.max(q, s.quality), 0);
  }

  /** Is a view of this quality at this time worth embedding? */
  wants(quality: number, time: number): boolean {
    if (quality > this.bestQuality * BETTER_VIEW) return true;
    return !this.decided && time - this.lastSampleTime >= UNDECIDED_RESAMPLE_SECONDS;
  }

  add(sample: Sample): void {
    this.lastSampleTime = sample.time;
    this.samples.push(sample);
    if (this.samples.length > SAMPLES_PER_TRACK) {
      let worst = 0;
      for (let i = 1; i < this.samples.length; i++)
        if (this.samples[i].quality < this.samples[worst].quality) worst = i;
      this.samples.splice(worst, 1);
    }
  }

  /** The best view (highest quality), for clustering and saving unknown tracks. */
  get bestSample(): Sample | undefined {
    let best: Sample | undefined;
    for (const s of this.samples) if (!best || s.quality > best.quality) best = s;
    return best;
  }

  /** Re-votes; returns the new label when it changed. */
  revote(): Decision | null {
    const weight = new Map<string | null, number>();
    const count = new Map<string | null, number>();
    const closest = new Map<string | null, number>();
    const strong = new Map<string | null, boolean>();
    let total = 0;
    for (const s of this.samples) {
      // A zero-quality view still votes a little: a track of tiny faces must be nameable.
      const w = Math.max(s.quality, 0.01);
      total += w;
      weight.set(s.match.name, (weight.get(s.match.name) ?? 0) + w);
      count.set(s.match.name, (count.get(s.match.name) ?? 0) + 1);
      closest.set(s.match.name, Math.min(closest.get(s.match.name) ?? Number.POSITIVE_INFINITY, s.match.distance));
      if (s.match.distance <= STRONG_MATCH_FRACTION * s.match.threshold) strong.set(s.match.name, true);
    }
    let winner: string | null = null;
    let winnerWeight = -1;
    for (const [name, w] of weight) if (w > winnerWeight) [winner, winnerWeight] = [name, w];
    if (winnerWeight <= total / 2) return null;
    const votes = count.get(winner) ?? 0;
    const distance = closest.get(winner) ?? null;
    const confident = winner === null ? votes >= UNKNOWN_VOTES : votes >= CONFIRM_VOTES || strong.get(winner) === true;
    if (!confident) return null;
    this.decided = true;
    const changed = winner !== this.label.name;
    this.label = { name: winner, distance, votes };
    return changed ? this.label : null;
  }
}
