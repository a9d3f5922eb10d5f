import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { applyTheme, storedTheme } from './lib/ui/theme.js';

// Before the first render, so a stored dark choice never flashes light.
applyTheme(storedTheme());

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');
export default mount(App, { target });

// The service worker caches the app shell so the app opens offline (web/README.md,
// "Offline and install"). Not in `vite` dev mode, where files change under the same names.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  window.addEventListener('load', () => {
    // Without it the app works as before, only not offline: nothing to tell the user.
    navigator.serviceWorker.register('/sw.js').catch(() => {});
  });
}
