import { defineConfig } from 'vite';

// The models come from `npx facekit serve` (default http://127.0.0.1:8080): proxied so the page
// fetches them from its own origin. COOP/COEP make the page cross-origin isolated, which lets
// onnxruntime-web use threads.
const FACEKIT = process.env.FACEKIT_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  server: {
    proxy: { '/models': FACEKIT, '/v1': FACEKIT },
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'credentialless' },
  },
  preview: {
    proxy: { '/models': FACEKIT, '/v1': FACEKIT },
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'credentialless' },
  },
  // onnxruntime-web loads its own .wasm and thread worker: leave it out of dependency pre-bundling.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
});
