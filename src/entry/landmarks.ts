/** facekit/landmarks: the 68 points' named parts and the five points made from them. */
export { LANDMARKS5_NAMES, landmarks5From68 } from '../landmarks/five.js';
export type { Landmark5Name } from '../landmarks/five.js';
export { LANDMARK_PARTS_68, landmarkParts } from '../landmarks/parts.js';
export type { LandmarkPart } from '../landmarks/parts.js';
