/**
 * The table that chooses the default kit (issue 17): every detector, with and without the retry
 * chain and the border (padding), measured THROUGH THE PUBLIC API, `createFaceKit(options).detect()`,
 * as a user calls it:
 * - precision / recall on dlib's detection photos (training.xml and testing.xml: 43 faces; IoU >= 0.5), at the
 *   kit's own score threshold;
 * - on an evenly spaced LFW subset: the share of photos where any face is found, and where the
 *   face nearest the centre (what a user picks for LFW's labelled face) covers the centre;
 * - on tight crops made from the same LFW photos: the central 1/2.2 of each photo (LFW's photos are
 *   the Viola-Jones face box grown 2.2 times, so this is that box: the face fills the crop and
 *   touches its edges, like an ID photo or a face thumbnail): share where a face covering the centre
 *   is found;
 * - mean ms per photo over the LFW and tight-crop photos (wall time of detect(), shared machine).
 *
 *   npm run bench:defaults -- --data ../shared/data --lfw-limit 600 --paddings 0,0.2
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DetectorName } from '../src/detect/registry.js';
import { loadImage } from '../src/image/decode.js';
import { createFaceKit } from '../src/pipeline/kit.js';
import type { FaceKitOptions } from '../src/pipeline/options.js';
import type { Detection, Image } from '../src/types.js';
import { DEFAULT_DATA, markdownTable, parseFlags, writeResult } from './common.js';
import { judgeImage, parseImglabXml, scoreAt, type Judged } from './detect-eval.js';
import { centralFace } from './lfw-faces.js';
import { lfwSubset } from './lfw-subset.js';

/** LFW photos are a Viola-Jones face box grown 2.2 times about its centre (LFW's README), so the face box is this share of the side. */
const LFW_FACE_SHARE = 1 / 2.2;
const MIN_IOU = 0.5;

const flags = parseFlags({
  data: DEFAULT_DATA,
  lfwLimit: 600,
  detectors: 'tiny,ssd,mtcnn',
  paddings: '0,0.2',
  retry: 'off,on',
  threads: 1,
  xml: 'training,testing',
  out: 'defaults',
});

/** The central square of `image` covering `share` of its shorter side. */
export function centralCrop(image: Image, share: number): Image {
  const side = Math.round(Math.min(image.width, image.height) * share);
  const x0 = Math.floor((image.width - side) / 2);
  const y0 = Math.floor((image.height - side) / 2);
  const data = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    const from = ((y0 + y) * image.width + x0) * 3;
    data.set(image.data.subarray(from, from + side * 3), y * side * 3);
  }
  return { width: side, height: side, data };
}

const coversCentre = (d: Detection, image: Image): boolean =>
  d.box.x <= image.width / 2 &&
  image.width / 2 <= d.box.x + d.box.width &&
  d.box.y <= image.height / 2 &&
  image.height / 2 <= d.box.y + d.box.height;

interface Row {
  detector: DetectorName;
  retry: boolean;
  padding: number;
  precision: number;
  recall: number;
  falsePositives: number;
  lfwFound: number;
  lfwCentral: number;
  tightFound: number;
  ms: number;
  /** Which detector answered on the LFW and tight-crop photos (retry passes show here). */
  answeredBy: Record<string, number>;
}

async function measure(
  options: FaceKitOptions,
  dlib: { dir: string; xml: string[] },
  lfw: readonly string[],
): Promise<Row> {
  const kit = createFaceKit({ ...options, threads: flags.threads });
  try {
    await kit.warmUp();
    const judged: Judged[] = [];
    let faces = 0;
    for (const t of dlib.xml.flatMap((x) => parseImglabXml(readFileSync(join(dlib.dir, `${x}.xml`), 'utf8')))) {
      judged.push(...judgeImage(t.boxes, await kit.detect(await loadImage(join(dlib.dir, t.file))), MIN_IOU));
      faces += t.boxes.filter((b) => !b.ignore).length;
    }
    const pr = scoreAt(judged, faces, 0);
    let found = 0,
      central = 0,
      tight = 0,
      ms = 0;
    const answeredBy: Record<string, number> = {};
    for (const file of lfw) {
      const photo = await loadImage(file);
      const crop = centralCrop(photo, LFW_FACE_SHARE);
      const t0 = performance.now();
      const onPhoto = await kit.detect(photo);
      const onCrop = await kit.detect(crop);
      ms += performance.now() - t0;
      if (onPhoto.length > 0) found++;
      const c = centralFace(onPhoto, photo, false);
      if (c && coversCentre(c, photo)) central++;
      if (onCrop.some((d) => coversCentre(d, crop))) tight++;
      for (const d of [c, onCrop[0]]) if (d?.detector) answeredBy[d.detector] = (answeredBy[d.detector] ?? 0) + 1;
    }
    return {
      detector: (options.detector ?? 'tiny') as DetectorName,
      retry: options.retryOnMiss === true,
      padding: options.padding ?? 0,
      precision: pr.precision,
      recall: pr.recall,
      falsePositives: pr.falsePositives,
      lfwFound: found / lfw.length,
      lfwCentral: central / lfw.length,
      tightFound: tight / lfw.length,
      ms: ms / (2 * lfw.length),
      answeredBy,
    };
  } finally {
    await kit.dispose();
  }
}

async function main(): Promise<void> {
  const dlib = { dir: join(flags.data, 'faces', 'dlib_detection'), xml: flags.xml.split(',') };
  const lfw = lfwSubset(join(flags.data, 'lfw'), flags.lfwLimit);
  const rows: Row[] = [];
  const pct = (x: number) => (100 * x).toFixed(1);
  for (const detector of flags.detectors.split(',') as DetectorName[])
    for (const retry of flags.retry.split(',').map((r) => r === 'on'))
      for (const padding of flags.paddings.split(',').map(Number)) {
        const options = { detector, retryOnMiss: retry, padding } as FaceKitOptions;
        const row = await measure(options, dlib, lfw);
        rows.push(row);
        process.stderr.write(`${JSON.stringify(row)}\n`);
      }
  const table = markdownTable(
    [
      'detector',
      'retry',
      'padding',
      'P',
      'R',
      'FP',
      'LFW found %',
      'LFW central %',
      'tight found %',
      'ms/photo',
      'answered by',
    ],
    rows.map((r) => [
      r.detector,
      r.retry ? 'on' : 'off',
      r.padding,
      r.precision.toFixed(3),
      r.recall.toFixed(3),
      r.falsePositives,
      pct(r.lfwFound),
      pct(r.lfwCentral),
      pct(r.tightFound),
      r.ms.toFixed(1),
      Object.entries(r.answeredBy)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ]),
  );
  console.log(
    `dlib_detection ${flags.xml} (xml); LFW: ${lfw.length} evenly spaced photos and their tight crops; ${flags.threads} thread(s)\n\n${table}`,
  );
  console.log(`wrote ${writeResult(flags.out, { flags, rows })}`);
}

await main();
