/**
 * facekit/track: the pieces of the tracker `facekit watch` runs that a browser page can load too —
 * a constant-velocity Kalman filter on a face box, and least-cost assignment of detections to
 * tracks on IoU — so a live page carries boxes between detections the way the video front end does.
 * Browser-safe (checked by .dependency-cruiser.browser.cjs). video/tracker.ts's Tracker itself is
 * not exported here: it reaches usearch (a native module) through entry/match.ts.
 */
export { assignWithin, iou } from '../video/assignment.js';
export { BoxKalman } from '../video/kalman.js';
