/**
 * facekit/video: watching video files, streams and cameras (watch), the run the CLI makes of it
 * (annotated output, JSON lines, live viewer), and the parts: frame sources, which ffmpeg, the
 * known-people folder.
 */
export { watch, DEFAULT_EVERY, VIDEO_DETECTOR, videoDetection } from '../video/watch.js';
export type {
  AnnotatedFrame,
  PersonTimeline,
  SourceDescription,
  TrackSpan,
  UnknownGroup,
  WatchEvent,
  WatchEventType,
  WatchKit,
  WatchOptions,
} from '../video/watch.js';
export { runWatchSession } from '../video/session.js';
export type { SessionOptions, Summary } from '../video/session.js';
export { openSource } from '../video/source.js';
export type {
  FrameSource,
  ReconnectOptions,
  SourceGap,
  SourceInfo,
  SourceItem,
  SourceOptions,
  VideoFrame,
} from '../video/source.js';
export { maskPasswords, RTSP_TRANSPORTS } from '../video/source-spec.js';
export type { RtspTransport } from '../video/source-spec.js';
export { findFfmpeg, describeFfmpeg } from '../video/ffmpeg.js';
export type { FfmpegInfo, FfmpegOrigin } from '../video/ffmpeg.js';
export { loadKnownFolder } from '../video/known.js';
export type { KnownFolder } from '../video/known.js';
export { galleryMatcher, knownMatcher } from '../video/identities.js';
export type { KnownPerson, Matcher, MatchResult } from '../video/identities.js';
export { startViewer } from '../video/viewer.js';
export type { Viewer } from '../video/viewer.js';
export type { TrackerOptions } from '../video/tracker.js';
