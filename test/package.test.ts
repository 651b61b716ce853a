import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

test('the built package is importable by its name and exports the verbs', () => {
  assert.ok(
    existsSync(join(root, 'dist', 'index.js')),
    'dist/ is missing: npm install (prepare) or npm run build makes it',
  );
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', "const m = await import('facekit'); console.log(Object.keys(m).sort().join(','))"],
    { cwd: root, encoding: 'utf8' },
  );
  const documented = [
    'loadImage',
    'faceLocations',
    'faceLandmarks',
    'faceEncodings',
    'compareFaces',
    'faceDistance',
    'createFaceKit',
    'FaceKitError',
    'alignFace',
    'imageFromRaw',
    'landmarkParts',
    'landmarks5From68',
    'MAX_JITTERS',
    'openGallery',
    'DETECTOR_NAMES',
  ];
  for (const name of documented) {
    assert.ok(
      out
        .split(',')
        .map((s) => s.trim())
        .includes(name),
      `missing export ${name}: ${out}`,
    );
  }
});

test('advanced parts are importable through subpath exports', () => {
  const expected: Record<string, string[]> = {
    'facekit/models': ['buildModel', 'inspectModel', 'defaultCacheDir', 'MODELS'],
    'facekit/gallery': ['openGallery', 'openSqliteStore', 'defaultGalleryPath'],
    'facekit/pipeline': ['createFaceKit', 'analyzeFiles', 'detectionAttempts', 'Enrolment'],
    'facekit/match': ['euclideanDistance', 'thresholdForFar', 'verifyDescriptors', 'CLUSTER_THRESHOLD'],
    'facekit/embed': ['registerEmbedder', 'EMBEDDER_ID'],
    'facekit/detect': ['DETECTORS', 'DEFAULT_DETECTOR'],
    'facekit/landmarks': ['LANDMARKS5_NAMES', 'landmarkParts'],
    'facekit/image': ['loadImage', 'imageFromRaw'],
    'facekit/search': ['exactKnn', 'AnnIndex'],
    'facekit/video': ['watch', 'runWatchSession', 'openSource', 'findFfmpeg', 'startViewer'],
    'facekit/track': ['BoxKalman', 'assignWithin', 'iou'],
  };
  for (const [entry, names] of Object.entries(expected)) {
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import('${entry}'); console.log(Object.keys(m).join(','))`],
      { cwd: root, encoding: 'utf8' },
    );
    const exported = out.trim().split(',');
    for (const name of names) assert.ok(exported.includes(name), `${entry} is missing ${name}: ${out}`);
  }
});

test('the facekit bin runs and answers --version', () => {
  const out = execFileSync(process.execPath, [join(root, 'dist', 'cli', 'main.js'), '--version'], { encoding: 'utf8' });
  assert.match(out.trim(), /^\d+\.\d+\.\d+$/);
});
