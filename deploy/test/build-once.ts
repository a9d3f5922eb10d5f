import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * vitest global setup: bundles the `chat` command once, so tests that start
 * real `chat` processes (restart, SIGKILL) run the same artefact `npm start` does.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, ['deploy/build.mjs'], { cwd: root, stdio: 'inherit' });
}
