/**
 * The gallery's commands as commander sees them: enroll, people, verify, calibrate, cluster.
 * Parsing only; each action loads its module when it runs (see main.ts).
 */
import { embedderOption } from './output.js';
import { Command, Option } from 'commander';
import { AGGREGATIONS, CLUSTER_THRESHOLD, DEFAULT_K } from '../entry/match.js';
import { noRetryOption, photoAnalysisOptions, queueOptions, withOptions } from './analysis-options.js';
import type { CalibrateCliOptions } from './calibrate.js';
import { quietOption } from './progress.js';
import type { ClusterCliOptions, ClusterRunCliOptions } from './cluster.js';
import type { EnrollCliOptions } from './enroll.js';
import type { PeopleCliOptions } from './people.js';
import type { ReencodeCliOptions } from './people-reencode.js';
import type { VerifyCliOptions } from './verify.js';
import {
  collectMeta,
  collectValues,
  dbOption,
  parseFar,
  parseFars,
  parsePositiveInt,
  withJsonErrors,
} from './gallery-options.js';
import { cpusOption, jsonOption, modelOption, parseTolerance, precisionOption } from './output.js';

/** `--tolerance` in the gallery commands: absent means "the calibrated threshold", so it has no default. */
export function thresholdOption(): Option {
  return new Option(
    '--tolerance <n>',
    "largest distance still called a match; default: the gallery's calibrated threshold, else 0.6",
  ).argParser(parseTolerance);
}

export function farOption(what: string): Option {
  return new Option(
    '--far <rate>',
    `use the calibration made for this false-accept rate (${what}); default: the newest`,
  ).argParser(parseFar);
}

export function kOption(): Option {
  return new Option('--k <n>', 'nearest gallery faces looked at per face (with --db/--gallery)')
    .argParser(parsePositiveInt)
    .default(DEFAULT_K);
}

export function aggregateOption(): Option {
  return new Option(
    '--aggregate <mode>',
    "with --db/--gallery, how a person's faces combine: best (closest face), mean (of the closest 3), vote (most faces within the threshold)",
  )
    .choices(AGGREGATIONS)
    .default('best');
}

export function enrollCommand(): Command {
  const cmd = new Command('enroll')
    .summary('add people to the gallery from their photos')
    .description(
      'add known people to the gallery. A folder is read as known/<person>/*.jpg (and known/<person>.jpg); a file is the person its name says; ' +
        'with --name, every photo given is that person. A photo with several faces gives its largest, with a warning, as identify takes it (--one-face-only reports it instead). ' +
        'A photo already in the gallery (same bytes) is skipped. Each person is stored in one transaction.',
    )
    .argument('<paths...>', 'folders of known people, or photos')
    .option('--name <person>', 'enrol every photo given as this person')
    .option(
      '--one-face-only',
      'report and skip a photo with several faces (MULTIPLE_FACES) instead of taking its largest',
    )
    .addOption(new Option('--largest', 'take the largest face of a photo with several (now the default)').hideHelp())
    .option(
      '--meta <key=value>',
      'set this metadata on every person enrolled (repeatable; values are strings)',
      collectMeta,
    )
    .addOption(dbOption());
  return withOptions(cmd, [...queueOptions(), ...photoAnalysisOptions()]).action(
    async (paths: string[], opts: EnrollCliOptions) => {
      const { runEnroll } = await import('./enroll.js');
      process.exitCode = await withJsonErrors(opts.json, () => runEnroll(paths, opts));
    },
  );
}

function peopleSub(name: string, summary: string): Command {
  return new Command(name).summary(summary).description(summary).addOption(dbOption()).addOption(jsonOption());
}

export function peopleCommand(): Command {
  const people = new Command('people')
    .summary('list, show, set metadata of, rename, merge, remove or re-encode known people')
    .description('the people in the gallery');
  people.addCommand(
    peopleSub('list', 'list the known people and their face counts').action(async (opts: PeopleCliOptions) => {
      const { runPeopleList } = await import('./people.js');
      process.exitCode = await withJsonErrors(opts.json, () => runPeopleList(opts));
    }),
    { isDefault: true },
  );
  people.addCommand(
    peopleSub('show', "one person's metadata and faces, with face ids and source files")
      .argument('<person>')
      .action(async (person: string, opts: PeopleCliOptions) => {
        const { runPeopleShow } = await import('./people.js');
        process.exitCode = await withJsonErrors(opts.json, () => runPeopleShow(person, opts));
      }),
  );
  people.addCommand(
    peopleSub('rename', 'rename a person')
      .argument('<person>')
      .argument('<new_name>')
      .action(async (person: string, newName: string, opts: PeopleCliOptions) => {
        const { runPeopleRename } = await import('./people.js');
        process.exitCode = await withJsonErrors(opts.json, () => runPeopleRename(person, newName, opts));
      }),
  );
  people.addCommand(
    peopleSub('merge', 'move every face of one person to another and remove the first')
      .argument('<from>')
      .argument('<into>')
      .action(async (from: string, into: string, opts: PeopleCliOptions) => {
        const { runPeopleMerge } = await import('./people.js');
        process.exitCode = await withJsonErrors(opts.json, () => runPeopleMerge(from, into, opts));
      }),
  );
  people.addCommand(
    peopleSub('set', "set or remove keys of a person's metadata")
      .argument('<person>')
      .argument('[pairs...]', 'key=value pairs to set (values are strings)')
      .option('--unset <key>', 'remove this key (repeatable)', collectValues)
      .action(async (person: string, pairs: string[], opts: PeopleCliOptions & { unset?: string[] }) => {
        const { runPeopleSet } = await import('./people.js');
        process.exitCode = await withJsonErrors(opts.json, () => runPeopleSet(person, pairs, opts.unset ?? [], opts));
      }),
  );
  people.addCommand(
    peopleSub('remove', 'remove people and all their faces')
      .argument('<people...>')
      .action(async (names: string[], opts: PeopleCliOptions) => {
        const { runPeopleRemove } = await import('./people.js');
        process.exitCode = await withJsonErrors(opts.json, () => runPeopleRemove(names, opts));
      }),
  );
  people.addCommand(
    peopleSub('remove-face', 'remove faces by id (facekit people show lists them)')
      .argument('<face_ids...>')
      .action(async (ids: string[], opts: PeopleCliOptions) => {
        const { runPeopleRemoveFaces } = await import('./people.js');
        process.exitCode = await withJsonErrors(opts.json, () => runPeopleRemoveFaces(ids, opts));
      }),
  );
  people.addCommand(
    peopleSub(
      'reencode',
      'copy the gallery into a new one encoded with another embedder, from the photos it was enrolled from',
    )
      .requiredOption('--into <file|url>', 'the new gallery (created if missing; one person is written at a time)')
      .addOption(embedderOption().makeOptionMandatory())
      .option(
        '--photos <path>',
        'folder or photo to look in, by content, for faces whose enrolled file moved or changed (repeatable)',
        collectValues,
      )
      .option('--person <name>', 'only this person (repeatable; default: everyone)', collectValues)
      .addOption(modelOption())
      .action(async (opts: ReencodeCliOptions) => {
        const { runPeopleReencode } = await import('./people-reencode.js');
        process.exitCode = await withJsonErrors(opts.json, () => runPeopleReencode(opts));
      }),
  );
  return people;
}

export function verifyCommand(): Command {
  return new Command('verify')
    .summary('are two photos the same person? (1:1)')
    .description(
      "compare the largest face of two photos: prints 'a,b,same|different,distance,threshold'. The threshold is --tolerance, else the pair threshold " +
        'of the gallery calibration when --db or --far is given, else 0.6.',
    )
    .argument('<a>', 'first photo')
    .argument('<b>', 'second photo')
    .addOption(thresholdOption())
    .addOption(dbOption())
    .addOption(farOption('1:1'))
    .addOption(modelOption())
    .addOption(precisionOption())
    .addOption(embedderOption())
    .addOption(noRetryOption())
    .addOption(jsonOption())
    .action(async (a: string, b: string, opts: VerifyCliOptions & { tolerance?: number }) => {
      const { runVerify } = await import('./verify.js');
      process.exitCode = await withJsonErrors(opts.json, () => runVerify(a, b, { ...opts, threshold: opts.tolerance }));
    });
}

export function calibrateCommand(): Command {
  return new Command('calibrate')
    .summary('thresholds for a target false-accept rate, stored in the gallery')
    .description(
      'measure the distance thresholds at which strangers are accepted at the given false-accept rate(s) and store them in the gallery: ' +
        'a pair threshold (1:1, verify) from impostor pairs, and a search threshold (1:N, identify) from searching the gallery with faces ' +
        "of people not in it. Uses the gallery's own faces, or a labelled folder (<person>/*.jpg) with --from.",
    )
    .requiredOption(
      '--far <rates>',
      'target false-accept rate(s), comma-separated, e.g. 0.001 or 0.01,0.001 (the first becomes the default)',
      parseFars,
    )
    .option('--from <dir>', 'calibrate on this labelled folder instead of the gallery: <person>/ sub-folders of photos')
    .addOption(dbOption())
    .addOption(cpusOption())
    .addOption(modelOption())
    .addOption(precisionOption())
    .addOption(embedderOption())
    .addOption(noRetryOption())
    .addOption(quietOption())
    .addOption(jsonOption())
    .action(async (opts: CalibrateCliOptions) => {
      const { runCalibrate } = await import('./calibrate.js');
      process.exitCode = await withJsonErrors(opts.json, () => runCalibrate(opts));
    });
}

function runOption(): Option {
  return new Option('--run <id>', 'cluster run (default: the newest)').argParser(parsePositiveInt);
}

export function clusterCommand(): Command {
  const cluster = new Command('cluster')
    .summary('group the faces of unknown people in a photo collection')
    .description(
      'find every face in the photos, leave out faces of people the gallery knows (unless --include-known), group the rest by person ' +
        "(Chinese whispers over faces closer than --threshold) and save the groups in the gallery; 'facekit cluster name <n> <person>' " +
        "then enrols a group in one step, and 'facekit cluster list' shows them again.",
    )
    .argument('[paths...]', 'photos or folders (walked recursively)')
    .addOption(
      new Option('--threshold <n>', 'faces closer than this are linked')
        .argParser(parseTolerance)
        .default(CLUSTER_THRESHOLD),
    )
    .option('--include-known', 'cluster faces of known people too')
    .option('--out <dir>', 'also write each cluster as a folder of face crops')
    .option('--force', 'replace face crops that exist already in --out')
    .addOption(dbOption())
    .option(
      '--queue <redis-url>',
      'analyse the photos as jobs on this Redis queue, taken by `facekit worker` processes (any hosts that see the same paths); a re-run reuses finished jobs',
    )
    .option('--job-photos <n>', 'with --queue: photos per job (default 20)', parsePositiveInt)
    .addOption(cpusOption())
    .addOption(modelOption())
    .addOption(precisionOption())
    .addOption(embedderOption())
    .addOption(noRetryOption())
    .addOption(quietOption())
    .addOption(jsonOption())
    .action(async (paths: string[], opts: ClusterCliOptions, cmd: Command) => {
      if (paths.length === 0)
        cmd.error("facekit: missing photos: give 'facekit cluster <paths...>', or a subcommand (list, name)");
      const { runCluster } = await import('./cluster.js');
      process.exitCode = await withJsonErrors(opts.json, () => runCluster(paths, opts));
    });
  cluster.addCommand(
    new Command('list')
      .summary('show the clusters of a saved run')
      .description('show the clusters of a saved run')
      .addOption(runOption())
      .addOption(dbOption())
      .addOption(jsonOption())
      .action(async (opts: ClusterRunCliOptions) => {
        const { runClusterList } = await import('./cluster.js');
        process.exitCode = await withJsonErrors(opts.json, () => runClusterList(opts));
      }),
  );
  cluster.addCommand(
    new Command('name')
      .summary('enrol every face of a cluster as a person')
      .description('enrol every face of a cluster as a person (new or existing), in one transaction')
      .argument('<cluster>', 'cluster number, as facekit cluster printed it', parsePositiveInt)
      .argument('<person>', 'name to enrol the faces under')
      .addOption(runOption())
      .addOption(dbOption())
      .addOption(jsonOption())
      .action(async (n: number, person: string, opts: ClusterRunCliOptions) => {
        const { runClusterName } = await import('./cluster.js');
        process.exitCode = await withJsonErrors(opts.json, () => runClusterName(n, person, opts));
      }),
  );
  return cluster;
}
