/**
 * Builds what the browser gets: facekit/browser as one ESM file (dist/browser/facekit.js, with
 * onnxruntime-web left as an import for the user's bundler) and the web app `facekit serve` serves
 * (Vite, into dist/webapp/). Run by `npm run build` and `prepare`, after tsc.
 */
import { build } from 'esbuild';
import { build as viteBuild } from 'vite';

await build({
  entryPoints: ['src/browser/index.ts'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  external: ['onnxruntime-web', 'onnxruntime-web/*'],
  sourcemap: true,
  outfile: 'dist/browser/facekit.js',
  logLevel: 'warning',
});
await viteBuild({ configFile: 'webapp/vite.config.ts', logLevel: 'warn' });
