/**
 * dlib's image pyramids for its HOG detector, pixel for pixel: pyramid_down<6> (each level 5/6 of
 * the last) and pyramid_up with pyramid_down<2> (face_recognition's upsampling). Both resize with
 * dlib's bilinear resize_image for RGB images, whose main loop runs in single-precision SIMD and
 * truncates; Math.fround reproduces each float operation, so the levels match dlib byte for byte
 * (a level off by one grey level in a few pixels moved scores by ~1e-4 in early tests).
 */
import type { Image } from '../../types.js';

const f = Math.fround;

/** dlib's drectangle → rectangle conversion: each edge rounded half up. */
export function roundEdge(v: number): number {
  return Math.floor(v + 0.5);
}

/** pyramid_down<6>::point_down, one level. */
export function pointDown6(v: number): number {
  return (v - 0.3) * (5 / 6);
}

/** pyramid_down<6>::point_up, one level. */
export function pointUp6(v: number): number {
  return v * (6 / 5) + 0.3;
}

/** pyramid_down<2>::point_down for x (dlib's 2:1 pyramid shifts x and y differently). */
export function pointDown2X(v: number): number {
  return v / 2 - 1.25;
}
export function pointDown2Y(v: number): number {
  return v / 2 - 0.75;
}

/**
 * Levels create_fhog_pyramid builds for a width×height image: it shrinks the image rectangle
 * with rect_down (rounded each time) until it is smaller than the minimum layer.
 */
export function pyramidLevelCount(
  width: number,
  height: number,
  minWidth: number,
  minHeight: number,
  maxLevels: number,
): number {
  let left = 0;
  let top = 0;
  let right = width - 1;
  let bottom = height - 1;
  let levels = 0;
  do {
    left = roundEdge(pointDown6(left));
    top = roundEdge(pointDown6(top));
    right = roundEdge(pointDown6(right));
    bottom = roundEdge(pointDown6(bottom));
    levels++;
  } while (right - left + 1 >= minWidth && bottom - top + 1 >= minHeight && levels < maxLevels);
  return levels;
}

/** The next pyramid_down<6> level: ⌊5n/6⌋ on each side. */
export function pyramidDown6(src: Image): Image {
  return resizeBilinear(src, Math.floor((5 * src.width) / 6), Math.floor((5 * src.height) / 6));
}

/**
 * pyramid_up(img, out, pyramid_down<2>): the output is as large as rect_up of the image's
 * rectangle, 2w+2 × 2h+1 (pyramid_down<2>'s half-pixel offsets make it uneven).
 */
export function pyramidUp2(src: Image): Image {
  const right = roundEdge((src.width - 1 + 1.25) * 2);
  const bottom = roundEdge((src.height - 1 + 0.75) * 2);
  return resizeBilinear(src, right + 1, bottom + 1);
}

/** Per output column: what dlib's resize loop computes once per row but is the same in each. */
interface ColumnTaps {
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Float weights of the SIMD columns; the double weight of the remaining ones. */
  readonly frac: Float64Array;
  readonly invFrac: Float64Array;
  /** Columns [0, simdEnd) take the single-precision path, the rest the double one. */
  readonly simdEnd: number;
}

function columnTaps(inW: number, outW: number): ColumnTaps {
  const xScale = (inW - 1) / Math.max(outW - 1, 1);
  const left = new Int32Array(outW);
  const right = new Int32Array(outW);
  const frac = new Float64Array(outW);
  const invFrac = new Float64Array(outW);
  // dlib keeps four float x positions and adds 4·xScale (as a float) per step of four columns.
  const x0 = -4 * xScale;
  const lanes = [f(x0), f(x0 + xScale), f(x0 + 2 * xScale), f(x0 + 3 * xScale)];
  const step = f(4 * xScale);
  let c = 0;
  for (; ; c += 4) {
    for (let k = 0; k < 4; k++) lanes[k] = f((lanes[k] as number) + step);
    // The loop stops at the first group whose last right tap leaves the image.
    if (Math.trunc(lanes[3] as number) + 1 >= inW || c + 4 > outW) break;
    for (let k = 0; k < 4; k++) {
      const x = lanes[k] as number;
      const l = Math.trunc(x);
      const fr = f(x - l);
      left[c + k] = l;
      right[c + k] = l + 1;
      frac[c + k] = fr;
      invFrac[c + k] = f(1 - fr);
    }
  }
  const simdEnd = c;
  let x = -xScale + c * xScale;
  for (; c < outW; c++) {
    x += xScale;
    const l = Math.floor(x);
    left[c] = l;
    right[c] = Math.min(l + 1, inW - 1);
    frac[c] = x - l;
    invFrac[c] = 1 - (x - l);
  }
  return { left, right, frac, invFrac, simdEnd };
}

/** dlib's resize_image(in, out, interpolate_bilinear) for RGB images, exactly. */
export function resizeBilinear(src: Image, outW: number, outH: number): Image {
  const out = new Uint8Array(outW * outH * 3);
  if (outW === 0 || outH === 0) return { width: outW, height: outH, data: out };
  const inW = src.width;
  const inH = src.height;
  const data = src.data;
  const taps = columnTaps(inW, outW);
  const yScale = (inH - 1) / Math.max(outH - 1, 1);
  let y = -yScale;
  for (let r = 0; r < outH; r++) {
    y += yScale;
    const top = Math.floor(y);
    const bottom = Math.min(top + 1, inH - 1);
    const tb = y - top;
    const tbF = f(tb);
    const invTbF = f(1 - tb);
    const topRow = top * inW * 3;
    const bottomRow = bottom * inW * 3;
    let o = r * outW * 3;
    for (let c = 0; c < taps.simdEnd; c++, o += 3) {
      const fr = taps.frac[c] as number;
      const inv = taps.invFrac[c] as number;
      const tlw = f(invTbF * inv);
      const trw = f(invTbF * fr);
      const blw = f(tbF * inv);
      const brw = f(tbF * fr);
      const l = (taps.left[c] as number) * 3;
      const rt = (taps.right[c] as number) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const sum = f(
          f(
            f(f(tlw * (data[topRow + l + ch] as number)) + f(trw * (data[topRow + rt + ch] as number))) +
              f(blw * (data[bottomRow + l + ch] as number)),
          ) + f(brw * (data[bottomRow + rt + ch] as number)),
        );
        out[o + ch] = Math.trunc(sum);
      }
    }
    for (let c = taps.simdEnd; c < outW; c++, o += 3) {
      const fr = taps.frac[c] as number;
      const inv = taps.invFrac[c] as number;
      const l = (taps.left[c] as number) * 3;
      const rt = (taps.right[c] as number) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const upper = inv * (data[topRow + l + ch] as number) + fr * (data[topRow + rt + ch] as number);
        const lower = inv * (data[bottomRow + l + ch] as number) + fr * (data[bottomRow + rt + ch] as number);
        // static_cast<unsigned char> of a value in [0, 255]: truncation.
        out[o + ch] = Math.trunc((1 - tb) * upper + tb * lower);
      }
    }
  }
  return { width: outW, height: outH, data: out };
}
