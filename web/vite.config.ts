import { svelte } from '@sveltejs/vite-plugin-svelte';
import { join } from 'node:path';
import { sizeBudget } from './size-budget.js';
import { defineConfig } from 'vite';
import { precompress } from './precompress.js';
import { serviceWorker } from './service-worker.js';

/**
 * Builds the web client to web/dist, which the gateway serves in standalone
 * mode. `npm run dev -w @chat/web` proxies the API to a running `npm start`.
 */
export default defineConfig({
  root: import.meta.dirname,
  plugins: [svelte(), serviceWorker(import.meta.dirname), precompress(join(import.meta.dirname, 'dist')), sizeBudget(join(import.meta.dirname, 'dist'))],
  // No modulepreload polyfill (250 bytes gzipped): every browser es2022 targets
  // but Safari 16 supports <link rel="modulepreload">, and there a preload
  // hint is only lost, never the module.
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false, modulePreload: { polyfill: false } },
  server: {
    proxy: {
      '/v1/ws': { target: 'ws://127.0.0.1:8080', ws: true },
      '/v1': 'http://127.0.0.1:8080',
    },
  },
});
