/**
 * The pixel budget of every detection pass: a photo above it is detected on a shrunk copy of at
 * most this many pixels (2048×2048), and the boxes and five points found are mapped back to the
 * photo's own pixels. Landmarks and descriptors still read the full photo.
 *
 * Why: tiny and SSD read a fixed-size input whatever the photo, but MTCNN's pyramid starts at the
 * photo's own size (times 12 / minFaceSize), so a no-face 100 MP photo cost 24 s and 7.8 GB peak
 * with 6.7 GB kept afterwards (2-core machine, see bench/abuse.ts). On the copy, a pass costs at
 * most what a 4 MP photo costs; MTCNN's first level is at most (12 / minFaceSize)² of the budget
 * (1.5 MP at the default 20 px). What is given up: faces smaller than 20 px in the copy, i.e. below
 * 20 × √(pixels / budget) px in the photo (48 px in a 24 MP one), which tiny and SSD, reading
 * 416–608 px inputs, did not find in such photos either.
 */
export const DETECT_MAX_PIXELS = 2048 * 2048;
