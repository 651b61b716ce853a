/** `facekit people reencode`: the gallery's people, encoded again with another embedder into a new gallery. */
import type { DetectorName } from '../entry/detect.js';
import { embedderEntry } from '../entry/embed.js';
import { defaultGalleryPath, openGallery, openStore } from '../entry/gallery.js';
import { createFaceKit } from '../entry/pipeline.js';
import { FaceKitError } from '../errors.js';
import { reencodeGallery } from '../pipeline/reencode.js';
import { collectImageFiles } from './files.js';
import { note, printJson, printLine, warn } from './output.js';
import type { PeopleCliOptions } from './people.js';

export interface ReencodeCliOptions extends PeopleCliOptions {
  into: string;
  embedder: string;
  photos?: string[];
  person?: string[];
  model: DetectorName;
}

export async function runPeopleReencode(opts: ReencodeCliOptions): Promise<number> {
  const from = opts.db ?? defaultGalleryPath();
  if (from === opts.into)
    throw new FaceKitError('INVALID_ARGUMENT', '--into: name a new gallery; the one re-encoded is only read', {
      field: 'into',
    });
  const entry = embedderEntry(opts.embedder, '--embedder');
  const photos = opts.photos ? await collectImageFiles(opts.photos) : undefined;
  for (const e of photos?.errors ?? []) warn(`${e.file}: ${e.message}`);
  // The source is opened for whatever model it holds: that is what gets replaced.
  const store = await openStore(from, { create: false, readOnly: true, onNote: note });
  try {
    const model = await store.model();
    if (model === null) throw new FaceKitError('GALLERY_EMPTY', `${from}: holds no faces to re-encode`, { file: from });
    const source = await openGallery({ store, modelId: model.modelId });
    const target = await openGallery({
      path: opts.into,
      modelId: entry.modelId,
      matchThreshold: entry.thresholds.match,
      onNote: note,
    });
    const kit = createFaceKit({ embedder: opts.embedder, detector: opts.model });
    try {
      const result = await reencodeGallery(source, target, kit, {
        photos: photos?.files,
        people: opts.person,
        onPerson: (r) => {
          if (!opts.json)
            printLine(
              r.moved
                ? `${r.person}\t${r.faces} face${r.faces === 1 ? '' : 's'} re-encoded${r.added < r.faces ? ` (${r.faces - r.added} already there)` : ''}`
                : `${r.person}\tnot moved: a face could not be re-encoded`,
            );
        },
      });
      if (opts.json) printJson({ db: from, into: target.file, modelId: entry.modelId, ...result });
      else {
        for (const f of result.failures) warn(`${f.person}, face ${f.faceId}: ${f.code}: ${f.message}`);
        const moved = result.people.filter((p) => p.moved).length;
        printLine(
          `${moved}/${result.people.length} people re-encoded with ${entry.modelId} into ${target.file}; ${from} is unchanged`,
        );
      }
      return result.failures.length === 0 ? 0 : 1;
    } finally {
      await kit.dispose();
      await source.close();
      await target.close();
    }
  } finally {
    await store.close();
  }
}
