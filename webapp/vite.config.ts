import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The web app `facekit serve` serves at /: built into dist/webapp/ (index.html, assets under
 * /app/). It imports facekit/browser from this repository's source, as a user's app imports the
 * package.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  resolve: {
    alias: {
      'facekit/browser': fileURLToPath(new URL('../src/browser/index.ts', import.meta.url)),
      'facekit/track': fileURLToPath(new URL('../src/entry/track.ts', import.meta.url)),
    },
  },
  // The Live page's inference worker imports onnxruntime-web lazily: module workers allow that.
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('../dist/webapp', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'app',
    target: 'es2022',
    // onnxruntime-web's .wasm is 15 MB: served as a file, never inlined.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1000,
  },
  server: {
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'credentialless' },
  },
});
