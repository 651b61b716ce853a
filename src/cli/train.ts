import { Command, InvalidArgumentError, Option } from 'commander';
import type { DetectorName } from '../entry/detect.js';
import { embedderNames } from '../entry/embed.js';
import { FaceKitError } from '../errors.js';
import type { FaceKitOptions } from '../pipeline/options.js';
import { MININGS, type Mining } from '../entry/train.js';
import { TRAINED_PARTS, type TrainedPart } from '../entry/train.js';
import type { EpochReport } from '../entry/train.js';
import { forTerminal } from '../util/terminal-text.js';
import { jsonOption, modelOption, printJson } from './output.js';
import { quietOption, startProgress } from './progress.js';

/**
 * `facekit train` and `facekit eval` (issue 13): tune dlib's last layer on a folder of people and
 * save it as an embedder of its own; measure embedders side by side on held-out people.
 */

/** A commander parser for a whole number of at least `min`. */
function intAtLeast(flag: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!(Number.isInteger(n) && n >= min))
      throw new InvalidArgumentError(
        `${flag} must be ${min === 1 ? 'a positive integer' : 'a whole number'}, got "${value}"`,
      );
    return n;
  };
}

interface TrainCliOptions {
  out: string;
  mining: Mining;
  train: TrainedPart;
  flip?: boolean;
  epochs: number;
  seed: number;
  force?: boolean;
  model: DetectorName;
  quiet?: boolean;
  json?: boolean;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

function epochLine(r: EpochReport): string {
  return (
    `epoch ${r.epoch}/${r.epochs}  loss ${r.loss.toFixed(4)}  active ${(100 * r.active).toFixed(0)}%  ` +
    `a-p ${r.meanPositive.toFixed(3)}  a-n ${r.meanNegative.toFixed(3)}  validation ${pct(r.validation)}${r.best ? '  (best)' : ''}`
  );
}

export function trainCommand(): Command {
  return new Command('train')
    .summary('tune the 128-d embedder on your own people (triplet loss, online hard mining)')
    .description(
      'tune the last layer of the 128-d network on a folder of people (<dataset_dir>/<person>/<photos>), ' +
        "starting from the stock weights; saves the embedder '<name>' (model id dlib128+<name>) in the model " +
        'cache, used with --embedder <name> or createFaceKit({ embedder: name }). Faces are detected, aligned ' +
        'and run through the frozen network once per photo (cached); a share of the people is held out to stop ' +
        'early and pick the threshold.',
    )
    .argument('<dataset_dir>', 'one sub-folder per person, 4 or more people with 2 or more photos each')
    .requiredOption('--out <name>', 'name of the new embedder (letters, digits, - and _)')
    .addOption(
      new Option('--mining <kind>', 'how each batch picks what it learns from').choices(MININGS).default('batch-hard'),
    )
    .addOption(
      new Option(
        '--train <part>',
        "what is trained: the final layer, it and a small residual head, or it and the network's last residual block",
      )
        .choices(TRAINED_PARTS)
        .default('fc'),
    )
    .option('--flip', "also learn from each photo's mirror image (an extra photo of the same person)")
    .option('--epochs <n>', 'most passes over the people (early stopping ends sooner)', intAtLeast('--epochs', 1), 30)
    .option(
      '--seed <n>',
      'seed of the batches and the split: the same seed gives the same model',
      intAtLeast('--seed', 0),
      1,
    )
    .option('--force', 'replace a saved embedder of the same name')
    .addOption(modelOption())
    .addOption(quietOption())
    .addOption(jsonOption())
    .action(async (dir: string, opts: TrainCliOptions) => {
      const { trainFromFolder } = await import('../entry/train.js');
      let progress: ReturnType<typeof startProgress> | undefined;
      const result = await trainFromFolder(dir, opts.out, {
        mining: opts.mining,
        part: opts.train,
        flip: opts.flip === true,
        epochs: opts.epochs,
        seed: opts.seed,
        replace: opts.force === true,
        kit: { detector: opts.model } as FaceKitOptions,
        onPhoto: (done, total, _file, found) => {
          progress ??= startProgress(total, { quiet: opts.quiet });
          progress.tick({ ok: true, faces: found ? [found] : [] });
          if (done === total) progress.finish();
        },
        onEpoch: (r) => {
          if (!opts.quiet) process.stderr.write(`${epochLine(r)}\n`);
        },
      });
      if (opts.json) {
        printJson(result);
        return;
      }
      const kept =
        result.bestEpoch === 0
          ? 'no epoch beat the stock layer on the validation people: the saved embedder equals the stock one'
          : `kept epoch ${result.bestEpoch}`;
      process.stdout.write(
        `${forTerminal(result.name)}: ${result.modelId}, ${result.facesFound}/${result.photos} photos with a face, ` +
          `${result.trainPeople} people trained on, ${result.validationPeople} validated\n` +
          `validation accuracy ${pct(result.stockValidation)} stock -> ${pct(result.validation)} tuned (${kept}); threshold ${result.threshold.toFixed(3)}\n` +
          `saved ${forTerminal(result.onnx)}\n`,
      );
    });
}

interface EvalCliOptions {
  embedder: string[];
  roc?: string;
  model: DetectorName;
  seed: number;
  quiet?: boolean;
  json?: boolean;
}

export function evalCommand(): Command {
  return new Command('eval')
    .summary('verification accuracy, ROC, TAR@FAR=1e-3 and open-set identification per embedder')
    .description(
      'run every photo of a folder of people (<dataset_dir>/<person>/<photos>; people the embedders were not ' +
        'trained on) through the pipeline with each embedder named, and compare: verification over every pair ' +
        "(accuracy at the embedder's threshold and at the best one, TAR at FAR=1e-3), open-set identification " +
        '(half the people enrolled from one photo, the others strangers) and a ROC plot (--roc file.svg or file.png)',
    )
    .argument('<dataset_dir>', 'one sub-folder per person')
    .option(
      '--embedder <names>',
      `embedders to compare, comma-separated (built-in: ${embedderNames().join(', ')}; or a name 'facekit train' saved)`,
      (v: string) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ['dlib128'],
    )
    .option('--roc <file>', 'write the ROC curves as a plot: file.svg or file.png')
    .option('--seed <n>', 'seed of the known/stranger split', intAtLeast('--seed', 0), 1)
    .addOption(modelOption())
    .addOption(quietOption())
    .addOption(jsonOption())
    .action(async (dir: string, opts: EvalCliOptions) => {
      if (opts.embedder.length === 0)
        throw new FaceKitError('INVALID_ARGUMENT', '--embedder: name at least one embedder', { field: 'embedder' });
      const { evaluateFolder, rocFormat, writeRocPlot } = await import('../entry/train.js');
      // A wrong plot name fails before any photo is read.
      if (opts.roc !== undefined) rocFormat(opts.roc);
      let progress: ReturnType<typeof startProgress> | undefined;
      const results = await evaluateFolder(dir, opts.embedder, {
        kit: { detector: opts.model } as FaceKitOptions,
        seed: opts.seed,
        onPhoto: (_e, done, total, found) => {
          progress ??= startProgress(total, { quiet: opts.quiet });
          progress.tick({ ok: true, faces: found ? [found] : [] });
          if (done === total) {
            progress.finish();
            progress = undefined;
          }
        },
      });
      if (opts.roc) await writeRocPlot(opts.roc, results);
      if (opts.json) {
        printJson(
          results.map(({ roc, ...rest }) => ({
            ...rest,
            tarAtFar1e3: Number.isNaN(rest.tarAtFar1e3) ? null : rest.tarAtFar1e3,
            rocPoints: roc.length,
          })),
        );
        return;
      }
      for (const r of results) {
        const id = r.identification;
        process.stdout.write(
          `${forTerminal(r.embedder)} (${forTerminal(r.modelId)}): ${r.facesFound}/${r.photos} faces; ${r.samePairs} same / ${r.otherPairs} different pairs\n` +
            `  verification: ${pct(r.accuracy)} at its threshold ${r.threshold}, best ${pct(r.bestAccuracy)} at ${r.bestThreshold.toFixed(3)}; ` +
            `TAR@FAR=1e-3 ${Number.isNaN(r.tarAtFar1e3) ? 'n/a (under 1000 different pairs)' : pct(r.tarAtFar1e3)}\n` +
            `  open set: ${id.identified}/${id.knownProbes} known probes named right, ${id.falseAccepts}/${id.strangerProbes} strangers given a name\n`,
        );
      }
      if (opts.roc) process.stdout.write(`ROC plot: ${forTerminal(opts.roc)}\n`);
    });
}
