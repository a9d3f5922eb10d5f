import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

export interface StaticFile {
  body: Buffer;
  contentType: string;
  /** Hashed asset names can be cached for good; index.html must not be. */
  cacheControl: string;
}

/**
 * The built web client, loaded into memory once at start: a few hundred KB
 * served without a disk read or a path to traverse per request.
 */
export class StaticFiles {
  readonly #files = new Map<string, StaticFile>();

  constructor(dir: string) {
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const path = join(d, name);
        if (statSync(path).isDirectory()) walk(path);
        else {
          const url = '/' + relative(dir, path).split(sep).join('/');
          const immutable = url.startsWith('/assets/');
          this.#files.set(url, {
            body: readFileSync(path),
            contentType: TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream',
            cacheControl: immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
          });
        }
      }
    };
    walk(dir);
  }

  get size(): number {
    return this.#files.size;
  }

  /** The file for a URL path; unknown paths without an extension get index.html (client-side routes). */
  lookup(url: string): StaticFile | undefined {
    const path = url === '/' ? '/index.html' : url;
    return this.#files.get(path) ?? (extname(path) === '' ? this.#files.get('/index.html') : undefined);
  }
}
