import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Plugin } from 'vite';

/** Where the worker is served: the root, so its scope is the whole app. */
export const SW_FILE = 'sw.js';

/**
 * Builds src/sw.ts to dist/sw.js with the app shell it caches written in:
 * `__SHELL__` becomes the list of this build's files ('/' for index.html, the
 * hashed JS and CSS, and the public files: icons and manifest) and
 * `__VERSION__` a hash of their names and contents, so each build that
 * changes anything gets a cache of its own.
 */
export function serviceWorker(root: string): Plugin {
  const publicDir = join(root, 'public');
  return {
    name: 'chat-service-worker',
    apply: 'build',
    buildStart() {
      this.emitFile({ type: 'chunk', id: join(root, 'src', 'sw.ts'), fileName: SW_FILE });
    },
    // After Vite's own HTML plugin, which adds index.html to the bundle only in its generateBundle.
    generateBundle: {
      order: 'post',
      handler(_options, bundle) {
      const worker = bundle[SW_FILE];
      if (!worker || worker.type !== 'chunk') throw new Error(`the build has no ${SW_FILE} chunk`);
      const hash = createHash('sha256');
      const shell = ['/'];
      for (const [name, file] of Object.entries(bundle).sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (name === SW_FILE || name.endsWith('.html')) continue;
        shell.push(`/${name}`);
        hash.update(name).update(file.type === 'chunk' ? file.code : file.source);
      }
      for (const path of publicFiles(publicDir)) {
        const name = relative(publicDir, path).split(sep).join('/');
        // index.html in public/ is the page served when no build exists, not part of the app.
        if (name === 'index.html') continue;
        shell.push(`/${name}`);
        hash.update(name).update(readFileSync(path));
      }
      const html = bundle['index.html'];
      if (html?.type !== 'asset') throw new Error('the build has no index.html to version the service worker by');
      hash.update(html.source);
      worker.code = worker.code.replaceAll('__SHELL__', JSON.stringify(shell)).replaceAll('__VERSION__', JSON.stringify(hash.digest('hex').slice(0, 16)));
      },
    },
  };
}

function publicFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(path);
    }
  };
  walk(dir);
  return out;
}
