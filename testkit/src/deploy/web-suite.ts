import { afterAll, beforeAll } from 'vitest';
import type { Browser } from 'playwright-core';
import { freePort } from '@chat/deploy/local-servers';
import { launchChromium, takeBrowserTurn } from '../chromium.js';
import { type ChatProcess, startProcess, tempDir } from './system-under-test.js';

/** What a browser suite drives: a `chat standalone` serving the built web client, and Debian's Chromium. */
export interface WebSuite {
  /** The running server (a new one after startServer()). */
  readonly server: ChatProcess;
  readonly browser: Browser;
  /** The server's DATA_DIR (kept across restarts). */
  readonly dataDir: string;
  /** Stops the server with `signal` and waits for it to exit. */
  stopServer(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and data directory (pages keep their origin). */
  startServer(): Promise<void>;
}

/**
 * Registers, in the calling describe, the hooks of a browser suite: it waits
 * for its turn (takeBrowserTurn: one browser suite at a time on the machine),
 * starts a server on a free port with `env` and launches Chromium, and
 * afterwards closes both, removes the data directory and gives the turn up.
 */
export function webSuite(prefix: string, env: Record<string, string> = {}): WebSuite {
  const dir = tempDir(prefix);
  let port = 0;
  let server: ChatProcess | undefined;
  let browser: Browser | undefined;
  let releaseTurn: (() => void) | undefined;
  // Hooks after run in reverse: the turn is given up after everything else.
  beforeAll(async () => {
    releaseTurn = await takeBrowserTurn();
  }, 660_000);
  afterAll(() => releaseTurn?.());
  beforeAll(async () => {
    port = await freePort();
    server = await startProcess({ dataDir: dir.path, port, env });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    server?.process.kill('SIGTERM');
    await server?.exited;
    dir.remove();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the web suite's ${what} is used before its beforeAll ran`);
    return value;
  };
  return {
    get server() {
      return started(server, 'server');
    },
    get browser() {
      return started(browser, 'browser');
    },
    dataDir: dir.path,
    async stopServer(signal = 'SIGTERM') {
      const s = started(server, 'server');
      s.process.kill(signal);
      await s.exited;
    },
    async startServer() {
      server = await startProcess({ dataDir: dir.path, port, env });
    },
  };
}
