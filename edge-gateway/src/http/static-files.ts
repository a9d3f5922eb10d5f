import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/** Types worth compressing (images and woff2 are compressed already). */
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.webmanifest', '.svg', '.txt', '.map', '.ico']);
/** Below this a compressed body saves less than its headers cost. */
const MIN_COMPRESS_BYTES = 1024;
/** Precompressed variants the build writes next to a file (web/vite.config.ts), in order of preference. */
const ENCODINGS = [
  { name: 'br', suffix: '.br' },
  { name: 'gzip', suffix: '.gz' },
] as const;
type Encoding = (typeof ENCODINGS)[number]['name'];

/** One response body for a static file. */
export interface StaticFile {
  body: Buffer;
  contentType: string;
  /**
   * Hashed asset names (under /assets/) can be cached for good; everything
   * else is `no-cache` (revalidated on every use): index.html, and the service
   * worker script /sw.js, which must not be served stale or a new build's
   * worker would wait for the HTTP cache to expire.
   */
  cacheControl: string;
  /** `br` or `gzip` when `body` is compressed (Content-Encoding). */
  encoding?: Encoding;
  /** True when the file has compressed variants: the response then varies on Accept-Encoding. */
  negotiated: boolean;
}

interface Entry {
  identity: Buffer;
  variants: Partial<Record<Encoding, Buffer>>;
  contentType: string;
  cacheControl: string;
}

/**
 * The built web client, loaded into memory once at start: a few hundred KB
 * served without a disk read or a path to traverse per request. Text files
 * are served brotli- or gzip-compressed to clients that accept it: from the
 * `.br`/`.gz` files the build wrote beside them (best compression, paid once),
 * or, for a directory built without them, compressed here at load time with
 * faster settings. A variant is kept only when it is smaller.
 */
export class StaticFiles {
  readonly #files = new Map<string, Entry>();

  constructor(dir: string) {
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const path = join(d, name);
        if (statSync(path).isDirectory()) {
          walk(path);
          continue;
        }
        // A precompressed variant whose original exists is served as that file's encoding, not on its own.
        const variantOf = ENCODINGS.find((e) => name.endsWith(e.suffix));
        if (variantOf && existsSync(path.slice(0, -variantOf.suffix.length))) continue;
        const url = '/' + relative(dir, path).split(sep).join('/');
        const ext = extname(name).toLowerCase();
        const identity = readFileSync(path);
        this.#files.set(url, {
          identity,
          variants: COMPRESSIBLE.has(ext) && identity.length >= MIN_COMPRESS_BYTES ? variants(path, identity) : {},
          contentType: TYPES[ext] ?? 'application/octet-stream',
          cacheControl: url.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        });
      }
    };
    walk(dir);
  }

  get size(): number {
    return this.#files.size;
  }

  /**
   * The response for a URL path and the request's Accept-Encoding; unknown
   * paths without an extension get index.html (client-side routes).
   */
  lookup(url: string, acceptEncoding = ''): StaticFile | undefined {
    const path = url === '/' ? '/index.html' : url;
    const entry = this.#files.get(path) ?? (extname(path) === '' ? this.#files.get('/index.html') : undefined);
    if (!entry) return undefined;
    const negotiated = Object.keys(entry.variants).length > 0;
    const base = { contentType: entry.contentType, cacheControl: entry.cacheControl, negotiated };
    if (negotiated) {
      const accepted = acceptedEncodings(acceptEncoding);
      for (const { name } of ENCODINGS) {
        const body = entry.variants[name];
        if (body && accepted.has(name)) return { ...base, body, encoding: name };
      }
    }
    return { ...base, body: entry.identity };
  }
}

/** The file's compressed variants: the build's when it wrote them, else made now. Only those smaller than the original. */
function variants(path: string, identity: Buffer): Partial<Record<Encoding, Buffer>> {
  const out: Partial<Record<Encoding, Buffer>> = {};
  for (const { name, suffix } of ENCODINGS) {
    const body = existsSync(path + suffix)
      ? readFileSync(path + suffix)
      : name === 'br'
        ? brotliCompressSync(identity, { params: { [zlib.BROTLI_PARAM_QUALITY]: 5, [zlib.BROTLI_PARAM_SIZE_HINT]: identity.length } })
        : gzipSync(identity, { level: 6 });
    if (body.length < identity.length) out[name] = body;
  }
  return out;
}

/** The codings an Accept-Encoding header allows (`q=0` refuses one; `*` allows the rest). */
export function acceptedEncodings(header: string): Set<Encoding> {
  const allowed = new Set<Encoding>();
  const refused = new Set<string>();
  let star = false;
  for (const part of header.toLowerCase().split(',')) {
    const [coding, ...params] = part.trim().split(';');
    if (!coding) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) {
      refused.add(coding);
      continue;
    }
    if (coding === '*') star = true;
    else if (coding === 'br' || coding === 'gzip') allowed.add(coding);
  }
  if (star) for (const { name } of ENCODINGS) if (!refused.has(name)) allowed.add(name);
  return allowed;
}
