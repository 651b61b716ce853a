import { landmarks5From68 } from '../landmarks/five.js';
import { DLIB_CHIP_SIZE } from '../models/dlibResnet128.js';
import type { Point } from '../types.js';

/**
 * dlib's mean face (get_face_chip_details): normalised positions of 68-point landmarks 17..67.
 * The 128-d ResNet was trained on chips made with this template, so matching it matters more
 * than any cleverer alignment.
 */
const DLIB_MEAN_FACE_X = [
  0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124, 0.904991, 0.98004, 0.490127,
  0.490127, 0.490127, 0.490127, 0.36688, 0.426036, 0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606,
  0.260918, 0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149, 0.340985, 0.428858, 0.490127,
  0.551395, 0.639268, 0.726104, 0.642159, 0.556721, 0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127,
  0.552157, 0.689874, 0.553364, 0.490127, 0.42689,
];
const DLIB_MEAN_FACE_Y = [
  0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915, 0.106454, 0.203352,
  0.307009, 0.409805, 0.515625, 0.587326, 0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852,
  0.231733, 0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099, 0.780233, 0.745405,
  0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805, 0.902192, 0.909281, 0.902192, 0.864805, 0.784792,
  0.778746, 0.785343, 0.778746, 0.784792, 0.824182, 0.831803, 0.824182,
];
const FIRST_TEMPLATE_POINT = 17;

/**
 * Which of the 68 points drive the fit: dlib leaves out the eyebrows (17-26, they move with
 * expression) and the lower lip (55-59, 65-67, it moves when the mouth opens).
 */
export const DLIB_ALIGNMENT_POINTS: readonly number[] = Array.from(
  { length: 68 - FIRST_TEMPLATE_POINT },
  (_, k) => k + FIRST_TEMPLATE_POINT,
).filter((i) => !(i >= 17 && i <= 26) && !(i >= 55 && i <= 59) && !(i >= 65 && i <= 67));

/** A chip layout: output size and where each chosen landmark should land, in chip pixels. */
export interface ChipTemplate {
  readonly size: number;
  readonly pointIndices: readonly number[];
  readonly targets: readonly Point[];
}

/** dlib's chip padding (its side is the network's DLIB_CHIP_SIZE): what dlib_face_recognition_resnet_model_v1 expects. */
export const DLIB_CHIP_PADDING = 0.25;

/** dlib's chip for 68-point landmarks with a given size and padding (fraction of the face's width). */
export function dlibChipTemplate(size = DLIB_CHIP_SIZE, padding = DLIB_CHIP_PADDING): ChipTemplate {
  return {
    size,
    pointIndices: DLIB_ALIGNMENT_POINTS,
    targets: DLIB_ALIGNMENT_POINTS.map((i) => meanFacePoint(i, size, padding)),
  };
}

/** Where 68-point landmark `i` (17..67) of dlib's mean face lands on a chip of this size and padding. */
function meanFacePoint(i: number, size: number, padding: number): Point {
  return {
    x: ((padding + DLIB_MEAN_FACE_X[i - FIRST_TEMPLATE_POINT]) / (2 * padding + 1)) * size,
    y: ((padding + DLIB_MEAN_FACE_Y[i - FIRST_TEMPLATE_POINT]) / (2 * padding + 1)) * size,
  };
}

/**
 * The same chip for five points (MTCNN's `landmarks5`): each target is made from dlib's mean face
 * the way the five are made from 68 points (landmarks5From68), so a face aligned on its five points
 * lands where its 68 points would put it, and the descriptors share one space. Mean-face points
 * below 17 (the jaw) are never used by the five.
 */
export function dlibChipTemplate5(size = DLIB_CHIP_SIZE, padding = DLIB_CHIP_PADDING): ChipTemplate {
  const mean68 = Array.from({ length: 68 }, (_, i) =>
    i < FIRST_TEMPLATE_POINT ? { x: Number.NaN, y: Number.NaN } : meanFacePoint(i, size, padding),
  );
  return { size, pointIndices: [0, 1, 2, 3, 4], targets: landmarks5From68(mean68) };
}
