#!/usr/bin/env node
import { createRequire } from 'node:module';
import { Argument, Command, Option } from 'commander';
import { FaceKitError } from '../errors.js';
import { forTerminal } from '../util/terminal-text.js';
import { DEFAULT_OPEN_SET_FAR, DEFAULT_TOLERANCE } from '../entry/match.js';
import type { DemoCliOptions } from './demo.js';
import type { DetectCliOptions } from './detect.js';
import {
  aggregateOption,
  calibrateCommand,
  clusterCommand,
  enrollCommand,
  farOption,
  kOption,
  peopleCommand,
  verifyCommand,
} from './gallery-commands.js';
import { dbOption, withJsonErrors } from './gallery-options.js';
import { noRetryOption, photoAnalysisOptions, withOptions } from './analysis-options.js';
import { quietOption } from './progress.js';
import type { IdentifyCliOptions } from './identify.js';
import type { IdentifyGalleryCliOptions } from './identify-gallery.js';
import { findCommand, indexCommand } from './index-commands.js';
import { keysCommand } from './keys.js';
import type { ModelsAction, ModelsCliOptions } from './models.js';
import { watchCommand } from './watch.js';
import {
  cpusOption,
  DEFAULT_DEMO_DIR,
  jsonOption,
  modelOption,
  NO_PERSONS_FOUND,
  parseConfidence,
  parseTolerance,
  precisionOption,
  UNKNOWN_PERSON,
  upsampleOption,
} from './output.js';
import { serveCommand } from './serve.js';
import { evalCommand, trainCommand } from './train.js';
import { workerCommand } from './worker.js';

// Each command loads its module (and with it onnxruntime and sharp) only when it runs, so
// --help, --version and usage errors answer at once.

function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * face_recognition spells the flag `--show-distance true`; accept that (and `=true|false`) so
 * existing scripts keep working, while `--show-distance` alone is the plain switch.
 */
export function normalizeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const inline = /^--show-distance=(true|false)$/i.exec(arg);
    if (inline) {
      if (inline[1].toLowerCase() === 'true') out.push('--show-distance');
      continue;
    }
    if (arg === '--show-distance' && /^(true|false)$/i.test(argv[i + 1] ?? '')) {
      if (argv[i + 1].toLowerCase() === 'true') out.push(arg);
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

function detectCommand(): Command {
  return new Command('detect')
    .summary('find faces: file,top,right,bottom,left per face (face_detection)')
    .description(
      "find faces in photos; prints 'file,top,right,bottom,left' per face like face_recognition's face_detection",
    )
    .argument('<paths...>', 'image files or folders (walked recursively)')
    .addOption(modelOption())
    .addOption(upsampleOption())
    .addOption(precisionOption())
    .option(
      '--min-confidence <n>',
      'drop faces the detector scores below this (0 up to, not including, 1)',
      parseConfidence,
    )
    .addOption(cpusOption())
    .addOption(noRetryOption())
    .addOption(quietOption())
    .option('--landmarks', 'also find the 68 landmarks: appended as x,y columns, or under "landmarks" with --json')
    .addOption(jsonOption())
    .action(async (paths: string[], opts: DetectCliOptions, cmd: Command) => {
      if (opts.upsample !== undefined && opts.model !== 'mmod' && opts.model !== 'hog')
        cmd.error('facekit: --upsample needs --model hog or cnn');
      const { runDetect } = await import('./detect.js');
      process.exitCode = await runDetect(paths, opts);
    });
}

function identifyCommand(): Command {
  const cmd = new Command('identify')
    .summary('name the people in photos from a folder of known people (face_recognition) or from the gallery')
    .description(
      "name the people in photos, like face_recognition's CLI: prints 'file,name' per face, the closest known person " +
        `within the tolerance or ${UNKNOWN_PERSON}, and 'file,${NO_PERSONS_FOUND}' for a photo without faces`,
    )
    .usage('[options] <known_dir> <paths...>\n       facekit identify --db <file> | --gallery [options] <paths...>')
    .argument(
      '[known_dir]',
      'known people: <name>.jpg files, or <name>/ sub-folders holding several photos each (not with --db/--gallery)',
    )
    .argument('[paths...]', 'photos to identify: files or folders (walked recursively)')
    .addOption(
      new Option(
        '--tolerance <n>',
        `largest distance still called a match; lower is stricter (face_recognition: ${DEFAULT_TOLERANCE}). Default: the built-in calibration for --far over the number of known people (with a gallery: its calibrated threshold)`,
      ).argParser(parseTolerance),
    )
    .option(
      '--all-matches',
      'one line per known photo within the threshold, as face_recognition prints (default: one answer per face)',
    )
    .option('--show-distance', 'append the distance to the closest known person')
    .addOption(dbOption())
    .option('--gallery', 'identify against the gallery (the default file, or --db) instead of a folder of known people')
    .addOption(
      farOption(
        `share of strangers allowed a known person's name; with a known-people folder the built-in calibration, default ${DEFAULT_OPEN_SET_FAR}`,
      ),
    )
    .addOption(kOption())
    .addOption(aggregateOption());
  return withOptions(cmd, photoAnalysisOptions({ upsample: true })).action(
    async (
      knownDir: string | undefined,
      paths: string[],
      opts: IdentifyCliOptions & IdentifyGalleryCliOptions & { gallery?: boolean },
      cmd: Command,
    ) => {
      if (opts.db !== undefined || opts.gallery) {
        const photos = knownDir === undefined ? paths : [knownDir, ...paths];
        if (photos.length === 0) cmd.error("facekit: missing required argument 'paths'");
        const { runIdentifyGallery } = await import('./identify-gallery.js');
        // A tolerance the user typed overrides the calibration; the folder mode's default does not.
        const threshold = cmd.getOptionValueSource('tolerance') === 'cli' ? opts.tolerance : undefined;
        process.exitCode = await withJsonErrors(opts.json, () => runIdentifyGallery(photos, { ...opts, threshold }));
        return;
      }
      // A folder of known people has no calibration, no k and no aggregation: silently ignoring them would answer another question than the one asked.
      const galleryOnly = ['k', 'aggregate'].filter((o) => cmd.getOptionValueSource(o) === 'cli');
      if (galleryOnly.length > 0)
        cmd.error(
          `facekit: ${galleryOnly.map((o) => `--${o}`).join(', ')} need${galleryOnly.length === 1 ? 's' : ''} a gallery: add --db <file> or --gallery`,
        );
      if (cmd.getOptionValueSource('far') === 'cli' && cmd.getOptionValueSource('tolerance') === 'cli')
        cmd.error('facekit: give a tolerance or a false-accept rate, not both (--tolerance fixes the threshold)');
      if (opts.upsample !== undefined && opts.model !== 'mmod' && opts.model !== 'hog')
        cmd.error('facekit: --upsample needs --model hog or cnn');
      if (knownDir === undefined) cmd.error("facekit: missing required argument 'known_dir'");
      if (paths.length === 0) cmd.error("facekit: missing required argument 'paths'");
      const { runIdentify } = await import('./identify.js');
      process.exitCode = await runIdentify(knownDir as string, paths, opts);
    },
  );
}

function demoCommand(): Command {
  return new Command('demo')
    .summary('the whole pipeline on the sample photos facekit ships with')
    .description(
      'run the whole pipeline on the sample photos shipped with @vladmandic/face-api: faces per photo, who matches whom, annotated images',
    )
    .option('--out <dir>', 'folder for the annotated photos', DEFAULT_DEMO_DIR)
    .option('--force', 'replace annotated photos that exist already in --out')
    .addOption(modelOption())
    .addOption(jsonOption())
    .action(async (opts: DemoCliOptions) => {
      const { runDemo } = await import('./demo.js');
      process.exitCode = await runDemo(opts);
    });
}

function modelsCommand(): Command {
  return new Command('models')
    .summary('list, build or verify the cached models')
    .description(
      'list, build or verify the ONNX models built from the npm weights (once per machine; FACEKIT_CACHE_DIR moves the cache)',
    )
    .addArgument(new Argument('[action]', 'what to do').choices(['list', 'build', 'verify']).default('list'))
    .option('--force', 'build: rebuild every model, not only missing, stale or corrupt ones')
    .addOption(jsonOption())
    .action(async (action: ModelsAction, opts: ModelsCliOptions) => {
      const { runModels } = await import('./models.js');
      process.exitCode = await runModels(action, opts);
    });
}

export function buildProgram(): Command {
  const program = new Command('facekit')
    .description('face detection and recognition for Node.js: no compiler, no Python, no model download')
    .version(packageVersion())
    // Every complaint reads "facekit: …", whether commander or facekit raised it.
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'facekit: ')) })
    .showHelpAfterError('(add --help for usage)')
    .addCommand(detectCommand())
    .addCommand(identifyCommand())
    .addCommand(enrollCommand())
    .addCommand(indexCommand())
    .addCommand(findCommand())
    .addCommand(peopleCommand())
    .addCommand(verifyCommand())
    .addCommand(calibrateCommand())
    .addCommand(clusterCommand())
    .addCommand(demoCommand())
    .addCommand(modelsCommand())
    .addCommand(watchCommand())
    .addCommand(serveCommand())
    .addCommand(keysCommand())
    .addCommand(trainCommand())
    .addCommand(evalCommand())
    .addCommand(workerCommand())
    // `cluster` has options and subcommands: `cluster name 3 Bob --json` must give --json to `name`.
    .enablePositionalOptions();
  // addCommand() does not pass settings down the way command() does; the error style must reach every command, subcommands too.
  const inherit = (parent: Command): void => {
    for (const command of parent.commands) {
      command.copyInheritedSettings(parent);
      inherit(command);
    }
  };
  inherit(program);
  return program;
}

function describeBug(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const text = e.stack ?? e.message;
  return e.cause === undefined ? text : `${text}\ncaused by: ${describeBug(e.cause)}`;
}

async function main(): Promise<void> {
  // `facekit detect dir | head` closes the pipe early; that is the reader's choice, not a failure.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    // A full disk or a dead device (`> /dev/full`): say so once, without a stack, and fail.
    process.stderr.write(`facekit: cannot write the output (${e.code ?? e.message})\n`);
    process.exit(1);
  });
  try {
    await buildProgram().parseAsync(normalizeArgv(process.argv));
  } catch (e) {
    process.exitCode = 1;
    if (e instanceof FaceKitError) {
      process.stderr.write(`facekit: ${forTerminal(e.message)}\n`);
    } else {
      // Not a FaceKitError: a facekit bug, and the stack is what a bug report needs.
      process.stderr.write(`facekit: internal error: ${describeBug(e)}\n`);
    }
  }
}

await main();
