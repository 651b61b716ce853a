import type { BrowserFaceKitOptions } from 'facekit/browser';

/**
 * The Live page's kit: tiny detector at 224 (a webcam face fills much of the frame, and the
 * detector's cost grows with the square of its input), no border (a face cut by the frame's edge
 * is rarely wanted, and the padded copy costs a frame-sized allocation).
 */
export const LIVE_KIT_OPTIONS: BrowserFaceKitOptions = { detector: 'tiny', inputSize: 224, padding: 0 };
