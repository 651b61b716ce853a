/**
 * `for await (const event of watch(source, { kit, gallery, every }))`: faces followed from frame
 * to frame and recognised by track. Detection runs on every `every`-th frame (and on every frame
 * while a track is new, lost or unsure of its face); the tracker carries the boxes in between.
 */
import { createHash } from 'node:crypto';
import type { ClusterFace } from '../entry/gallery.js';
import { invalidArgument } from '../errors.js';
import type {
  Box,
  Detection,
  DetectOptions,
  DetectorName,
  FaceKit,
  Gallery,
  Image,
  IdentifyOptions,
} from '../index.js';
import { checkDetectorName, type DetectorAlias } from '../detect/registry.js';
import { type Attempt, detectionAttempts } from '../pipeline/retry.js';
import { detectKnobs } from '../pipeline/options.js';
import { checkPadding } from '../detect/pad.js';
import { CLUSTER_THRESHOLD, clusterFaces } from '../entry/match.js';
import { DEFAULT_EMBEDDER, embedderEntry } from '../entry/embed.js';
import { blurUnknownFaces, drawFrame, type FrameFace } from './annotate.js';
import { CutDetector } from './cut.js';
import { describeFfmpeg } from './ffmpeg.js';
import {
  galleryMatcher,
  type KnownPerson,
  knownMatcher,
  type Matcher,
  type Sample,
  TrackIdentity,
} from './identities.js';
import { loadKnownFolder } from './known.js';
import { viewQuality, roughQuality } from './quality.js';
import { openSource, type SourceInfo, type SourceOptions } from './source.js';
import { maskPasswords } from './source-spec.js';
import { type Track, Tracker, type TrackerOptions } from './tracker.js';

/** The kit stages watch uses (a FaceKit of either alignment). */
export type WatchKit = Pick<
  FaceKit,
  'attempt' | 'detect' | 'landmarks' | 'encode' | 'analyze' | 'options' | 'embedderId'
>;

/**
 * The detector a watch runs when neither it nor its kit names one: tiny at 416, one pass, no
 * border. The kit's photo default (MTCNN with a bordered second pass and a retry chain on a miss)
 * costs ~180 CPU-ms per 640×480 frame and would rerun every detector on each frame without a
 * face; tiny costs ~11 (bench/video.ts), and a face it misses on one frame is found on the next.
 */
export const VIDEO_DETECTOR: DetectorName = 'tiny';

export interface WatchOptions extends SourceOptions {
  readonly kit: WatchKit;
  /** Known people: a gallery (its calibrated open-set threshold) … */
  readonly gallery?: Gallery;
  readonly identify?: IdentifyOptions;
  /** … or a folder (`dir/<name>.jpg`, `dir/<name>/*.jpg`) or people given as descriptors. */
  readonly known?: string | readonly KnownPerson[];
  /** Distance threshold for `known` (default the kit's embedder's match threshold: 0.6 for dlib128). */
  readonly tolerance?: number;
  /**
   * Detector run on the frames: default the kit's own when it was made with one
   * (`createFaceKit({ detector })`), else VIDEO_DETECTOR. One pass a frame, never the kit's retry chain.
   */
  readonly detector?: DetectorName | DetectorAlias;
  /** The detector's own knobs for video (inputSize, minConfidence, mtcnn…); default the kit's. */
  readonly detectOptions?: DetectOptions;
  /** Grey border around each frame before detecting (see FaceKitOptions.padding); default 0. */
  readonly padding?: number;
  /** Detect on every n-th frame, the tracker predicting in between; default 3 (1: every frame). */
  readonly every?: number;
  /** Detect sooner than every n-th frame while tracks are uncertain; default true. */
  readonly adaptive?: boolean;
  readonly tracker?: TrackerOptions;
  /** Emit a track-updated event per track on each detection pass; default true. */
  readonly updates?: boolean;
  /**
   * With a gallery: save the unknown tracks' best views as a cluster run (groups numbered as in
   * the summary), so `facekit cluster name <group> <person>` can enrol them afterwards.
   */
  readonly saveUnknown?: boolean;
  /** Pixelate faces not (yet) recognised in the frames handed to onFrame. */
  readonly blurUnknown?: boolean;
  /** Called with every frame and its tracks, in order; awaited (a slow consumer slows files, drops live frames). */
  readonly onFrame?: (frame: AnnotatedFrame) => void | Promise<void>;
  /** Stops the watch (the iterator ends after the current frame). */
  readonly signal?: AbortSignal;
}

export interface AnnotatedFrame {
  readonly index: number;
  readonly time: number;
  /** The frame (unknown faces pixelated under blurUnknown). Valid only during the callback. */
  readonly image: Image;
  readonly faces: readonly FrameFace[];
  /** Whether the detector ran on this frame (else the boxes are the tracker's predictions). */
  readonly detected: boolean;
  /** performance.now() when the frame arrived from the source. */
  readonly receivedAt: number;
  /** The frame with boxes, track ids and names drawn, as JPEG. */
  jpeg(): Promise<Buffer>;
}

interface At {
  readonly time: number;
  readonly frame: number;
}

interface TrackAt extends At {
  readonly track: number;
  readonly box: Box;
  readonly name: string | null;
  readonly distance: number | null;
}

/** The source as plain data: SourceInfo with the ffmpeg that decodes it in words. */
export type SourceDescription = Omit<SourceInfo, 'ffmpeg'> & {
  /** Which ffmpeg decodes it, in words; null for raw stdin. */
  readonly ffmpeg: string | null;
  readonly ffmpegPath: string | null;
};

export interface TrackSpan {
  readonly track: number;
  readonly from: number;
  readonly to: number;
}

export interface PersonTimeline {
  readonly name: string;
  readonly spans: readonly TrackSpan[];
  readonly seconds: number;
}

export interface UnknownGroup {
  /** Tracks whose best views cluster together: probably one person seen several times. */
  readonly group: number;
  readonly spans: readonly TrackSpan[];
  readonly seconds: number;
}

export type WatchEvent =
  | ({ readonly type: 'source-opened'; readonly source: SourceDescription } & At)
  | ({ readonly type: 'track-started' } & TrackAt)
  | ({ readonly type: 'track-identified'; readonly previous: string | null; readonly votes: number } & TrackAt)
  | ({ readonly type: 'track-updated' } & TrackAt)
  | ({ readonly type: 'track-ended'; readonly from: number; readonly duration: number } & TrackAt)
  | ({
      readonly type: 'source-gap';
      readonly duration: number;
      readonly attempts: number;
      readonly resumed: boolean;
      readonly reason: string;
    } & At)
  | ({
      readonly type: 'summary';
      readonly frames: number;
      readonly detections: number;
      readonly dropped: number;
      readonly people: readonly PersonTimeline[];
      readonly unknown: readonly UnknownGroup[];
      /** With saveUnknown and a gallery: the cluster run the unknown groups were saved as (its groups' numbers). */
      readonly clusterRun: number | null;
    } & At);

export type WatchEventType = WatchEvent['type'];

export const DEFAULT_EVERY = 3;

const round1 = (n: number): number => Math.round(n * 10) / 10;
const round3 = (n: number): number => Math.round(n * 1000) / 1000;
const plainBox = (b: Box): Box => ({
  x: round1(b.x),
  y: round1(b.y),
  width: round1(b.width),
  height: round1(b.height),
});

async function makeMatcher(options: WatchOptions): Promise<Matcher | null> {
  if (options.gallery && options.known !== undefined)
    throw invalidArgument('known', 'give either a gallery or known people, not both');
  const { kit } = options;
  if (options.gallery) {
    // A tuned embedder's descriptors live in their own space: compared with another's they mean nothing.
    if (options.gallery.modelId !== kit.embedderId)
      throw invalidArgument(
        'gallery',
        `the gallery holds ${options.gallery.modelId} descriptors; the kit encodes ${kit.embedderId} (make the kit with the gallery's embedder)`,
      );
    return galleryMatcher(options.gallery, options.identify);
  }
  if (options.known === undefined) return null;
  const people = typeof options.known === 'string' ? (await loadKnownFolder(kit, options.known)).people : options.known;
  const tolerance =
    options.tolerance ??
    embedderEntry(kit.options.embedder ?? DEFAULT_EMBEDDER, 'embedder', kit.options.cacheDir).thresholds.match;
  return knownMatcher(people, tolerance);
}

/**
 * The one detection pass watch runs on a frame: the detector (watch's option, else the kit's when
 * it was made with one, else VIDEO_DETECTOR) with the kit's knobs under watch's own, no border
 * unless asked. Checked before the source opens, so a bad name costs no ffmpeg start.
 */
export function videoDetection(options: WatchOptions): { pass: Attempt; padding: number } {
  const { kit } = options;
  const name = checkDetectorName(options.detector ?? kit.options.detector ?? VIDEO_DETECTOR, 'detector');
  const [pass] = detectionAttempts(name, detectKnobs(options.detectOptions ?? {}, kit.options));
  return { pass, padding: checkPadding(options.padding ?? 0) };
}

function checkOptions(options: WatchOptions): number {
  if (!options || typeof options !== 'object' || !options.kit) throw invalidArgument('kit', 'watch needs a FaceKit');
  const every = options.every ?? DEFAULT_EVERY;
  if (!Number.isInteger(every) || every < 1) throw invalidArgument('every', `must be a positive integer, got ${every}`);
  if (options.saveUnknown && !options.gallery)
    throw invalidArgument('saveUnknown', 'needs a gallery to save the unknown faces in');
  if (options.tolerance !== undefined && !(options.tolerance > 0))
    throw invalidArgument('tolerance', `must be positive, got ${options.tolerance}`);
  return every;
}

/** Watches a source (file, URL, /dev/videoN, image pattern or `-`); see WatchOptions and WatchEvent. */
export async function* watch(source: string, options: WatchOptions): AsyncGenerator<WatchEvent> {
  const every = checkOptions(options);
  const { kit } = options;
  const detection = videoDetection(options);
  const adaptive = options.adaptive ?? true;
  const updates = options.updates ?? true;
  // The source first: a missing file or a dead URL is reported before known photos are encoded.
  const src = await openSource(source, options);
  let matcher: Matcher | null;
  try {
    matcher = await makeMatcher(options);
  } catch (error) {
    src.close();
    throw error;
  }
  const info = src.info;
  const tracker = new Tracker(options.tracker);
  const identities = new Map<number, TrackIdentity>();
  const announced = new Set<number>();
  const spans: { track: number; from: number; to: number; identity: TrackIdentity }[] = [];
  const cuts = new CutDetector();
  let lastDetected = Number.NEGATIVE_INFINITY;
  let forceDetect = true;
  let frames = 0;
  let detections = 0;
  let last: At = { time: 0, frame: 0 };
  const onAbort = (): void => src.close();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const trackAt = (t: Track, at: At): TrackAt => {
    const label = identities.get(t.id)?.label;
    return {
      ...at,
      track: t.id,
      box: plainBox(t.visible ? t.box : t.lastDetected),
      name: label?.name ?? null,
      distance: label?.distance == null ? null : round3(label.distance),
    };
  };
  function* ended(tracks: readonly Track[]): Generator<WatchEvent> {
    for (const t of tracks) {
      const identity = identities.get(t.id) as TrackIdentity;
      if (!announced.has(t.id)) continue;
      const at = { time: round3(t.lastSeenTime), frame: t.lastSeenFrame };
      spans.push({ track: t.id, from: t.firstTime, to: t.lastSeenTime, identity });
      yield {
        type: 'track-ended',
        ...trackAt(t, at),
        box: plainBox(t.lastDetected),
        from: round3(t.firstTime),
        duration: round3(t.lastSeenTime - t.firstTime),
      };
    }
  }

  try {
    yield {
      type: 'source-opened',
      time: 0,
      frame: 0,
      source: {
        ...info,
        ffmpeg: info.ffmpeg ? describeFfmpeg(info.ffmpeg) : null,
        ffmpegPath: info.ffmpeg?.path ?? null,
      },
    };
    for await (const item of src.items()) {
      if (item.type === 'gap') {
        const { gap } = item;
        yield* ended(tracker.endAll());
        forceDetect = true;
        yield {
          type: 'source-gap',
          time: round3(gap.from),
          frame: last.frame,
          duration: round3(gap.to - gap.from),
          attempts: gap.attempts,
          resumed: gap.resumed,
          reason: gap.reason,
        };
        continue;
      }
      const { frame } = item;
      const image = frame.image;
      const at: At = { time: round3(frame.time), frame: frame.index };
      last = at;
      frames++;
      if (cuts.isCut(image)) {
        yield* ended(tracker.endAll());
        forceDetect = true;
      }
      tracker.predict(frame.index);
      const detectNow = forceDetect || frame.index - lastDetected >= every || (adaptive && tracker.uncertain);
      if (detectNow) {
        forceDetect = false;
        lastDetected = frame.index;
        detections++;
        yield* await detectionPass(frame.index, frame.time, image, at);
      }
      if (options.onFrame) {
        const visible: FrameFace[] = tracker.tracks
          .filter((t) => t.visible)
          .map((t) => {
            const label = identities.get(t.id)?.label;
            return { track: t.id, box: t.box, name: label?.name ?? null, distance: label?.distance ?? null };
          });
        const faces = visible.filter((f) => announced.has(f.track));
        // Tentative tracks are blurred too: a face must not show unblurred for the frames it takes to count as a track.
        const shown = options.blurUnknown ? blurUnknownFaces(image, visible) : image;
        await options.onFrame({
          index: frame.index,
          time: frame.time,
          image: shown,
          faces,
          detected: detectNow,
          receivedAt: frame.receivedAt,
          jpeg: () => drawFrame(shown, faces),
        });
      }
      if (options.signal?.aborted) break;
    }
    yield* ended(tracker.endAll());
    const { people, unknown, unknownFaces } = summarize(spans, info.description);
    const clusterRun =
      options.saveUnknown && options.gallery && unknownFaces.length > 0
        ? (
            await options.gallery.saveClusterRun({
              threshold: CLUSTER_THRESHOLD,
              inputs: [info.description],
              faces: unknownFaces,
            })
          ).id
        : null;
    yield { type: 'summary', ...last, frames, detections, dropped: src.dropped, people, unknown, clusterRun };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    src.close();
  }

  /** One detection pass: track, sample better views, identify, and the events that follow. */
  async function detectionPass(index: number, time: number, image: Image, at: At): Promise<WatchEvent[]> {
    const found: Detection[] = await kit.attempt(image, detection.pass, detection.padding);
    const qualities = new Map<number, number>();
    const describe = async (which: readonly number[]): Promise<Float32Array[]> => {
      if (which.length === 0) return [];
      const faces = await kit.landmarks(
        image,
        which.map((i) => found[i]),
      );
      faces.forEach((f, k) => {
        qualities.set(which[k], viewQuality(image, f.box, f.landmarks));
      });
      return kit.encode(image, faces);
    };
    const step = await tracker.update(index, time, found, describe);
    const fresh: { track: Track; descriptor: Float32Array; quality: number; seen: Detection }[] = [];
    for (const { track, detection } of step.born) {
      identities.set(track.id, new TrackIdentity());
      const descriptor = step.described.get(detection) as Float32Array;
      track.remember(descriptor);
      fresh.push({ track, descriptor, quality: qualities.get(detection) ?? 0, seen: found[detection] });
    }
    const resample: { track: Track; detection: number }[] = [];
    for (const { track, detection } of step.matched) {
      const described = step.described.get(detection);
      if (described) {
        track.remember(described);
        fresh.push({ track, descriptor: described, quality: qualities.get(detection) ?? 0, seen: found[detection] });
        continue;
      }
      const identity = identities.get(track.id) as TrackIdentity;
      if (matcher && identity.wants(roughQuality(image, found[detection].box), time))
        resample.push({ track, detection });
    }
    if (resample.length > 0) {
      const descriptors = await describe(resample.map((r) => r.detection));
      resample.forEach((r, k) => {
        const quality = qualities.get(r.detection) ?? 0;
        r.track.remember(descriptors[k]);
        fresh.push({ track: r.track, descriptor: descriptors[k], quality, seen: found[r.detection] });
      });
    }
    const events: WatchEvent[] = [];
    const matches = matcher ? await matcher.identify(fresh.map((f) => f.descriptor)) : [];
    const relabelled = new Map<number, { previous: string | null }>();
    fresh.forEach((f, k) => {
      const identity = identities.get(f.track.id) as TrackIdentity;
      const seen = { descriptor: f.descriptor, box: f.seen.box, score: f.seen.score, quality: f.quality, time };
      if (!matcher) {
        identity.add({ ...seen, match: { name: null, distance: Number.NaN, threshold: 0 } });
        return;
      }
      const previous = identity.label.name;
      identity.add({ ...seen, match: matches[k] });
      if (identity.revote() && !relabelled.has(f.track.id)) relabelled.set(f.track.id, { previous });
    });
    for (const t of step.confirmed) {
      announced.add(t.id);
      events.push({ type: 'track-started', ...trackAt(t, at) });
      // Named before it counted as a track: say so now, as for any other naming.
      const label = (identities.get(t.id) as TrackIdentity).label;
      if (label.name !== null && !relabelled.has(t.id)) relabelled.set(t.id, { previous: null });
    }
    for (const [id, { previous }] of relabelled) {
      const t = tracker.tracks.find((x) => x.id === id);
      if (!t || !announced.has(id)) continue;
      const label = (identities.get(id) as TrackIdentity).label;
      if (label.name === previous) continue;
      events.push({ type: 'track-identified', ...trackAt(t, at), previous, votes: label.votes });
    }
    if (updates)
      for (const { track } of step.matched)
        if (announced.has(track.id) && !step.confirmed.includes(track))
          events.push({ type: 'track-updated', ...trackAt(track, at) });
    for (const e of ended(step.ended)) events.push(e);
    return events;
  }
}

/** A stable SHA-256 naming one track of one source: the gallery tells photos apart by content hash. */
function trackHash(source: string, span: TrackSpan): string {
  return createHash('sha256').update(`${source}\0${span.track}\0${span.from}`).digest('hex');
}

function summarize(
  spans: readonly { track: number; from: number; to: number; identity: TrackIdentity }[],
  source: string,
): { people: PersonTimeline[]; unknown: UnknownGroup[]; unknownFaces: ClusterFace[] } {
  const byName = new Map<string, TrackSpan[]>();
  const unknownTracks: { span: TrackSpan; best: Sample }[] = [];
  const unseen: TrackSpan[] = [];
  for (const s of spans) {
    const span = { track: s.track, from: round3(s.from), to: round3(s.to) };
    const name = s.identity.label.name;
    if (name !== null) byName.set(name, [...(byName.get(name) ?? []), span]);
    else {
      const best = s.identity.bestSample;
      if (best) unknownTracks.push({ span, best });
      else unseen.push(span);
    }
  }
  const seconds = (list: readonly TrackSpan[]): number => round3(list.reduce((sum, s) => sum + (s.to - s.from), 0));
  const people = [...byName].map(([name, list]) => ({ name, spans: list, seconds: seconds(list) }));
  const groups = unknownTracks.length > 0 ? clusterFaces(unknownTracks.map((u) => u.best.descriptor)) : [];
  const unknown: UnknownGroup[] = [];
  const unknownFaces: ClusterFace[] = [];
  groups.forEach((members, i) => {
    const list = members.map((m) => unknownTracks[m].span);
    unknown.push({ group: i + 1, spans: list, seconds: seconds(list) });
    for (const m of members) {
      const { span, best } = unknownTracks[m];
      unknownFaces.push({
        cluster: i + 1,
        // The gallery keeps where a face came from: never a camera's password.
        sourceFile: `${maskPasswords(source)}#track-${span.track}@${span.from}s`,
        contentHash: trackHash(maskPasswords(source), span),
        box: plainBox(best.box),
        score: best.score,
        descriptor: best.descriptor,
      });
    }
  });
  for (const span of unseen) unknown.push({ group: unknown.length + 1, spans: [span], seconds: seconds([span]) });
  return { people, unknown, unknownFaces };
}
