/**
 * `npm run bench:train`: does tuning the last layer on other people help on LFW?
 *
 * Protocol (issue 13): for fold i of pairs.txt, train only on people who appear in no pair of fold
 * i (10% of them, by person, are the validation split for early stopping and the threshold), then
 * score fold i's 600 pairs; a pair whose photo has no face found counts as wrong. Stock and tuned
 * embedders see the same faces (one detection, one alignment, the same cached features: the stock
 * descriptor is features · stock fc). Both take their threshold from the same validation people;
 * the stock model's standard 10-fold score (threshold from the other 9 folds) is reported too.
 * TAR@FAR=1e-3 pools the 6000 pairs (each scored by its fold's model): 3000 impostor pairs.
 * Features come from bench/train-features.ts's cache (computed on first use).
 *
 * Then five_celebrities: train on train/ (people split for validation), identify val/ photos
 * against the mean descriptor of each person's train/ photos, stock vs tuned.
 */
import { join } from 'node:path';
import { createFaceKit } from '../src/pipeline/kit.js';
import { readDataset, splitByPerson } from '../src/train/dataset.js';
import { FeatureCache, fileFeatures, largestFace, type RecordLayout, recordViews } from '../src/train/features.js';
import type { Mining } from '../src/train/loss.js';
import { DIMS, embed, initialParams, type Params, seeded, type TrainedPart } from '../src/train/model.js';
import { FeatureNetwork, stockTail } from '../src/train/network.js';
import { trainTail } from '../src/train/trainer.js';
import { bestBalancedAccuracy, pairDistances, rocCurve, tarAtFar } from '../src/train/verify.js';
import { DEFAULT_DATA, machine, markdownTable, mean, parseFlags, std, writeResult } from './common.js';
import { readPairs, tenFold } from './lfw-protocol.js';
import {
  DEFAULT_FEATURE_CACHE,
  LFW_FEATURE_SETTINGS,
  lfwChooser,
  lfwPhotos,
  STAGE_FLIP_LAYOUT,
} from './train-features.js';

const flags = parseFlags({
  data: DEFAULT_DATA,
  cache: DEFAULT_FEATURE_CACHE,
  perPerson: 4,
  folds: 10,
  /** First fold scored (with --folds: folds firstFold..folds-1), so the folds can be split across processes. */
  firstFold: 0,
  epochs: 15,
  /** part:mining[:flip], comma-separated. */
  rows: 'fc:batch-hard,fc:semi-hard,fc:dlib-pair,fc+head:batch-hard,last-stage:batch-hard,fc:batch-hard:flip',
  seed: 1,
  lr: 1e-4,
  anchor: 1e-3,
  patience: 4,
  people: 16,
  photos: 4,
  margin: 0.2,
  skipCelebrities: false,
  /** Result file name under bench/results/ (parallel runs of different rows write apart). */
  result: 'train',
  skipLfw: false,
});

interface Row {
  readonly name: string;
  readonly part?: TrainedPart;
  readonly mining?: Mining;
  readonly flip?: boolean;
}

/** One LFW photo's cached views: the plain chip and its mirror, each with the last block's input. */
interface Photo {
  readonly features: Float32Array;
  readonly stage: Float32Array;
  readonly flipFeatures: Float32Array;
  readonly flipStage: Float32Array;
}

function distance(p: Params, a: Photo, b: Photo): number {
  const e = embed(p, [a.features, b.features], [a.stage, b.stage]);
  let s = 0;
  for (let k = 0; k < DIMS; k++) s += (e[k] - e[DIMS + k]) ** 2;
  return Math.sqrt(s);
}

async function extract(files: string[], settings: string, choose = lfwChooser, layout?: RecordLayout) {
  const kit = createFaceKit({ detector: 'tiny', threads: 2, rescueMinConfidence: 0.1 });
  const network = await FeatureNetwork.open({ threads: 2 }, { stage: layout?.stage });
  try {
    return await fileFeatures(files, { kit, network, cache: new FeatureCache(flags.cache, settings, layout), choose });
  } finally {
    await kit.dispose();
    await network.dispose();
  }
}

async function lfw() {
  const lfwDir = join(flags.data, 'lfw');
  const photos = lfwPhotos(lfwDir, flags.perPerson);
  process.stderr.write(`LFW: features of ${photos.length} photos (cached in ${flags.cache})\n`);
  const records = await extract(
    photos.map((p) => join(lfwDir, p)),
    LFW_FEATURE_SETTINGS,
    lfwChooser,
    STAGE_FLIP_LAYOUT,
  );
  const feats: (Photo | null)[] = records.map((r) => {
    if (!r) return null;
    const [plain, mirror] = recordViews(r, STAGE_FLIP_LAYOUT);
    return {
      features: plain.features,
      stage: plain.stage as Float32Array,
      flipFeatures: mirror.features,
      flipStage: mirror.stage as Float32Array,
    };
  });
  const byPath = new Map(photos.map((p, i) => [p.replace(/^images\//, ''), feats[i]]));
  const pairs = readPairs(lfwDir);
  const stock = await stockTail({ lastStage: true });
  const stockParams = initialParams(stock, 'fc', seeded(1));
  const personOf = (p: string) => p.split('/')[0];
  const allPeople = [...new Set(photos.map((p) => personOf(p.replace(/^images\//, ''))))].sort();
  const personIndex = new Map(allPeople.map((p, i) => [p, i]));
  const missing = photos.filter((_, i) => feats[i] === null).length;

  const rows: Row[] = [
    { name: 'stock' },
    ...flags.rows
      .split(',')
      .filter(Boolean)
      .map((r) => {
        const [part, mining, aug] = r.split(':') as [TrainedPart, Mining, string | undefined];
        return { name: `${part} ${mining}${aug === 'flip' ? ' + flip' : ''}`, part, mining, flip: aug === 'flip' };
      }),
  ];
  const folds = Math.min(10, flags.folds);
  const first = Math.max(0, Math.min(folds - 1, flags.firstFold));
  const inRun = (fold: number) => fold >= first && fold < folds;
  const foldCount = folds - first;
  const results: Record<string, unknown>[] = [];
  const partial: Record<string, unknown> = {};
  const pairDist = (p: Params, i: number) => {
    const a = byPath.get(pairs[i].a),
      b = byPath.get(pairs[i].b);
    return a && b ? distance(p, a, b) : Number.NaN;
  };
  // Stock, standard LFW scoring (threshold from the other 9 folds) as the reference line.
  const stockAll = pairs.map((_, i) => pairDist(stockParams, i));
  const standard = tenFold(pairs, stockAll).foldAccuracies.slice(first, folds);

  for (const row of rows) {
    const accs: number[] = [];
    const distances = new Array<number>(pairs.length).fill(Number.NaN);
    let cpu = 0,
      wall = 0,
      epochs = 0,
      bestEpochs: number[] = [];
    let peakRss = 0;
    for (let f = first; f < folds; f++) {
      const foldIdx = pairs.map((_, i) => i).filter((i) => pairs[i].fold === f);
      const excluded = new Set(foldIdx.flatMap((i) => [personOf(pairs[i].a), personOf(pairs[i].b)]));
      const kept: Photo[] = [];
      const labels: number[] = [];
      photos.forEach((p, i) => {
        const person = personOf(p.replace(/^images\//, ''));
        const x = feats[i];
        if (x && !excluded.has(person)) {
          kept.push(x);
          labels.push(personIndex.get(person) as number);
        }
      });
      const samples = {
        features: kept.map((x) => x.features),
        stage: kept.map((x) => x.stage),
        flipFeatures: kept.map((x) => x.flipFeatures),
        flipStage: kept.map((x) => x.flipStage),
        labels: Int32Array.from(labels),
      };
      const split = splitByPerson(samples, 0.1, flags.seed + f);
      let params = stockParams;
      if (row.part && row.mining) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const r = await trainTail(split.train, split.validation, stock, {
          part: row.part,
          mining: row.mining,
          flip: row.flip,
          epochs: flags.epochs,
          seed: flags.seed + f,
          learningRate: flags.lr,
          anchor: flags.anchor,
          patience: flags.patience,
          margin: flags.margin,
          batch: { people: flags.people, photos: flags.photos },
          onEpoch: (e) => {
            peakRss = Math.max(peakRss, process.memoryUsage().rss);
            process.stderr.write(
              `    epoch ${e.epoch} loss ${e.loss.toFixed(4)} active ${(100 * e.active).toFixed(0)}% a-p ${e.meanPositive.toFixed(3)} a-n ${e.meanNegative.toFixed(3)} val ${(100 * e.validation).toFixed(2)}%\n`,
            );
          },
        });
        const c = process.cpuUsage(c0);
        cpu += (c.user + c.system) / 1e6;
        wall += (performance.now() - t0) / 1000;
        epochs += r.history.length;
        bestEpochs.push(r.bestEpoch);
        params = r.params;
      }
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      const v = pairDistances(
        embed(params, split.validation.features, split.validation.stage),
        split.validation.labels,
        DIMS,
      );
      const t = bestBalancedAccuracy(v.same, v.other).threshold;
      let ok = 0;
      for (const i of foldIdx) {
        const d = pairDist(params, i);
        distances[i] = d;
        if (!Number.isNaN(d) && d <= t === pairs[i].same) ok++;
      }
      accs.push(ok / foldIdx.length);
      process.stderr.write(
        `  ${row.name} fold ${f}: ${(100 * accs[accs.length - 1]).toFixed(2)}% (threshold ${t.toFixed(3)}; train CPU so far ${cpu.toFixed(1)} s, epochs ${epochs}, peak RSS ${Math.round(peakRss / 2 ** 20)} MB)\n`,
      );
      // On a shared machine a run may have to be stopped: what is done so far survives it.
      partial[row.name] = {
        pairDistances: Object.fromEntries(foldIdx.map((i) => [i, distances[i]])),
        folds: accs.length,
        foldAccuracies: accs,
        trainCpuSeconds: cpu,
        epochs,
        bestEpochs,
        peakRssMB: Math.round(peakRss / 2 ** 20),
      };
      writeResult(`${flags.result}.partial`, { flags, rows: partial });
    }
    const scored = pairs.map((_, i) => i).filter((i) => inRun(pairs[i].fold) && !Number.isNaN(distances[i]));
    const same = Float64Array.from(scored.filter((i) => pairs[i].same).map((i) => distances[i]));
    const other = Float64Array.from(scored.filter((i) => !pairs[i].same).map((i) => distances[i]));
    // Missing pairs count as rejected: TAR over every same pair, FAR over every impostor pair.
    const allSame = pairs.filter((p) => inRun(p.fold) && p.same).length;
    const allOther = pairs.filter((p) => inRun(p.fold) && !p.same).length;
    const roc = rocCurve(same, other).map((pt) => ({
      ...pt,
      tar: (pt.tar * same.length) / allSame,
      far: (pt.far * other.length) / allOther,
    }));
    results.push({
      row: row.name,
      part: row.part ?? null,
      mining: row.mining ?? null,
      flip: row.flip ?? false,
      folds: foldCount,
      firstFold: first,
      accuracy: mean(accs),
      std: std(accs),
      foldAccuracies: accs,
      tarAtFar1e3: tarAtFar(roc, 1e-3, allOther),
      trainCpuSecondsPerFold: row.part ? cpu / foldCount : 0,
      trainWallSecondsPerFold: row.part ? wall / foldCount : 0,
      epochsPerFold: row.part ? epochs / foldCount : 0,
      bestEpochs,
      peakRssMB: Math.round(peakRss / 2 ** 20),
    });
  }
  return {
    photos: photos.length,
    missing,
    standardStock: { accuracy: mean(standard), std: std(standard) },
    rows: results,
  };
}

async function celebrities() {
  const root = join(flags.data, 'faces', 'five_celebrities');
  const train = await readDataset(join(root, 'train'));
  const val = await readDataset(join(root, 'val'));
  const toSamples = async (people: typeof train) => {
    const files = people.flatMap((p) => p.files);
    const labels = people.flatMap((p, i) => p.files.map(() => i));
    const f = await extract(files, 'dataset:tiny+retry+rescue0.1:largest', largestFace, STAGE_FLIP_LAYOUT);
    const keep = f.map((x, i) => (x ? i : -1)).filter((i) => i >= 0);
    const views = keep.map((i) => recordViews(f[i] as Float32Array, STAGE_FLIP_LAYOUT));
    return {
      features: views.map((v) => v[0].features),
      stage: views.map((v) => v[0].stage as Float32Array),
      flipFeatures: views.map((v) => v[1].features),
      flipStage: views.map((v) => v[1].stage as Float32Array),
      labels: Int32Array.from(keep.map((i) => labels[i])),
      total: files.length,
    };
  };
  const trainS = await toSamples(train);
  const valS = await toSamples(val);
  // train/ says 'Jerry Seinfield', val/ 'jerry_seinfeld': the first name, lower-cased, is the key.
  const key = (name: string) => name.toLowerCase().split(/[ _]/)[0];
  const valNames = val.map((p) => key(p.person));
  const trainNames = train.map((p) => key(p.person));
  const stock = await stockTail({ lastStage: true });
  const split = splitByPerson(trainS, 0.4, flags.seed);
  const out: Record<string, unknown>[] = [];
  const rows: Row[] = [
    { name: 'stock' },
    { name: 'fc batch-hard', part: 'fc', mining: 'batch-hard' },
    { name: 'fc dlib-pair', part: 'fc', mining: 'dlib-pair' },
    { name: 'last-stage batch-hard', part: 'last-stage', mining: 'batch-hard' },
    { name: 'fc batch-hard + flip', part: 'fc', mining: 'batch-hard', flip: true },
  ];
  for (const row of rows) {
    let params = initialParams(stock, 'fc', seeded(1));
    let threshold = 0.6;
    if (row.part && row.mining) {
      const r = await trainTail(split.train, split.validation, stock, {
        part: row.part,
        mining: row.mining,
        flip: row.flip,
        epochs: 30,
        seed: flags.seed,
      });
      params = r.params;
      threshold = r.threshold;
    }
    // Gallery: each person's mean train/ descriptor; every val/ photo identified against it.
    const e = embed(params, trainS.features, trainS.stage);
    const centres = trainNames.map((_, p) => {
      const c = new Float64Array(DIMS);
      let n = 0;
      trainS.labels.forEach((l, i) => {
        if (l !== p) return;
        n++;
        for (let k = 0; k < DIMS; k++) c[k] += e[i * DIMS + k];
      });
      return c.map((v) => v / Math.max(1, n));
    });
    const q = embed(params, valS.features, valS.stage);
    let right = 0,
      rightWithin = 0;
    valS.labels.forEach((l, i) => {
      let best = -1,
        bestD = Infinity;
      centres.forEach((c, p) => {
        let s = 0;
        for (let k = 0; k < DIMS; k++) s += (q[i * DIMS + k] - c[k]) ** 2;
        if (Math.sqrt(s) < bestD) {
          bestD = Math.sqrt(s);
          best = p;
        }
      });
      if (trainNames[best] === valNames[l]) {
        right++;
        if (bestD <= threshold) rightWithin++;
      }
    });
    out.push({
      row: row.name,
      probes: valS.total,
      facesFound: valS.labels.length,
      identified: right / valS.total,
      identifiedWithinThreshold: rightWithin / valS.total,
      threshold,
    });
  }
  return out;
}

const result: Record<string, unknown> = { machine: machine(), flags };
if (!flags.skipLfw) {
  const r = await lfw();
  result.lfw = r;
  console.log(
    `\nLFW, ${r.rows[0].folds as number} folds, ${r.photos} photos (${r.missing} without a face found; missing = wrong)`,
  );
  console.log(
    `stock, standard scoring (threshold from the other folds): ${(100 * r.standardStock.accuracy).toFixed(2)}% ± ${(100 * r.standardStock.std).toFixed(2)}\n`,
  );
  console.log(
    markdownTable(
      ['embedder', 'accuracy %', '± std', 'TAR@FAR=1e-3 %', 'train CPU s/fold', 'epochs/fold', 'peak RSS MB'],
      r.rows.map((x) => [
        x.row as string,
        (100 * (x.accuracy as number)).toFixed(2),
        (100 * (x.std as number)).toFixed(2),
        (100 * (x.tarAtFar1e3 as number)).toFixed(2),
        (x.trainCpuSecondsPerFold as number).toFixed(1),
        (x.epochsPerFold as number).toFixed(1),
        x.peakRssMB as number,
      ]),
    ),
  );
}
if (!flags.skipCelebrities) {
  const c = await celebrities();
  result.fiveCelebrities = c;
  console.log('\nfive_celebrities: train on train/, identify val/ (mean descriptor per person)\n');
  console.log(
    markdownTable(
      ['embedder', 'val photos', 'faces found', 'identified %', 'identified within threshold %', 'threshold'],
      c.map((x) => [
        x.row as string,
        x.probes as number,
        x.facesFound as number,
        (100 * (x.identified as number)).toFixed(1),
        (100 * (x.identifiedWithinThreshold as number)).toFixed(1),
        (x.threshold as number).toFixed(3),
      ]),
    ),
  );
}
console.log(`\n${writeResult(flags.result, result)}`);
