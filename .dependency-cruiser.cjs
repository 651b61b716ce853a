/**
 * facekit's layer rules (docs/ARCHITECTURE.md, "The rules"): checked by `npm run lint` and CI.
 * Stage rooms sit below the pipeline; the pipeline below the front ends; the gallery and search
 * never load onnxruntime; front ends never import each other.
 */
const STAGES = '^src/(models|detect|embed|landmarks|align|image|onnx|runtime)/';
const ABOVE_STAGES = '^src/(pipeline|queue|gallery|search|match|cluster|cli|server|video|train|browser|entry)/|^src/(index|api)\\.ts$';
const FRONT_ENDS = ['cli', 'server', 'video', 'browser', 'train/cli'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes load order matter and hides which layer owns what.',
      from: {},
      // Type-only imports vanish at run time: an interface may name its implementations' types.
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'stages-stay-below',
      severity: 'error',
      comment:
        'models/detect/embed/landmarks/align/image/onnx/runtime are the stages the pipeline drives: they never import the pipeline, the gallery, search or a front end.',
      from: { path: STAGES },
      to: { path: ABOVE_STAGES },
    },
    {
      name: 'gallery-search-without-onnxruntime',
      severity: 'error',
      comment: 'Opening a gallery or searching descriptors must not load onnxruntime or any network.',
      from: { path: '^src/(gallery|search)/' },
      to: { path: ['onnxruntime', '^src/runtime/', '^src/pipeline/', '^src/(detect|landmarks)/', '^src/embed/(registry|dlib128)'] },
    },
    {
      name: 'gallery-search-without-onnxruntime-transitively',
      severity: 'error',
      comment: 'Not even through another module: the gallery stays usable where onnxruntime is absent.',
      from: { path: '^src/(gallery|search)/' },
      to: { path: 'onnxruntime-node', reachable: true },
    },
    {
      name: 'pipeline-not-front-ends',
      severity: 'error',
      comment: 'Front ends drive the pipeline, never the reverse.',
      from: { path: '^src/pipeline/' },
      to: { path: '^src/(cli|server|video|browser|entry|queue)/|^src/train/cli' },
    },
    {
      name: 'cli-through-public-api',
      severity: 'error',
      comment:
        'The CLI is a user of facekit like any other: it drives pipeline/ and the public entries (index.ts, entry/ = the subpath exports), plus errors.ts and util/ (the error class and the file/terminal safety helpers every room may use); never a stage, the gallery, match or search directly.',
      from: { path: '^src/cli/' },
      to: { path: '^src/', pathNot: '^src/(cli|pipeline|entry|util)/|^src/(index|errors)\\.ts$' },
    },
    ...FRONT_ENDS.map((room) => ({
      name: `front-ends-apart-${room.replace('/', '-')}`,
      severity: 'error',
      comment: 'Front ends share code through pipeline/, never by importing each other.',
      from: { path: `^src/${room}/` },
      to: {
        path: `^src/(${FRONT_ENDS.filter((other) => other !== room).join('|')})/`,
      },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
