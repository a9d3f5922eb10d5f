import { existsSync } from 'node:fs';
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
