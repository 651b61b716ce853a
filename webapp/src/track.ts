/**
 * Faces followed from frame to frame by box overlap, so a face is encoded and identified when it
 * appears and then once a second, not on every frame: detection runs at camera rate, the encoder
 * (the costly step) only on new or due faces.
 */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Track {
  readonly id: number;
  box: Box;
  label: string;
  known: boolean;
  /** When it was last identified (ms, performance.now()); 0: never. */
  identifiedAt: number;
  /** An identification request is in flight. */
  pending: boolean;
  /** Frames in a row without a detection. */
  missed: number;
}

export function iou(a: Box, b: Box): number {
  const x = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const y = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = x * y;
  return inter / (a.width * a.height + b.width * b.height - inter || 1);
}

const MIN_IOU = 0.3;
/** A face missed for this many frames in a row is dropped (a blink of the detector keeps its name). */
const MAX_MISSED = 5;
/** A known face is identified again this often, an unknown one twice as often. */
const REIDENTIFY_MS = 1000;

export class Tracker {
  private next = 1;
  tracks: Track[] = [];

  /** Matches this frame's boxes to the tracks (best overlap first); returns the tracks that need identifying. */
  update(boxes: readonly Box[], now: number): { track: Track; index: number }[] {
    const pairs: [number, number, number][] = [];
    this.tracks.forEach((t, ti) => {
      boxes.forEach((b, bi) => {
        const o = iou(t.box, b);
        if (o >= MIN_IOU) pairs.push([o, ti, bi]);
      });
    });
    pairs.sort((p, q) => q[0] - p[0]);
    const usedTracks = new Set<number>();
    const owner = new Map<number, Track>();
    for (const [, ti, bi] of pairs) {
      if (usedTracks.has(ti) || owner.has(bi)) continue;
      usedTracks.add(ti);
      owner.set(bi, this.tracks[ti]);
    }
    this.tracks.forEach((t, ti) => {
      if (!usedTracks.has(ti)) t.missed++;
    });
    this.tracks = this.tracks.filter((t) => t.missed <= MAX_MISSED);
    boxes.forEach((b, bi) => {
      const t = owner.get(bi);
      if (t) {
        t.box = b;
        t.missed = 0;
      } else {
        const fresh: Track = { id: this.next++, box: b, label: '…', known: false, identifiedAt: 0, pending: false, missed: 0 };
        this.tracks.push(fresh);
        owner.set(bi, fresh);
      }
    });
    const due: { track: Track; index: number }[] = [];
    owner.forEach((track, index) => {
      const every = track.known ? REIDENTIFY_MS : REIDENTIFY_MS / 2;
      if (!track.pending && now - track.identifiedAt >= every) due.push({ track, index });
    });
    return due;
  }

  /** The tracks seen in the latest frame. */
  visible(): Track[] {
    return this.tracks.filter((t) => t.missed === 0);
  }
}
