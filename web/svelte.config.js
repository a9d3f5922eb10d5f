import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/**
 * TypeScript in <script lang="ts"> blocks. The version is not written into
 * the bundle (window.__svelte): nothing reads it, and the JavaScript budget
 * (under 50 KB gzipped, web/README.md) counts every byte.
 */
export default { preprocess: vitePreprocess(), compilerOptions: { discloseVersion: false } };
