import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** TypeScript in <script lang="ts"> blocks. */
export default { preprocess: vitePreprocess() };
