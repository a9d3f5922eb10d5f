import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { StaticFiles, acceptedEncodings } from './static-files.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function webDir(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'static-'));
  dirs.push(dir);
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), body);
  }
  return dir;
}

const script = 'export const greeting = "hello";\n'.repeat(200);

describe('StaticFiles', () => {
  it('serves the build’s precompressed variants by Accept-Encoding, brotli first, and never lists them as files', () => {
    // Marked variants, so the test can tell the build's files from compression done at load.
    const br = brotliCompressSync(Buffer.from(script));
    const gz = gzipSync(script);
    const files = new StaticFiles(webDir({ 'assets/app-1a2b.js': script, 'assets/app-1a2b.js.br': br, 'assets/app-1a2b.js.gz': gz }));
    expect(files.size).toBe(1);
    const asBr = files.lookup('/assets/app-1a2b.js', 'gzip, deflate, br')!;
    expect(asBr).toMatchObject({ encoding: 'br', negotiated: true, contentType: 'text/javascript; charset=utf-8', cacheControl: 'public, max-age=31536000, immutable' });
    expect(asBr.body.equals(br)).toBe(true);
    expect(brotliDecompressSync(asBr.body).toString()).toBe(script);
    const asGzip = files.lookup('/assets/app-1a2b.js', 'gzip')!;
    expect(asGzip.encoding).toBe('gzip');
    expect(gunzipSync(asGzip.body).toString()).toBe(script);
    const plain = files.lookup('/assets/app-1a2b.js', '')!;
    expect(plain.encoding).toBeUndefined();
    expect(plain.body.toString()).toBe(script);
    expect(files.lookup('/assets/app-1a2b.js.br', 'br')).toBeUndefined();
  });

  it('compresses at load time what the build did not, and leaves small, binary and incompressible files alone', () => {
    const png = Buffer.alloc(4096, 7);
    const random = randomBytes(4096);
    const files = new StaticFiles(webDir({ 'index.html': `<!doctype html>${'<p>chat</p>'.repeat(300)}`, 'tiny.css': 'a{}', 'logo.png': png, 'noise.txt': random }));
    const html = files.lookup('/', 'br, gzip')!;
    expect(html).toMatchObject({ encoding: 'br', cacheControl: 'no-cache', contentType: 'text/html; charset=utf-8' });
    expect(brotliDecompressSync(html.body).toString()).toContain('<p>chat</p>');
    expect(files.lookup('/tiny.css', 'br')).toMatchObject({ negotiated: false });
    expect(files.lookup('/tiny.css', 'br')!.encoding).toBeUndefined();
    expect(files.lookup('/logo.png', 'br')).toMatchObject({ negotiated: false });
    // Random bytes do not compress: a variant that is not smaller is dropped.
    expect(files.lookup('/noise.txt', 'br, gzip')).toMatchObject({ negotiated: false, body: random });
    // Client-side routes get index.html, compressed alike.
    expect(files.lookup('/c/some-conversation', 'gzip')!.encoding).toBe('gzip');
    expect(files.lookup('/missing.js', 'gzip')).toBeUndefined();
  });

  it('serves the service worker revalidated on every load and the web app manifest with its own type', () => {
    const manifest = JSON.stringify({ name: 'Chat', icons: [{ src: '/icons/icon-192.png', sizes: '192x192' }] }).repeat(40);
    const files = new StaticFiles(webDir({ 'sw.js': script, 'manifest.webmanifest': manifest, 'icons/icon-192.png': Buffer.alloc(64, 1) }));
    // A worker script served with a long max-age would keep a new build's worker from installing.
    expect(files.lookup('/sw.js', 'br')).toMatchObject({ contentType: 'text/javascript; charset=utf-8', cacheControl: 'no-cache', encoding: 'br' });
    const asGzip = files.lookup('/manifest.webmanifest', 'gzip')!;
    expect(asGzip).toMatchObject({ contentType: 'application/manifest+json', cacheControl: 'no-cache', encoding: 'gzip' });
    expect(gunzipSync(asGzip.body).toString()).toBe(manifest);
    expect(files.lookup('/icons/icon-192.png', 'br')).toMatchObject({ contentType: 'image/png', cacheControl: 'no-cache', negotiated: false });
  });

  it('reads Accept-Encoding as RFC 9110 says: q=0 refuses, * allows the rest', () => {
    expect([...acceptedEncodings('gzip, deflate, br')].sort()).toEqual(['br', 'gzip']);
    expect([...acceptedEncodings('br;q=0, gzip;q=0.5')]).toEqual(['gzip']);
    expect([...acceptedEncodings('*')].sort()).toEqual(['br', 'gzip']);
    expect([...acceptedEncodings('*, br;q=0')]).toEqual(['gzip']);
    expect([...acceptedEncodings('identity')]).toEqual([]);
    expect([...acceptedEncodings('')]).toEqual([]);
  });
});
