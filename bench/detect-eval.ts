/**
 * Detection scoring for bench/detect.ts: dlib's imglab XML (`<box top left width height>`), greedy
 * matching at an IoU threshold, precision / recall at a score threshold, and average precision.
 */
import { iou } from '../src/detect/nms.js';
import type { Box } from '../src/types.js';

export interface TruthBox {
  readonly box: Box;
  /** dlib's ignore='1': a face the annotator could not call either way; matching it neither helps nor hurts. */
  readonly ignore: boolean;
}

export interface TruthImage {
  readonly file: string;
  readonly boxes: readonly TruthBox[];
}

const attr = (tag: string, name: string): string | undefined =>
  new RegExp(`\\b${name}\\s*=\\s*['"]([^'"]*)['"]`).exec(tag)?.[1];

/** The images and boxes of an imglab XML file (as dlib's examples ship them). */
export function parseImglabXml(xml: string): TruthImage[] {
  const images: TruthImage[] = [];
  for (const m of xml.matchAll(/<image\b([^>]*?)(?:\/>|>([\s\S]*?)<\/image>)/g)) {
    const file = attr(m[1], 'file');
    if (file === undefined) throw new Error(`an <image> without file=: ${m[0].slice(0, 80)}`);
    const boxes: TruthBox[] = [];
    for (const b of (m[2] ?? '').matchAll(/<box\b([^>]*)>/g)) {
      const [top, left, width, height] = ['top', 'left', 'width', 'height'].map((k) => Number(attr(b[1], k)));
      if (![top, left, width, height].every(Number.isFinite))
        throw new Error(`${file}: a <box> without top/left/width/height: ${b[0]}`);
      boxes.push({ box: { x: left, y: top, width, height }, ignore: attr(b[1], 'ignore') === '1' });
    }
    images.push({ file, boxes });
  }
  return images;
}

export interface ScoredBox {
  readonly box: Box;
  readonly score: number;
}

/** One detection after matching: a true face, a false one, or one on an ignored face (left out). */
export interface Judged {
  readonly score: number;
  readonly kind: 'tp' | 'fp' | 'ignored';
}

/**
 * PASCAL-style matching in one image: detections best first; each takes the unmatched true face it
 * overlaps most if that IoU >= `minIou`, else an ignored face it overlaps that much (ignored),
 * else it is false.
 */
export function judgeImage(truth: readonly TruthBox[], detections: readonly ScoredBox[], minIou: number): Judged[] {
  const taken = new Set<number>();
  return [...detections]
    .sort((a, b) => b.score - a.score)
    .map((d): Judged => {
      let best = -1,
        bestIou = minIou;
      truth.forEach((t, i) => {
        if (t.ignore || taken.has(i)) return;
        const o = iou(t.box, d.box);
        if (o >= bestIou) {
          best = i;
          bestIou = o;
        }
      });
      if (best >= 0) {
        taken.add(best);
        return { score: d.score, kind: 'tp' };
      }
      return { score: d.score, kind: truth.some((t) => t.ignore && iou(t.box, d.box) >= minIou) ? 'ignored' : 'fp' };
    });
}

export interface DetectionScore {
  readonly faces: number;
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly precision: number;
  readonly recall: number;
}

/** Precision and recall of the detections scoring at least `minScore`, over `faces` true faces. */
export function scoreAt(judged: readonly Judged[], faces: number, minScore: number): DetectionScore {
  const kept = judged.filter((j) => j.score >= minScore);
  const tp = kept.filter((j) => j.kind === 'tp').length;
  const fp = kept.filter((j) => j.kind === 'fp').length;
  return {
    faces,
    truePositives: tp,
    falsePositives: fp,
    precision: tp + fp > 0 ? tp / (tp + fp) : 1,
    recall: faces > 0 ? tp / faces : 0,
  };
}

/**
 * Average precision: the area under the precision/recall curve with precision made monotone
 * (PASCAL VOC 2010+, all points). Faces never detected count against recall.
 */
export function averagePrecision(judged: readonly Judged[], faces: number): number {
  if (faces === 0) return Number.NaN;
  const ranked = judged.filter((j) => j.kind !== 'ignored').sort((a, b) => b.score - a.score);
  const recall: number[] = [],
    precision: number[] = [];
  let tp = 0;
  ranked.forEach((j, i) => {
    if (j.kind === 'tp') tp++;
    recall.push(tp / faces);
    precision.push(tp / (i + 1));
  });
  for (let i = precision.length - 2; i >= 0; i--) precision[i] = Math.max(precision[i], precision[i + 1]);
  let ap = 0,
    lastRecall = 0;
  recall.forEach((r, i) => {
    ap += (r - lastRecall) * precision[i];
    lastRecall = r;
  });
  return ap;
}
