/**
 * Faces followed between detection passes, as `facekit watch` follows them: each track's box is a
 * constant-velocity Kalman filter (facekit/track's BoxKalman), predicted on every camera frame so
 * the boxes drawn move with the face while the worker is still busy; detections are matched to the
 * predicted boxes by least-cost assignment on 1 − IoU. A face is encoded and identified when its
 * track is confirmed, when it gets a clearer view, and then now and then — not on every frame.
 */
import type { Box } from 'facekit/browser';
import { assignWithin, BoxKalman, iou } from 'facekit/track';

export interface LiveDetection {
  readonly box: Box;
  readonly score: number;
}

export class LiveTrack {
  hits = 1;
  /** Detection passes in a row without a match. */
  misses = 0;
  label = '…';
  known = false;
  /** When it was last identified (ms, performance.now()); 0: never. */
  identifiedAt = 0;
  /** An identification is in flight. */
  pending = false;
  /** Detection score of the view last encoded: a clearer one is encoded again. */
  encodedScore = 0;
  /** Descriptors of this face sent to the People page's unknown faces. */
  keptUnknown = 0;
  score: number;
  lastSeen: number;
  private readonly kalman: BoxKalman;

  constructor(
    readonly id: number,
    detection: LiveDetection,
    now: number,
  ) {
    this.kalman = new BoxKalman(detection.box);
    this.score = detection.score;
    this.lastSeen = now;
  }

  get box(): Box {
    return this.kalman.box;
  }

  predict(): void {
    this.kalman.predict();
  }

  hit(detection: LiveDetection, now: number): void {
    this.kalman.update(detection.box);
    this.hits++;
    this.misses = 0;
    this.score = detection.score;
    this.lastSeen = now;
  }

  /** The predicted centre's spread is large against the face: time to look again. */
  get uncertain(): boolean {
    const b = this.kalman.box;
    return this.kalman.centreSpread > UNCERTAIN_SPREAD * Math.max(1, Math.min(b.width, b.height));
  }

  get confirmed(): boolean {
    return this.hits >= MIN_HITS;
  }
}

/** Passes in a row a new track needs before it is drawn and identified (one is often a false detection). */
const MIN_HITS = 2;
/** Least IoU between a predicted box and a detection to be the same face (as `facekit watch`). */
const MIN_IOU = 0.3;
/** A track missed on this many passes in a row, or unseen this long, ends. */
const MAX_MISSES = 3;
const MAX_UNSEEN_MS = 1500;
/** Same threshold as the video tracker: centre σ above this fraction of the face asks for a detection. */
const UNCERTAIN_SPREAD = 0.08;
/** A known face is identified again this often, an unknown one more often (it may just have turned). */
const KNOWN_EVERY_MS = 2000;
const UNKNOWN_EVERY_MS = 700;
/** A detection this much surer than the encoded view is a clearer face: encode it again (not sooner than this). */
const CLEARER_BY = 0.05;
const CLEARER_AFTER_MS = 300;

export class LiveTracker {
  private next = 1;
  tracks: LiveTrack[] = [];

  /** Carries every box one camera frame forward. */
  predict(): void {
    for (const t of this.tracks) t.predict();
  }

  /** A detection pass should run now rather than later: a face is new, lost or drifting. */
  get uncertain(): boolean {
    return this.tracks.some((t) => !t.confirmed || t.misses > 0 || t.uncertain);
  }

  /** Matches a pass's detections to the tracks; returns the tracks due to be identified, with their detection. */
  update(detections: readonly LiveDetection[], now: number): { track: LiveTrack; index: number }[] {
    const cost = this.tracks.map((t) => detections.map((d) => 1 - iou(t.box, d.box)));
    const owner = new Map<number, LiveTrack>();
    for (const [ti, di] of assignWithin(cost, 1 - MIN_IOU)) {
      this.tracks[ti].hit(detections[di], now);
      owner.set(di, this.tracks[ti]);
    }
    const matched = new Set(owner.values());
    for (const t of this.tracks) if (!matched.has(t)) t.misses++;
    this.tracks = this.tracks.filter(
      (t) => t.misses === 0 || (t.confirmed && t.misses <= MAX_MISSES && now - t.lastSeen <= MAX_UNSEEN_MS),
    );
    detections.forEach((d, di) => {
      if (owner.has(di)) return;
      const track = new LiveTrack(this.next++, d, now);
      this.tracks.push(track);
      owner.set(di, track);
    });
    const due: { track: LiveTrack; index: number }[] = [];
    owner.forEach((track, index) => {
      if (!track.confirmed || track.pending) return;
      const since = now - track.identifiedAt;
      const clearer = track.score > track.encodedScore + CLEARER_BY && since >= CLEARER_AFTER_MS;
      if (track.identifiedAt === 0 || clearer || since >= (track.known ? KNOWN_EVERY_MS : UNKNOWN_EVERY_MS))
        due.push({ track, index });
    });
    return due;
  }

  /** The tracks to draw: confirmed, and seen on the last pass or the one before (a detector blink keeps the box). */
  shown(): LiveTrack[] {
    return this.tracks.filter((t) => t.confirmed && t.misses <= 1);
  }

  clear(): void {
    this.tracks = [];
  }
}
