import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { deployRoot } from '../paths.js';

/**
 * The web client to serve: WEB_DIR if set, else the built client (web/dist),
 * else the placeholder page (web/public).
 */
export function resolveWebDir(configured: string): string | undefined {
  if (configured) return configured;
  for (const candidate of ['dist', 'public']) {
    const dir = join(deployRoot(), '..', 'web', candidate);
    if (existsSync(dir)) return dir;
  }
  return undefined;
}
