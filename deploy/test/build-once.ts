import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * vitest global setup: bundles the `chat` command and builds the web client
 * once, so tests that start real `chat` processes (restart, SIGKILL, the
 * browser test) run the same artefacts `npm start` does.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, ['deploy/build.mjs'], { cwd: root, stdio: 'inherit' });
  // vitest sets NODE_ENV=test, which would make vite build the web client in development mode
  // (Svelte's dev runtime, no service worker): the tests are to run what `npm start` serves.
  execFileSync('npm', ['run', '--silent', 'build', '-w', '@chat/web'], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
}
