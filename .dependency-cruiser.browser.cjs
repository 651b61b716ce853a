/**
 * facekit/browser's (and facekit/track's) own layer rule (docs/ARCHITECTURE.md, rule 7), checked by `npm run lint`.
 * A separate config because it must look at the graph the browser loads at run time: with
 * tsPreCompilationDeps off, type-only imports (which vanish when TypeScript is compiled) are not
 * followed, while every value import is, through any number of modules.
 */
/** What only Node has: nothing src/browser/ loads may reach these. */
const NODE_ONLY = [
  '^node:',
  '(^|/)node_modules/(onnxruntime-node|sharp|better-sqlite3|usearch|@fastify|fastify|commander)/',
  '^(onnxruntime-node|sharp|better-sqlite3|usearch|fastify|commander)$',
  '^src/runtime/session\\.ts$',
  '^src/models/(cache|weights|registry|ensure)\\.ts$',
  '^src/(pipeline|gallery|search|server|cli|train|util)/',
  // video/ is the Node video front end, except the tracking parts facekit/track exports for pages.
  '^src/video/(?!(kalman|assignment)\\.ts$)',
  '^src/image/(decode|shrink)\\.ts$',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'browser-without-node',
      severity: 'error',
      comment:
        'facekit/browser runs in a browser: nothing it loads may reach onnxruntime-node, sharp, SQLite, a node: module, the disk model cache, the Node backend or a Node-side room.',
      from: { path: '^src/browser/|^src/entry/track\\.ts$' },
      to: { path: NODE_ONLY, reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.browser.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
