import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Browser, LaunchOptions } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium): the only browser the tests drive, never a downloaded one. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless, without the sandbox (CI runs as root), and without background
 * networking: this machine has no internet, and Chromium's own connections
 * to Google's hosts would only be refused, many at a time.
 */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

/** Whether Chromium is installed; when it is not, prints that `suite` is skipped and why. */
export function chromiumAvailable(suite: string): boolean {
  const available = existsSync(CHROMIUM);
  if (!available) console.log(`${suite} skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
  return available;
}

/** Debian's Chromium launched through playwright-core with CHROMIUM_ARGS. */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, ...options });
}

/**
 * The browser lock: a Unix socket in Linux's abstract namespace. Binding it
 * is atomic, and the kernel frees it the moment its holder's socket closes,
 * the holder dying included, so a lock is never left behind and no one has
 * to decide that a holder is dead (the lock file this replaces did, and two
 * waiters could both take over the same stale file).
 */
export const BROWSER_LOCK = '\0chat-browser-tests.lock';

/**
 * Waits until no other test file of this machine holds the browser lock, then
 * takes it; resolves with its release. The browser suites time UI behaviour
 * (scroll anchoring, notifications, offline reloads) that two Chromiums and
 * two servers racing for two cores made flaky, so they take turns; every
 * other suite still runs beside them.
 */
export async function takeBrowserTurn(timeoutMs = 600_000, lock = BROWSER_LOCK): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const server = createServer();
    const taken = await new Promise<boolean>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err)));
      server.listen({ path: lock, exclusive: true }, () => resolve(true));
    });
    if (taken) {
      // Holding the lock must not keep a finished test process alive.
      server.unref();
      return () => void server.close();
    }
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for the browser lock (abstract socket ${JSON.stringify(lock)})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
