/**
 * SORT-style multi-face tracker: each track is a constant-velocity Kalman filter on its box;
 * detections are matched to the predicted boxes by least-cost assignment on 1 − IoU; detections
 * left over are compared by appearance (descriptor distance) with tracks that lost their face, so
 * a face that comes back after an occlusion keeps its track; the rest start tentative tracks.
 */
import type { Box } from '../index.js';
import { euclideanDistance } from '../entry/match.js';
import { assignWithin, iou } from './assignment.js';
import { BoxKalman } from './kalman.js';

export interface TrackerOptions {
  /** Detections in a row before a track counts (is reported); default 2. */
  readonly minHits?: number;
  /** Seconds without a matching detection before a track ends; default 1.5. */
  readonly maxAgeSeconds?: number;
  /** Least IoU between a predicted box and a detection to be the same face; default 0.3. */
  readonly minIou?: number;
  /** Largest descriptor distance at which a lost track takes a new detection back; default 0.5. */
  readonly rejoinDistance?: number;
}

export const TRACKER_DEFAULTS: Required<TrackerOptions> = {
  minHits: 2,
  maxAgeSeconds: 1.5,
  minIou: 0.3,
  // Below dlib's 0.6 same-person threshold: a wrong re-join merges two people's tracks, which is worse than a split.
  rejoinDistance: 0.5,
};

/** Centre uncertainty (σ, px) above this fraction of the box side asks for a detection now. */
const UNCERTAIN_SPREAD = 0.08;
/** Descriptors a track keeps for re-joining: the latest few, since faces change with pose. */
const APPEARANCE_KEPT = 4;

export interface TrackDetection {
  readonly box: Box;
  readonly score: number;
}

export type TrackStatus = 'tentative' | 'confirmed';

export class Track {
  status: TrackStatus = 'tentative';
  hits = 1;
  /** Detection passes since the last match (0: seen on the last pass). */
  misses = 0;
  lastSeenFrame: number;
  lastSeenTime: number;
  /** The last detected box (the Kalman box is the prediction). */
  lastDetected: Box;
  score: number;
  readonly appearance: Float32Array[] = [];
  private lastPredictedFrame: number;

  constructor(
    readonly id: number,
    detection: TrackDetection,
    readonly firstFrame: number,
    readonly firstTime: number,
    private kalman = new BoxKalman(detection.box),
  ) {
    this.lastSeenFrame = firstFrame;
    this.lastSeenTime = firstTime;
    this.lastPredictedFrame = firstFrame;
    this.lastDetected = detection.box;
    this.score = detection.score;
  }

  get box(): Box {
    return this.kalman.box;
  }

  /** Visible: matched on the last detection pass (lost tracks are kept, undrawn, for re-joining). */
  get visible(): boolean {
    return this.misses === 0;
  }

  predictTo(frame: number): void {
    for (; this.lastPredictedFrame < frame; this.lastPredictedFrame++) this.kalman.predict();
  }

  /** True when the predicted centre's spread is large against the face: time to look again. */
  get uncertain(): boolean {
    const b = this.kalman.box;
    return this.kalman.centreSpread > UNCERTAIN_SPREAD * Math.max(1, Math.min(b.width, b.height));
  }

  hit(detection: TrackDetection, frame: number, time: number, restart: boolean): void {
    // A re-joined face may be anywhere: the old velocity would only drag the box.
    if (restart) this.kalman = new BoxKalman(detection.box);
    else this.kalman.update(detection.box);
    this.lastPredictedFrame = frame;
    this.hits++;
    this.misses = 0;
    this.lastSeenFrame = frame;
    this.lastSeenTime = time;
    this.lastDetected = detection.box;
    this.score = detection.score;
  }

  remember(descriptor: Float32Array): void {
    this.appearance.push(descriptor);
    if (this.appearance.length > APPEARANCE_KEPT) this.appearance.shift();
  }

  appearanceDistance(descriptor: Float32Array): number {
    let best = Number.POSITIVE_INFINITY;
    for (const d of this.appearance) best = Math.min(best, euclideanDistance(d, descriptor));
    return best;
  }
}

export interface StepResult {
  /** Tracks matched this pass, with the index of their detection (re-joined ones included). */
  readonly matched: readonly { readonly track: Track; readonly detection: number }[];
  /** Subset of matched: lost tracks taken back by appearance. */
  readonly rejoined: readonly Track[];
  /** Tracks that reached minHits on this pass. */
  readonly confirmed: readonly Track[];
  /** New tentative tracks, with their detection. */
  readonly born: readonly { readonly track: Track; readonly detection: number }[];
  /** Confirmed tracks that ended (tentative ones that miss vanish unreported). */
  readonly ended: readonly Track[];
  /** Descriptors computed for unmatched detections, by detection index. */
  readonly described: ReadonlyMap<number, Float32Array>;
}

/** Computes descriptors for the detections at these indices (the tracker never runs a network itself). */
export type Describe = (detections: readonly number[]) => Promise<readonly Float32Array[]>;

export class Tracker {
  private readonly options: Required<TrackerOptions>;
  private live: Track[] = [];
  private nextId = 1;

  constructor(options: TrackerOptions = {}) {
    this.options = { ...TRACKER_DEFAULTS, ...options };
  }

  get tracks(): readonly Track[] {
    return this.live;
  }

  /** Carries every track's box to `frame` (call once per frame, detections or not). */
  predict(frame: number): void {
    for (const t of this.live) t.predictTo(frame);
  }

  /**
   * A detection pass is due now: a track is new, was just lost, or is unsure where its face went.
   * A track lost on the last pass asks for one more look on the next frame, not for every frame
   * until it ends: a face the detector misses on one frame it tends to miss on the next few too
   * (turned head, blur), and detecting on every frame for the 1.5 s a track may stay lost made
   * bench:video's five-face pan run the detector on 67 % of the frames at --every 3.
   */
  get uncertain(): boolean {
    return this.live.some((t) => t.status === 'tentative' || t.misses === 1 || t.uncertain);
  }

  async update(
    frame: number,
    time: number,
    detections: readonly TrackDetection[],
    describe: Describe,
  ): Promise<StepResult> {
    const o = this.options;
    this.predict(frame);
    const tracks = this.live;
    const cost = tracks.map((t) => detections.map((d) => 1 - iou(t.box, d.box)));
    const pairs = assignWithin(cost, 1 - o.minIou);
    const matched: { track: Track; detection: number }[] = [];
    const confirmed: Track[] = [];
    const takenTracks = new Set<number>();
    const takenDetections = new Set<number>();
    const hit = (track: Track, detection: number, restart: boolean): void => {
      track.hit(detections[detection], frame, time, restart);
      matched.push({ track, detection });
      takenTracks.add(track.id);
      takenDetections.add(detection);
      if (track.status === 'tentative' && track.hits >= o.minHits) {
        track.status = 'confirmed';
        confirmed.push(track);
      }
    };
    for (const [ti, di] of pairs) hit(tracks[ti], di, false);

    const leftover = detections.flatMap((_, i) => (takenDetections.has(i) ? [] : [i]));
    const described = new Map<number, Float32Array>();
    if (leftover.length > 0) {
      const descriptors = await describe(leftover);
      leftover.forEach((d, k) => {
        described.set(d, descriptors[k]);
      });
    }
    const rejoined: Track[] = [];
    const lost = tracks.filter((t) => !takenTracks.has(t.id) && t.status === 'confirmed' && t.appearance.length > 0);
    if (leftover.length > 0 && lost.length > 0) {
      const far = lost.map((t) => leftover.map((d) => t.appearanceDistance(described.get(d) as Float32Array)));
      for (const [ti, k] of assignWithin(far, o.rejoinDistance)) {
        hit(lost[ti], leftover[k], true);
        rejoined.push(lost[ti]);
      }
    }
    const born: { track: Track; detection: number }[] = [];
    for (const d of leftover) {
      if (takenDetections.has(d)) continue;
      const track = new Track(this.nextId++, detections[d], frame, time);
      if (o.minHits <= 1) {
        track.status = 'confirmed';
        confirmed.push(track);
      }
      born.push({ track, detection: d });
    }
    const ended: Track[] = [];
    const kept: Track[] = [];
    for (const t of tracks) {
      if (!takenTracks.has(t.id)) {
        t.misses++;
        // A tentative track must be seen on consecutive passes, else it was a false detection.
        if (t.status === 'tentative') continue;
        if (time - t.lastSeenTime > o.maxAgeSeconds) {
          ended.push(t);
          continue;
        }
      }
      kept.push(t);
    }
    this.live = [...kept, ...born.map((b) => b.track)];
    return { matched, rejoined, confirmed, born, ended, described };
  }

  /** Ends every track at once (a scene cut: no face on one side of it is the face on the other). */
  endAll(): Track[] {
    const ended = this.live.filter((t) => t.status === 'confirmed');
    this.live = [];
    return ended;
  }
}
