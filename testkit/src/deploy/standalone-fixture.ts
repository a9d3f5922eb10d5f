import { afterAll, beforeAll } from 'vitest';
import { ChatClient } from './chat-client.js';
import { type InProcessSystem, startInProcess, tempDir } from './system-under-test.js';

/**
 * One standalone system for a whole test file (started in beforeAll, stopped
 * with every client it logged in afterAll), in a fresh data directory.
 */
export function useStandalone(env?: Record<string, string>) {
  const dir = tempDir();
  const clients: ChatClient[] = [];
  let sys: InProcessSystem | undefined;

  beforeAll(async () => {
    sys = await startInProcess({ dataDir: dir.path, ...(env ? { env } : {}) });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sys?.stop();
    dir.remove();
  });

  const system = (): InProcessSystem => {
    if (!sys) throw new Error('the standalone system is not started yet (use it inside a test)');
    return sys;
  };
  const track = <T extends ChatClient>(c: T): T => {
    clients.push(c);
    return c;
  };
  return {
    system,
    track,
    /** Logs `name` in through dev login and connects. */
    login: async (name: string) => track(await ChatClient.login(system().baseUrl, name)),
  };
}

/**
 * For tests that stop and restart systems themselves (durability): one data
 * directory for the describe block, and `cleanups` (stop a system, close a
 * client) run last-in first-out after it, before the directory is removed.
 */
export function useRestartableDataDir() {
  const dir = tempDir();
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    while (cleanups.length) await cleanups.pop()!();
    dir.remove();
  });
  return { dir, cleanups };
}
