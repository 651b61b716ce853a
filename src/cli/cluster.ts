/**
 * `facekit cluster <paths...>`: groups the faces of people nobody has named yet and saves the
 * groups in the gallery; `facekit cluster name <n> <person>` then enrols a whole group in one step.
 */
import { basename, extname, join, resolve } from 'node:path';
import { clusterFaces } from '../entry/match.js';
import type { DetectorName } from '../entry/detect.js';
import type { Precision } from '../entry/models.js';
import { FaceKitError } from '../errors.js';
import type { ClusterFace, ClusterRun, Gallery } from '../entry/gallery.js';
import type { Box, Image } from '../index.js';
import { loadImage } from '../entry/image.js';
import { makeOutputSubfolder, prepareOutputFolder, uniqueName, writeNewFile } from '../util/output-folder.js';
import { collectPhotos, type InputError } from './files.js';
import { hashFiles } from '../pipeline/enroll.js';
import { warnAboutThreshold, withGallery, type DbCliOptions } from './gallery.js';
import {
  DISTANCE_DECIMALS,
  printJson,
  note,
  printLine,
  reportInputError,
  round,
  roundBox,
  SCORE_DECIMALS,
  warn,
} from './output.js';
import { analyzeFiles, recordFailure, type CpuChoice } from './analyze.js';
import { analyzerSettings, type AnalysisCliOptions } from './analysis-options.js';
import type { AnalyzerSettings, FileResult } from '../pipeline/batch.js';
import { startProgress } from './progress.js';

export interface ClusterCliOptions extends DbCliOptions, AnalysisCliOptions {
  threshold: number;
  includeKnown?: boolean;
  out?: string;
  /** Replace crops in --out that exist already (refused otherwise). */
  force?: boolean;
  cpus?: CpuChoice;
  /** Analyse the photos as jobs on this Redis queue (facekit worker processes run them). */
  queue?: string;
  jobPhotos?: number;
  model: DetectorName;
  precision?: Precision;
  json?: boolean;
}

export interface ClusterRunCliOptions extends DbCliOptions {
  run?: number;
  json?: boolean;
}

/** Margin around a face in the crops written by --out, as a share of the box: enough to show hair and chin. */
const CROP_MARGIN = 0.25;

interface FoundFace {
  file: string;
  photo: number;
  /** 1-based position among the photo's faces, as `sample1.jpg #2` prints it. */
  index: number;
  hash: string;
  box: Box;
  score: number;
  width: number;
  height: number;
  descriptor: Float32Array;
}

/** A cluster run's faces grouped by cluster, in cluster order. */
function groups(run: ClusterRun): Map<number, ClusterFace[]> {
  const out = new Map<number, ClusterFace[]>();
  for (const f of run.faces) out.set(f.cluster, [...(out.get(f.cluster) ?? []), f]);
  return out;
}

/**
 * Writes each clustered face as a crop into `cluster-N/` under `outDir`. Each photo is decoded once
 * with loadImage, the decoder that analysed it: sharp's own strict reading refused JPEGs that
 * analysis accepts (extraneous bytes before a marker) and aborted the run half-way. A photo that
 * cannot be read again (changed since) is reported and skipped; only unwritable output stops the run.
 */
async function writeCrops(
  outDir: string,
  clustered: { cluster: number; face: FoundFace }[],
  replace: boolean,
  errors: InputError[],
): Promise<void> {
  // Loaded here, once per run, not at start-up: `facekit --help` and the other commands never load libvips for it.
  const { default: sharp } = await import('sharp');
  const width = String(Math.max(...clustered.map((c) => c.cluster))).length;
  const byFile = new Map<string, { cluster: number; face: FoundFace }[]>();
  for (const c of clustered) byFile.set(c.face.file, [...(byFile.get(c.face.file) ?? []), c]);
  const namesIn = new Map<string, Set<string>>();
  for (const [file, faces] of byFile) {
    let image: Image;
    try {
      image = await loadImage(file);
    } catch (cause) {
      const e = cause instanceof FaceKitError ? cause : new FaceKitError('FILE_UNREADABLE', String(cause));
      const problem: InputError = {
        file,
        code: e.code,
        message: `no crops written: ${e.message.replace(`${file}: `, '')}`,
      };
      errors.push(problem);
      reportInputError(problem);
      continue;
    }
    for (const { cluster, face } of faces) {
      const dir = join(outDir, `cluster-${String(cluster).padStart(width, '0')}`);
      if (!namesIn.has(dir)) {
        await makeOutputSubfolder(dir);
        namesIn.set(dir, new Set());
      }
      const m = CROP_MARGIN;
      const left = Math.max(0, Math.floor(face.box.x - m * face.box.width));
      const top = Math.max(0, Math.floor(face.box.y - m * face.box.height));
      const right = Math.min(image.width, Math.ceil(face.box.x + (1 + m) * face.box.width));
      const bottom = Math.min(image.height, Math.ceil(face.box.y + (1 + m) * face.box.height));
      if (right - left < 1 || bottom - top < 1) continue;
      const name = uniqueName(
        `${basename(face.file, extname(face.file))}-face${face.index}.jpg`,
        namesIn.get(dir) as Set<string>,
      );
      const jpeg = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
        .extract({ left, top, width: right - left, height: bottom - top })
        .jpeg()
        .toBuffer();
      await writeNewFile(join(dir, name), jpeg, replace);
    }
  }
}

async function findFaces(
  files: readonly string[],
  opts: ClusterCliOptions,
  errors: InputError[],
): Promise<FoundFace[]> {
  const hashes = await hashFiles(files, (e) => {
    errors.push(e);
    reportInputError(e);
  });
  const readable = files.filter((f) => hashes.has(f));
  const found: FoundFace[] = [];
  if (readable.length === 0) return found;
  const progress = opts.queue === undefined ? startProgress(readable.length, opts) : null;
  const take = (r: FileResult, photo: number): void => {
    progress?.tick(r);
    if (recordFailure(r, errors)) return;
    r.faces.forEach((f, i) =>
      found.push({
        file: r.file,
        photo,
        index: i + 1,
        hash: hashes.get(r.file) as string,
        box: f.box,
        score: f.score,
        width: r.width,
        height: r.height,
        descriptor: f.descriptor as Float32Array,
      }),
    );
  };
  const settings = analyzerSettings(opts, 'analyze');
  if (opts.queue === undefined) await analyzeFiles(settings, opts.cpus, readable, take);
  else (await analyzeOnQueue(opts.queue, readable, hashes, settings, opts)).forEach(take);
  return found;
}

/** `--queue`: the analysis as jobs for `facekit worker` processes; their results in photo order. */
async function analyzeOnQueue(
  queue: string,
  files: string[],
  hashes: Map<string, string>,
  settings: AnalyzerSettings,
  opts: ClusterCliOptions,
): Promise<FileResult[]> {
  const { analysisResults, redisConnection, submitAnalyzeJobs, waitForAnalysis } = await import('../entry/queue.js');
  redisConnection(queue, '--queue');
  const photos = files.map((f) => ({ file: resolve(f), hash: hashes.get(f) as string }));
  const submitted = await submitAnalyzeJobs(queue, { photos, settings, jobPhotos: opts.jobPhotos });
  const quiet = opts.quiet === true || opts.json === true;
  if (!quiet)
    note(
      `${submitted.photos} photos in ${submitted.jobIds.length} analysis jobs on ${queue}; start workers with: facekit worker --queue ${queue}`,
    );
  let last = -1;
  const p = await waitForAnalysis(queue, submitted.jobIds, (q) => {
    if (!quiet && q.done + q.failed !== last)
      note(`analysis jobs: ${q.done + q.failed}/${q.total} finished (${q.photos} photos)`);
    last = q.done + q.failed;
  });
  for (const e of p.errors) warn(`analysis job ${e.jobId} failed: ${e.message}`);
  // Results name the absolute paths the workers opened; the run reports the paths as given.
  const given = new Map(photos.map((ph, i) => [ph.file, files[i]]));
  return (await analysisResults(queue, submitted.jobIds)).map((r) => {
    const file = given.get(r.file) ?? r.file;
    return r.ok ? { ...r, file } : { ...r, file, error: { ...r.error, file } };
  });
}

/** Faces the gallery already knows, by person; the rest are the unknown ones to cluster. */
async function splitKnown(
  gallery: Gallery,
  faces: FoundFace[],
): Promise<{ known: { face: FoundFace; person: string; distance: number }[]; unknown: FoundFace[] }> {
  if (faces.length === 0 || (await gallery.indexInfo()).faces === 0) return { known: [], unknown: faces };
  const t = await gallery.threshold({}, 'search');
  warnAboutThreshold(t, gallery.size, 'identify');
  const answers = await gallery.identify(faces.map((f) => f.descriptor));
  const known: { face: FoundFace; person: string; distance: number }[] = [];
  const unknown: FoundFace[] = [];
  answers.forEach((a, i) =>
    a.person === null ? unknown.push(faces[i]) : known.push({ face: faces[i], person: a.person, distance: a.distance }),
  );
  return { known, unknown };
}

const faceLabel = (f: { sourceFile: string; box: Box }): string =>
  `${f.sourceFile} (${Math.round(f.box.x)},${Math.round(f.box.y)})`;

/** A run's clusters as text; `singles: false` leaves out one-face clusters (a big collection has hundreds). */
function printRun(run: ClusterRun, names: Map<number, string>, singles = true): void {
  for (const [cluster, faces] of groups(run)) {
    if (!singles && faces.length === 1) continue;
    const person = faces[0].personId ? names.get(faces[0].personId) : undefined;
    printLine(
      `cluster ${cluster}: ${faces.length} face${faces.length === 1 ? '' : 's'}${person ? ` (named ${person})` : ''}`,
    );
    for (const f of faces) printLine(`  ${faceLabel(f)}`);
  }
}

function runJson(run: ClusterRun, names: Map<number, string>) {
  return [...groups(run)].map(([cluster, faces]) => ({
    cluster,
    size: faces.length,
    person: faces[0].personId ? (names.get(faces[0].personId) ?? null) : null,
    faces: faces.map((f) => ({ file: f.sourceFile, box: roundBox(f.box), score: round(f.score, SCORE_DECIMALS) })),
  }));
}

async function personNames(g: Gallery): Promise<Map<number, string>> {
  return new Map((await g.people()).map((p) => [p.id, p.name]));
}

export async function runCluster(paths: string[], opts: ClusterCliOptions): Promise<number> {
  const { files, errors } = await collectPhotos(paths);
  if (files.length === 0)
    throw new FaceKitError('INVALID_ARGUMENT', 'no photos to cluster (see the messages above)', { field: 'paths' });

  // Before any photo is analysed: an --out that cannot be written would otherwise fail only at the end.
  if (opts.out !== undefined) await prepareOutputFolder(opts.out, 'cannot create the folder for face crops');
  return withGallery(opts, true, async (gallery) => {
    const found = await findFaces(files, opts, errors);
    const { known, unknown } = opts.includeKnown ? { known: [], unknown: found } : await splitKnown(gallery, found);
    const clusters = clusterFaces(
      unknown.map((f) => f.descriptor),
      { threshold: opts.threshold, photoOf: unknown.map((f) => f.photo) },
    );
    const clustered = clusters.flatMap((members, c) => members.map((i) => ({ cluster: c + 1, face: unknown[i] })));
    const run = await gallery.saveClusterRun({
      threshold: opts.threshold,
      inputs: paths,
      faces: clustered.map(({ cluster, face }) => ({
        cluster,
        sourceFile: face.file,
        contentHash: face.hash,
        box: face.box,
        score: face.score,
        descriptor: face.descriptor,
      })),
    });
    if (opts.out !== undefined && clustered.length > 0)
      await writeCrops(opts.out, clustered, opts.force === true, errors);
    const names = await personNames(gallery);
    const knownJson = known.map((k) => ({
      file: k.face.file,
      box: roundBox(k.face.box),
      person: k.person,
      distance: round(k.distance, DISTANCE_DECIMALS),
    }));
    if (opts.json) {
      printJson({
        db: gallery.file,
        run: run.id,
        threshold: opts.threshold,
        clusters: runJson(run, names),
        known: knownJson,
        out: opts.out ?? null,
        errors,
      });
    } else {
      printRun(run, names, false);
      const multi = clusters.filter((c) => c.length > 1).length;
      const byPerson = new Map<string, number>();
      for (const k of known) byPerson.set(k.person, (byPerson.get(k.person) ?? 0) + 1);
      printLine(
        `run ${run.id}: ${unknown.length} unknown faces in ${multi} clusters of 2 or more and ${clusters.length - multi} single faces` +
          (known.length > 0
            ? `; ${known.length} faces of known people left out (${[...byPerson].map(([p, n]) => `${p} ${n}`).join(', ')})`
            : ''),
      );
      if (clusters.length > 0) {
        const db = opts.db ? ` --db ${opts.db}` : '';
        printLine(
          `single faces: facekit cluster list${db}; name a cluster: facekit cluster name <cluster> <person>${db}`,
        );
      }
    }
    return errors.length > 0 ? 1 : 0;
  });
}

export function runClusterList(opts: ClusterRunCliOptions): Promise<number> {
  return withGallery(opts, 'read', async (g) => {
    const run = await g.clusterRun(opts.run);
    const names = await personNames(g);
    if (opts.json)
      printJson({
        db: g.file,
        run: run.id,
        threshold: run.threshold,
        inputs: run.inputs,
        createdAt: run.createdAt,
        clusters: runJson(run, names),
      });
    else {
      printLine(`run ${run.id} (${run.createdAt}, threshold ${run.threshold}): ${run.inputs.join(' ')}`);
      printRun(run, names);
    }
    return 0;
  });
}

export function runClusterName(cluster: number, person: string, opts: ClusterRunCliOptions): Promise<number> {
  return withGallery(opts, false, async (g) => {
    const outcome = await g.nameCluster(cluster, person, opts.run);
    if (opts.json) {
      printJson({
        db: g.file,
        cluster,
        person: outcome.person.name,
        created: outcome.created,
        added: outcome.added,
        duplicates: outcome.duplicates,
      });
    } else {
      const dups = outcome.duplicates.length;
      printLine(
        `${outcome.person.name}: ${outcome.added.length} face${outcome.added.length === 1 ? '' : 's'} of cluster ${cluster} enrolled${outcome.created ? ' (new person)' : ''}` +
          (dups > 0 ? `, ${dups} already in the gallery` : ''),
      );
    }
    return 0;
  });
}
