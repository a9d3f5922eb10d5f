import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { deployRoot } from '../paths.js';
import { ChatClient } from '@chat/testkit/chat-client';
import { CHROMIUM, CHROMIUM_ARGS, chromiumAvailable } from '@chat/testkit/chromium';
import { tempDir } from '@chat/testkit/system-under-test';
import { webSuite } from '@chat/testkit/web-suite';

const WEB_DIST = join(deployRoot(), '..', 'web', 'dist');
/** Screenshots for people reviewing the UI (web/results, as the main browser test). */
const SHOTS = join(deployRoot(), '..', 'web', 'results');
/** The budget for the web client's JavaScript, gzipped. */
const JS_BUDGET_BYTES = 50 * 1024;

const haveChromium = chromiumAvailable('web client offline browser test');

it('the web client’s JavaScript (app and service worker) stays under 50 KB gzipped', () => {
  const files = [...readdirSync(join(WEB_DIST, 'assets')).filter((f) => f.endsWith('.js')).map((f) => join(WEB_DIST, 'assets', f)), join(WEB_DIST, 'sw.js')];
  const gzipped = files.reduce((sum, f) => sum + gzipSync(readFileSync(f), { level: 9 }).length, 0);
  console.log(`web JavaScript: ${files.length} files, ${(gzipped / 1024).toFixed(1)} KB gzipped`);
  expect(gzipped).toBeLessThan(JS_BUDGET_BYTES);
});

describe.skipIf(!haveChromium)('web client offline, in Chromium against the real server', () => {
  const web = webSuite('chat-web-offline-');
  const errors: string[] = [];

  beforeAll(() => {
    mkdirSync(SHOTS, { recursive: true });
  });

  async function restartServer(): Promise<void> {
    await web.stopServer();
    await web.startServer();
  }

  /** A browser context of its own; console and page errors are collected (Chromium's own lines for connections refused while offline aside). */
  async function open(name: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await web.browser.newContext({ viewport: { width: 1200, height: 800 } });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && !/WebSocket connection to '.*' failed|net::ERR_INTERNET_DISCONNECTED/.test(m.text())) errors.push(`${name}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
    await page.goto(web.server.baseUrl);
    return { context, page };
  }

  async function signIn(name: string): Promise<{ context: BrowserContext; page: Page }> {
    const opened = await open(name);
    await opened.page.getByLabel('Your name').fill(name);
    await opened.page.getByRole('button', { name: 'Sign in' }).click();
    await online(opened.page);
    return opened;
  }

  const online = (page: Page) => page.getByRole('status', { name: 'Connection' }).filter({ hasText: 'Online' }).waitFor({ timeout: 20_000 });
  const messages = (page: Page) => page.getByRole('log', { name: 'Messages' });

  /** Waits until the service worker has cached the shell and controls the page. */
  async function controlledByServiceWorker(page: Page): Promise<void> {
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 15_000 });
  }

  it('the app shell opens offline after one online visit; the API is never served from the cache', async () => {
    errors.length = 0;
    const { context, page } = await open('Shell');
    await controlledByServiceWorker(page);
    const cache = await page.evaluate(async () => {
      const names = await caches.keys();
      const cached = (await Promise.all(names.map(async (n) => (await (await caches.open(n)).keys()).map((r) => new URL(r.url).pathname)))).flat();
      return { names, cached };
    });
    expect(cache.names).toHaveLength(1);
    expect(cache.names[0]).toMatch(/^chat-shell-[0-9a-f]{16}$/);
    expect(cache.cached).toEqual(expect.arrayContaining(['/', '/manifest.webmanifest', '/icons/icon-192.png', '/icons/icon-512.png', '/icons/icon-maskable-512.png']));
    expect(cache.cached.some((p) => /^\/assets\/.*\.js$/.test(p))).toBe(true);
    expect(cache.cached.some((p) => p.startsWith('/v1/'))).toBe(false);

    await context.setOffline(true);
    const response = await page.reload();
    expect(response?.fromServiceWorker()).toBe(true);
    await page.getByLabel('Your name').waitFor({ timeout: 10_000 });
    // A client-side route opens from the cache too.
    await page.goto(`${web.server.baseUrl}/some/route`);
    await page.getByLabel('Your name').waitFor({ timeout: 10_000 });
    // The API is not answered from the cache: offline, it fails.
    expect(await page.evaluate(() => fetch('/v1/auth/dev-login', { method: 'POST', body: '{"name":"x"}' }).then(() => 'answered', () => 'failed'))).toBe('failed');
    await context.close();
    expect(errors).toEqual([]);
  });

  it('installable: the manifest and its icons are served with their types; the worker script is revalidated on every load', async () => {
    const base = web.server.baseUrl;
    const { context, page } = await open('Install');
    const href = await page.locator('link[rel="manifest"]').getAttribute('href');
    expect(href).toBe('/manifest.webmanifest');
    const manifestResponse = await fetch(`${base}${href}`);
    expect(manifestResponse.headers.get('content-type')).toBe('application/manifest+json');
    const manifest = (await manifestResponse.json()) as { name: string; short_name: string; start_url: string; display: string; icons: { src: string; sizes: string; purpose?: string }[] };
    expect(manifest).toMatchObject({ name: 'Chat', short_name: 'Chat', start_url: '/', display: 'standalone' });
    expect(manifest.icons.map((i) => `${i.sizes} ${i.purpose ?? 'any'}`).sort()).toEqual(['192x192 any', '512x512 any', '512x512 maskable']);
    for (const icon of manifest.icons) {
      const res = await fetch(`${base}${icon.src}`);
      expect(res.headers.get('content-type')).toBe('image/png');
      const png = Buffer.from(await res.arrayBuffer());
      // PNG signature, then the IHDR width and height the manifest announces.
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`).toBe(icon.sizes);
    }
    const sw = await fetch(`${base}/sw.js`);
    expect(sw.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(sw.headers.get('cache-control')).toBe('no-cache');
    await context.close();
  });

  it('messages typed offline show as pending in order, survive a reload while offline, and are delivered exactly once, in order, when the network returns', async () => {
    errors.length = 0;
    const { context: annContext, page: ann } = await signIn('Ann Offline');
    const { page: bob } = await signIn('Bob Offline');
    await ann.getByRole('searchbox').fill('bob offline');
    await ann.getByRole('button', { name: 'Message Bob Offline' }).click();
    const annBox = ann.getByLabel('Message', { exact: true });
    await annBox.fill('sent online');
    await annBox.press('Enter');
    await bob.getByRole('button', { name: /Ann Offline/ }).click();
    await messages(bob).getByText('sent online').waitFor();
    await controlledByServiceWorker(ann);
    // The app keeps its snapshot at most a second behind; the offline start below shows what it holds.
    await expect.poll(() => ann.evaluate(offlineData).then((d) => d.snapshotBodies), { timeout: 10_000 }).toContain('sent online');

    // Ann's network goes. The server restarts too, so the socket she had is gone for sure
    // (Chromium's offline emulation stops new connections, not open ones); Bob reconnects.
    await annContext.setOffline(true);
    await restartServer();
    await ann.getByRole('status', { name: 'Connection' }).filter({ hasText: /Reconnecting|Connecting/ }).waitFor({ timeout: 10_000 });
    await online(bob);

    const bodies = ['offline one', 'offline two', 'offline three'];
    for (const body of bodies) {
      await annBox.fill(body);
      await annBox.press('Enter');
    }
    const pending = ann.locator('article.pending');
    await expect.poll(() => pending.locator('.body').allTextContents()).toEqual(bodies);
    await expect.poll(() => pending.getByText('Sending…').count()).toBe(3);

    // Reloaded while still offline: the service worker serves the app, IndexedDB the conversation and the pending sends.
    const reloaded = await ann.reload();
    expect(reloaded?.fromServiceWorker()).toBe(true);
    await ann.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: /Bob Offline/ }).click();
    await messages(ann).getByText('sent online').waitFor({ timeout: 10_000 });
    await expect.poll(() => pending.locator('.body').allTextContents()).toEqual(bodies);
    await expect(ann.getByRole('status', { name: 'Connection' }).textContent()).resolves.not.toContain('Online');
    await ann.screenshot({ path: join(SHOTS, 'offline-pending-after-reload.png') });
    // Bob has seen none of them.
    expect(await messages(bob).getByText(/offline (one|two|three)/).count()).toBe(0);
    // Signing out now would discard them: the app asks first, and "Cancel" keeps Ann signed in with all three.
    const asked = new Promise<string>((resolve) => ann.once('dialog', (d) => void d.dismiss().then(() => resolve(d.message()))));
    await ann.getByRole('button', { name: 'Sign out' }).click();
    expect(await asked).toBe('3 messages have not been sent yet. Sign out and discard them?');
    await expect.poll(() => pending.locator('.body').allTextContents()).toEqual(bodies);
    expect(await ann.evaluate(offlineData).then((d) => d.outbox)).toBe(3);

    // The network returns: each arrives once, in order, and Ann's copies stop pending.
    await annContext.setOffline(false);
    await online(ann);
    for (const body of bodies) await messages(bob).getByText(body, { exact: true }).waitFor({ timeout: 15_000 });
    await expect.poll(() => pending.count(), { timeout: 10_000 }).toBe(0);
    // A message sent after them has arrived too, so any repeat would have by now.
    await annBox.fill('after the outage');
    await annBox.press('Enter');
    await messages(bob).getByText('after the outage').waitFor();
    for (const body of bodies) expect(await messages(bob).getByText(body, { exact: true }).count()).toBe(1);

    // The server's history has each once, in the order typed.
    const reader = await ChatClient.login(web.server.baseUrl, 'Bob Offline');
    try {
      const { users } = await reader.call<{ users: { id: string }[] }>('user.search', { prefix: 'Ann Offline' });
      const { conversation } = await reader.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: users[0]!.id });
      const history = await reader.call<{ messages: { body: string }[] }>('message.history', { conversationId: conversation.id, limit: 50 });
      expect(history.messages.map((m) => m.body)).toEqual(['sent online', ...bodies, 'after the outage']);
    } finally {
      await reader.close();
    }
    // The outbox is empty again.
    await expect.poll(() => ann.evaluate(offlineData).then((d) => d.outbox), { timeout: 5000 }).toBe(0);

    // Signing out on purpose, with nothing unsent (no question asked), deletes Ann's offline data.
    const databases = () => ann.evaluate(async () => (await indexedDB.databases()).map((d) => d.name ?? '').filter((n) => n.startsWith('chat-offline:')));
    expect(await databases()).toHaveLength(1);
    await ann.getByRole('button', { name: 'Sign out' }).click();
    await ann.getByLabel('Your name').waitFor();
    await expect.poll(databases, { timeout: 5000 }).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('a message typed offline outlives a browser restart and is delivered once after signing in again', async () => {
    errors.length = 0;
    const { chromium } = await import('playwright-core');
    const profile = tempDir('chat-web-profile-');
    const dan = await ChatClient.login(web.server.baseUrl, 'Dan Restart');
    /** A browser with a profile on disk, like a user's: what a restart keeps is what the profile keeps. */
    const launch = async () => {
      const context = await chromium.launchPersistentContext(profile.path, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: { width: 1200, height: 800 } });
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('pageerror', (e) => errors.push(`Cat: ${e.message}`));
      await page.goto(web.server.baseUrl);
      await page.getByLabel('Your name').fill('Cat Restart');
      await page.getByRole('button', { name: 'Sign in' }).click();
      return { context, page };
    };
    try {
      const first = await launch();
      await online(first.page);
      await first.page.getByRole('searchbox').fill('dan restart');
      await first.page.getByRole('button', { name: 'Message Dan Restart' }).click();
      const box = first.page.getByLabel('Message', { exact: true });
      await box.waitFor();

      await first.context.setOffline(true);
      await restartServer();
      await first.page.getByRole('status', { name: 'Connection' }).filter({ hasText: /Reconnecting|Connecting/ }).waitFor({ timeout: 10_000 });
      await box.fill('written before the restart');
      await box.press('Enter');
      await first.page.locator('article.pending').getByText('Sending…').waitFor();
      await expect.poll(() => first.page.evaluate(offlineData).then((d) => d.outbox)).toBe(1);
      await first.context.close();

      // The browser starts again, online; the tab's sign-in is gone (sessionStorage), the outbox is not.
      const second = await launch();
      await online(second.page);
      const reader = await ChatClient.login(web.server.baseUrl, 'Dan Restart');
      try {
        const { conversations } = await reader.call<{ conversations: { id: string }[] }>('conversation.list', {});
        expect(conversations).toHaveLength(1);
        const history = async () => (await reader.call<{ messages: { body: string }[] }>('message.history', { conversationId: conversations[0]!.id, limit: 50 })).messages.map((m) => m.body);
        await expect.poll(history, { timeout: 15_000 }).toEqual(['written before the restart']);
        await expect.poll(() => second.page.evaluate(offlineData).then((d) => d.outbox), { timeout: 5000 }).toBe(0);
        expect(await history()).toEqual(['written before the restart']);
      } finally {
        await reader.close();
        await second.context.close();
      }
      expect(errors).toEqual([]);
    } finally {
      await dan.close();
      profile.remove();
    }
  });
});

/**
 * What this origin keeps offline, read in the page: the number of unsent
 * messages in the outboxes, and the bodies of the messages in the kept
 * snapshots. One function, as page.evaluate sends it to the page whole.
 */
async function offlineData(): Promise<{ outbox: number; snapshotBodies: string[] }> {
  const data = { outbox: 0, snapshotBodies: [] as string[] };
  const read = <T>(r: IDBRequest<T>) =>
    new Promise<T>((resolve, reject) => {
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  for (const { name } of await indexedDB.databases()) {
    if (!name?.startsWith('chat-offline:')) continue;
    const db = await read(indexedDB.open(name));
    data.outbox += await read(db.transaction('outbox').objectStore('outbox').count());
    const snapshot = (await read(db.transaction('snapshot').objectStore('snapshot').get('latest'))) as { messages?: Record<string, { body: string }[]> } | undefined;
    db.close();
    for (const list of Object.values(snapshot?.messages ?? {})) data.snapshotBodies.push(...list.map((m) => m.body));
  }
  return data;
}
