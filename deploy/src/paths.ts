import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The deploy package's folder, found by walking up from this module: the same
 * answer from the sources (deploy/src/...) and from the bundle
 * (deploy/dist/chat.mjs), which sit at different depths.
 */
export function deployRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === '@chat/deploy') return (cached = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the @chat/deploy package folder above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** The `chat` command's entry script. */
export function chatBin(): string {
  return join(deployRoot(), 'bin', 'chat.mjs');
}
