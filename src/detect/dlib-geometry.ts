/**
 * dlib's rectangles as its two ported detectors (HOG in hog/, the MMOD CNN in mmod/) share them:
 * inclusive pixel edges, the pyramid point mappings that carry a window between pyramid levels
 * and back from an upsampled image, and dlib's greedy non-max suppression (test_box_overlap). One
 * copy here, so the two detectors cannot drift apart in the rounding that makes them box-exact.
 */

/** A dlib rectangle: inclusive pixel edges. */
export interface DlibRect {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

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

/** pyramid_down<6>::point_up `levels` times (unrounded): a level's coordinate in the image. */
export function pointUp6Levels(v: number, levels: number): number {
  let x = v;
  for (let i = 0; i < levels; i++) x = pointUp6(x);
  return x;
}

/** pyramid_down<2>::point_down for x (dlib's 2:1 pyramid shifts x and y differently). */
export function pointDown2X(v: number): number {
  return v / 2 - 1.25;
}
export function pointDown2Y(v: number): number {
  return v / 2 - 0.75;
}

/**
 * The Python binding's rect_down after `times` pyramid_up calls: each edge mapped down `times`
 * times with pyramid_down<2>, then rounded.
 */
export function rectDown2(rect: DlibRect, times: number): DlibRect {
  const down = (v: number, step: (x: number) => number): number => {
    let x = v;
    for (let i = 0; i < times; i++) x = step(x);
    return roundEdge(x);
  };
  return {
    left: down(rect.left, pointDown2X),
    top: down(rect.top, pointDown2Y),
    right: down(rect.right, pointDown2X),
    bottom: down(rect.bottom, pointDown2Y),
  };
}

function area(r: DlibRect): number {
  const w = r.right - r.left + 1;
  const h = r.bottom - r.top + 1;
  return w > 0 && h > 0 ? w * h : 0;
}

/** dlib's test_box_overlap: IoU above `iouThreshold`, or either box covered above `coveredThreshold`. */
export function boxesOverlap(a: DlibRect, b: DlibRect, iouThreshold: number, coveredThreshold: number): boolean {
  const inner = area({
    left: Math.max(a.left, b.left),
    top: Math.max(a.top, b.top),
    right: Math.min(a.right, b.right),
    bottom: Math.min(a.bottom, b.bottom),
  });
  if (inner === 0) return false;
  const outer = area({
    left: Math.min(a.left, b.left),
    top: Math.min(a.top, b.top),
    right: Math.max(a.right, b.right),
    bottom: Math.max(a.bottom, b.bottom),
  });
  return inner / outer > iouThreshold || inner / area(a) > coveredThreshold || inner / area(b) > coveredThreshold;
}

/**
 * dlib's greedy NMS over detections already in dlib's order (best first): each is kept unless it
 * overlaps one kept before it (boxesOverlap).
 */
export function dlibNms<T extends { readonly rect: DlibRect }>(
  ordered: readonly T[],
  iouThreshold: number,
  coveredThreshold: number,
): T[] {
  const kept: T[] = [];
  for (const det of ordered) {
    if (!kept.some((k) => boxesOverlap(k.rect, det.rect, iouThreshold, coveredThreshold))) kept.push(det);
  }
  return kept;
}
