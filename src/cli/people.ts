/** `facekit people list|show|set|rename|merge|remove|remove-face`: the known people in the gallery. */
import { FaceKitError, invalidArgument } from '../errors.js';
import type { FaceRecord, Metadata, MetadataPatch, PersonRecord } from '../entry/gallery.js';
import { withGallery, type DbCliOptions } from './gallery.js';
import { parseMetaPair } from './gallery-options.js';
import { printJson, printLine, roundBox } from './output.js';

export interface PeopleCliOptions extends DbCliOptions {
  json?: boolean;
}

const person = (p: PersonRecord) => ({
  id: p.id,
  name: p.name,
  faces: p.faces,
  metadata: p.metadata,
  createdAt: p.createdAt,
});
const face = (f: FaceRecord) => ({ ...f, box: f.box ? roundBox(f.box) : null });

export function runPeopleList(opts: PeopleCliOptions): Promise<number> {
  return withGallery(opts, 'read', async (g) => {
    const people = await g.people();
    if (opts.json) printJson({ db: g.file, people: people.map(person) });
    else {
      for (const p of people) printLine(`${p.name}\t${p.faces} face${p.faces === 1 ? '' : 's'}`);
      printLine(`${people.length} people, ${people.reduce((s, p) => s + p.faces, 0)} faces in ${g.file}`);
    }
    return 0;
  });
}

export function runPeopleShow(name: string, opts: PeopleCliOptions): Promise<number> {
  return withGallery(opts, 'read', async (g) => {
    const p = await g.person(name);
    const faces = await g.faces(name);
    if (opts.json) printJson({ db: g.file, person: person(p), faces: faces.map(face) });
    else {
      printLine(`${p.name}: ${faces.length} face${faces.length === 1 ? '' : 's'}`);
      printMetadata(p.metadata);
      for (const f of faces) printLine(`  face ${f.id}\t${f.sourceFile ?? '(no file)'}\t${f.createdAt}`);
    }
    return 0;
  });
}

/** Metadata as `people set` takes it, `key=value` a line; values that are not strings (set from code) as JSON. */
function printMetadata(metadata: Metadata): void {
  for (const [key, value] of Object.entries(metadata))
    printLine(`  ${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

/** `people set <person> key=value... --unset key...` as one patch; a key both set and unset is a contradiction, not a last-wins. */
export function metadataPatch(pairs: readonly string[], unset: readonly string[]): MetadataPatch {
  const patch: Record<string, string | null> = Object.fromEntries(pairs.map((p) => parseMetaPair(p)));
  for (const raw of unset) {
    const key = raw.trim();
    if (key === '') throw invalidArgument('--unset', 'give the key to remove');
    if (typeof patch[key] === 'string') throw invalidArgument('--unset', `"${key}" is both set and unset`);
    patch[key] = null;
  }
  if (Object.keys(patch).length === 0)
    throw invalidArgument('metadata', 'nothing to change: give key=value pairs to set, or --unset <key>');
  return patch;
}

export function runPeopleSet(name: string, pairs: string[], unset: string[], opts: PeopleCliOptions): Promise<number> {
  const patch = metadataPatch(pairs, unset);
  return withGallery(opts, false, async (g) => {
    const p = await g.setMetadata(name, patch);
    if (opts.json) printJson({ db: g.file, person: person(p) });
    else {
      printLine(`${p.name}: metadata updated`);
      printMetadata(p.metadata);
    }
    return 0;
  });
}

export function runPeopleRename(name: string, newName: string, opts: PeopleCliOptions): Promise<number> {
  return withGallery(opts, false, async (g) => {
    const p = await g.renamePerson(name, newName);
    if (opts.json) printJson({ db: g.file, person: person(p) });
    else printLine(`renamed ${name} to ${p.name}`);
    return 0;
  });
}

export function runPeopleMerge(from: string, into: string, opts: PeopleCliOptions): Promise<number> {
  return withGallery(opts, false, async (g) => {
    const p = await g.mergePeople(from, into);
    if (opts.json) printJson({ db: g.file, person: person(p) });
    else printLine(`merged ${from} into ${p.name}: ${p.faces} faces`);
    return 0;
  });
}

export function runPeopleRemove(names: string[], opts: PeopleCliOptions): Promise<number> {
  return withGallery(opts, false, async (g) => {
    // One transaction: a typo in the third name removes nobody.
    const removed = (await g.removePeople(names)).map((r) => ({ name: r.person.name, faces: r.faces }));
    if (opts.json) printJson({ db: g.file, removed });
    else for (const r of removed) printLine(`removed ${r.name} and ${r.faces} face${r.faces === 1 ? '' : 's'}`);
    return 0;
  });
}

export function parseFaceId(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new FaceKitError(
      'INVALID_ARGUMENT',
      `not a face id: "${value}" (face ids are the numbers facekit people show prints)`,
      { field: 'faceId' },
    );
  }
  return n;
}

export function runPeopleRemoveFaces(ids: string[], opts: PeopleCliOptions): Promise<number> {
  const faceIds = ids.map(parseFaceId);
  return withGallery(opts, false, async (g) => {
    const n = await g.removeFaces(faceIds);
    if (opts.json) printJson({ db: g.file, removed: faceIds });
    else printLine(`removed ${n} face${n === 1 ? '' : 's'}`);
    return 0;
  });
}
