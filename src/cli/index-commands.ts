/**
 * The photo index's commands as commander sees them: `index` (store every face of a photo archive)
 * and `find` (the indexed photos where a face or a person appears). Parsing only; each action loads
 * its module when it runs (see main.ts).
 */
import { Command, Option } from 'commander';
import { noRetryOption, photoAnalysisOptions, queueOptions, withOptions } from './analysis-options.js';
import type { FindCliOptions } from './find.js';
import { farOption, thresholdOption } from './gallery-commands.js';
import { dbOption, parsePositiveInt, withJsonErrors } from './gallery-options.js';
import type { IndexCliOptions } from './index-photos.js';
import { embedderOption, jsonOption, modelOption, precisionOption } from './output.js';
import { quietOption } from './progress.js';

export function indexCommand(): Command {
  const cmd = new Command('index')
    .summary('store every face of every photo (unlabelled), to find later where a person appears')
    .description(
      'index a photo archive: every face of every photo is stored in the gallery (--db) with its photo, box, detector score and descriptor, ' +
        'unlabelled; `facekit find` then lists the photos where a face or an enrolled person appears. A photo already indexed (same bytes) is skipped, ' +
        'so a stopped run is resumed by running it again; an unreadable photo is reported and the run goes on.',
    )
    .argument('<paths...>', 'photos, or folders (walked recursively)')
    .addOption(dbOption());
  return withOptions(cmd, [...queueOptions(), ...photoAnalysisOptions({ upsample: true })]).action(
    async (paths: string[], opts: IndexCliOptions) => {
      const { runIndex } = await import('./index-photos.js');
      process.exitCode = await withJsonErrors(opts.json, () => runIndex(paths, opts));
    },
  );
}

export function findCommand(): Command {
  return new Command('find')
    .summary('the indexed photos where a face or a person appears (after facekit index)')
    .description(
      "search the photo index (facekit index) for the largest face of a photo, or for every enrolled face of --person: prints 'file,distance,top,right,bottom,left' " +
        "per photo, closest first. The threshold is --tolerance, else the gallery's calibrated pair threshold, else the built-in one (as verify).",
    )
    .argument('[photo]', 'a photo of the face to look for')
    .option('--person <name>', 'look for this enrolled person instead of a photo')
    .addOption(thresholdOption())
    .addOption(farOption('1:1'))
    .addOption(new Option('--limit <n>', 'most photos listed (default 100)').argParser(parsePositiveInt))
    .addOption(dbOption())
    .addOption(modelOption())
    .addOption(precisionOption())
    .addOption(embedderOption())
    .addOption(noRetryOption())
    .addOption(quietOption())
    .addOption(jsonOption())
    .action(async (photo: string | undefined, opts: FindCliOptions & { tolerance?: number }) => {
      const { runFind } = await import('./find.js');
      process.exitCode = await withJsonErrors(opts.json, () => runFind(photo, { ...opts, threshold: opts.tolerance }));
    });
}
