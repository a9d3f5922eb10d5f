import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { useStandalone } from '@chat/testkit/standalone-fixture';

const web = mkdtempSync(join(tmpdir(), 'chat-web-'));
const page = `<!doctype html><title>chat</title>${'<p>hello</p>'.repeat(200)}`;
writeFileSync(join(web, 'index.html'), page);
afterAll(() => rmSync(web, { recursive: true, force: true }));

const { system } = useStandalone({ WEB_DIR: web });

/** The raw response (fetch would decode the body and hide what came over the wire). */
function raw(url: string, acceptEncoding: string): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { 'accept-encoding': acceptEncoding } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

describe('standalone: the web client over HTTP', () => {
  it('is served compressed to a browser that accepts it, identity otherwise, varying on Accept-Encoding', async () => {
    const url = `${system().baseUrl}/`;
    const br = await raw(url, 'gzip, deflate, br');
    expect(br.headers).toMatchObject({ 'content-encoding': 'br', vary: 'Accept-Encoding', 'cache-control': 'no-cache' });
    expect(brotliDecompressSync(br.body).toString()).toBe(page);
    expect(br.body.length).toBeLessThan(page.length / 4);
    const gzip = await raw(url, 'gzip');
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).toString()).toBe(page);
    const plain = await raw(url, 'identity');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('Accept-Encoding');
    expect(plain.body.toString()).toBe(page);
  });
});
