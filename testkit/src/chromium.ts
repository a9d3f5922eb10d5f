import { existsSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

const LOCK = join(tmpdir(), 'chat-browser-tests.lock');

/**
 * Waits until no other test file of this machine holds the browser lock, then
 * takes it; resolves with its release. The browser suites time UI behaviour
 * (scroll anchoring, notifications, offline reloads) that two Chromiums and
 * two servers racing for two cores made flaky, so they take turns; every
 * other suite still runs beside them. A lock left by a process that died is
 * taken over.
 */
export async function takeBrowserTurn(timeoutMs = 600_000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
      return () => {
        try {
          if (readFileSync(LOCK, 'utf8') === String(process.pid)) unlinkSync(LOCK);
        } catch {
          // Already gone.
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let held: string;
    try {
      held = readFileSync(LOCK, 'utf8');
    } catch {
      continue; // Given up between our attempt and this read: try again.
    }
    const holder = Number(held || NaN);
    // An empty file is a holder between creating it and writing its pid: wait, do not take it over.
    if (held !== '' && !alive(holder)) {
      rmSync(LOCK, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for the browser lock ${LOCK} held by process ${holder}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
