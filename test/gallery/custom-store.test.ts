/**
 * A store written outside facekit, from the public exports alone: a wrapper around the SQLite
 * store that counts calls. The gallery runs on it, and leaves closing it to its owner.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  openGallery,
  openSqliteStore,
  type CalibrationRecord,
  type ChangeSet,
  type ClusterRun,
  type DescriptorBatch,
  type EnrollOutcome,
  type EnrollRequest,
  type FaceRecord,
  type GalleryStore,
  type MetadataPatch,
  type ModelTag,
  type PersonRecord,
  type StoreStats,
  type Watermark,
} from '../../src/entry/gallery.js';
import type { IndexedFace, IndexPhoto, IndexPhotoOutcome, PhotoIndexStats } from '../../src/gallery/store.js';
import { FaceKitError } from '../../src/errors.js';
import { Faces } from '../helpers/descriptors.js';

const root = mkdtempSync(join(tmpdir(), 'facekit-custom-store-'));
after(() => rmSync(root, { recursive: true, force: true }));

class CountingStore implements GalleryStore {
  readonly calls = new Map<string, number>();

  constructor(private readonly inner: GalleryStore) {}

  private count<T>(name: string, result: Promise<T>): Promise<T> {
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
    return result;
  }

  get location(): string {
    return `counting:${this.inner.location}`;
  }

  model(): Promise<ModelTag | null> {
    return this.count('model', this.inner.model());
  }
  indexPhotos(photos: readonly IndexPhoto[], model: ModelTag): Promise<IndexPhotoOutcome[]> {
    return this.count('indexPhotos', this.inner.indexPhotos(photos, model));
  }
  indexedHashes(hashes: readonly string[], modelId: string): Promise<string[]> {
    return this.count('indexedHashes', this.inner.indexedHashes(hashes, modelId));
  }
  indexedFaces(modelId: string): Promise<IndexedFace[]> {
    return this.count('indexedFaces', this.inner.indexedFaces(modelId));
  }
  photoIndexStats(): Promise<PhotoIndexStats> {
    return this.count('photoIndexStats', this.inner.photoIndexStats());
  }
  revision(): Promise<number> {
    return this.count('revision', this.inner.revision());
  }
  stats(): Promise<StoreStats> {
    return this.count('stats', this.inner.stats());
  }
  people(): Promise<PersonRecord[]> {
    return this.count('people', this.inner.people());
  }
  person(name: string): Promise<PersonRecord | null> {
    return this.count('person', this.inner.person(name));
  }
  faces(person?: string): Promise<FaceRecord[]> {
    return this.count('faces', this.inner.faces(person));
  }
  facesWithHashes(hashes: readonly string[]): Promise<FaceRecord[]> {
    return this.count('facesWithHashes', this.inner.facesWithHashes(hashes));
  }
  enroll(requests: readonly EnrollRequest[], model: ModelTag): Promise<EnrollOutcome[]> {
    return this.count('enroll', this.inner.enroll(requests, model));
  }
  setMetadata(name: string, patch: MetadataPatch): Promise<PersonRecord> {
    return this.count('setMetadata', this.inner.setMetadata(name, patch));
  }
  renamePerson(name: string, newName: string): Promise<PersonRecord> {
    return this.count('renamePerson', this.inner.renamePerson(name, newName));
  }
  mergePeople(from: string, into: string): Promise<PersonRecord> {
    return this.count('mergePeople', this.inner.mergePeople(from, into));
  }
  removePeople(names: readonly string[]) {
    return this.count('removePeople', this.inner.removePeople(names));
  }
  removeFaces(ids: readonly number[]): Promise<number> {
    return this.count('removeFaces', this.inner.removeFaces(ids));
  }
  snapshot(): Promise<{ readonly batch: DescriptorBatch; readonly watermark: Watermark }> {
    return this.count('snapshot', this.inner.snapshot());
  }
  changesSince(w: Watermark): Promise<ChangeSet> {
    return this.count('changesSince', this.inner.changesSince(w));
  }
  removedSince(seq: number) {
    return this.count('removedSince', this.inner.removedSince(seq));
  }
  personNames(): Promise<Map<number, string>> {
    return this.count('personNames', this.inner.personNames());
  }
  saveCalibrations(records: readonly CalibrationRecord[]): Promise<CalibrationRecord[]> {
    return this.count('saveCalibrations', this.inner.saveCalibrations(records));
  }
  calibrations(modelId: string): Promise<CalibrationRecord[]> {
    return this.count('calibrations', this.inner.calibrations(modelId));
  }
  saveClusterRun(run: Omit<ClusterRun, 'id' | 'createdAt'>): Promise<ClusterRun> {
    return this.count('saveClusterRun', this.inner.saveClusterRun(run));
  }
  clusterRun(id?: number): Promise<ClusterRun | null> {
    return this.count('clusterRun', this.inner.clusterRun(id));
  }
  nameCluster(runId: number, cluster: number, name: string): Promise<EnrollOutcome> {
    return this.count('nameCluster', this.inner.nameCluster(runId, cluster, name));
  }
  getState(key: string): Promise<string | null> {
    return this.count('getState', this.inner.getState(key));
  }
  setState(key: string, value: string | null): Promise<void> {
    return this.count('setState', this.inner.setState(key, value));
  }
  close(): Promise<void> {
    return this.count('close', this.inner.close());
  }
}

test('openGallery({ store }) runs on a caller-made store, goes through it for every read and write, and never closes it', async () => {
  const inner = openSqliteStore(join(root, 'g.db'));
  const store = new CountingStore(inner);
  const f = new Faces(61);
  const people = f.people(5, 2);
  const g = await openGallery({ store });
  assert.equal(g.file, `counting:${join(root, 'g.db')}`);
  await g.enrollMany(people);
  assert.equal((await g.identify([f.photo(people[3].centre)]))[0].person, 'p3');
  await g.removePeople(['p0']);
  await g.close();
  for (const used of ['model', 'snapshot', 'enroll', 'changesSince', 'removePeople'])
    assert.ok((store.calls.get(used) ?? 0) > 0, used);
  assert.equal(store.calls.get('close'), undefined, 'the gallery left the store open');
  // Still usable by its owner, who closes it.
  assert.equal((await store.stats()).people, 4);
  await store.close();
  await assert.rejects(store.people(), (e: unknown) => e instanceof FaceKitError && e.code === 'DISPOSED');
});

test("a failed openGallery({ store }) leaves the caller's store open too", async () => {
  const store = new CountingStore(openSqliteStore(join(root, 'other.db')));
  try {
    const g = await openGallery({ store });
    await g.enroll('zed', [{ descriptor: new Float32Array(16).fill(0.1) }]);
    await g.close();
    await assert.rejects(
      openGallery({ store, modelId: 'arcface_r100' }),
      (e: unknown) => e instanceof FaceKitError && e.code === 'MODEL_MISMATCH',
    );
    assert.equal(store.calls.get('close'), undefined);
    assert.equal((await store.stats()).faces, 1);
  } finally {
    await store.close();
  }
});
