import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ChatClient, UpgradeRefused, devLogin } from '@chat/testkit/chat-client';
import { type ChatProcess, startProcess, tempDir } from '@chat/testkit/system-under-test';

// `chat standalone` under an open-file limit of 400, with MAX_CONNECTIONS left
// to its default (400 less 256 of headroom: 144 sessions). Before the cap, the
// sessions past the limit made accept() fail with EMFILE: uWS's listen socket
// stayed readable, its accept loop ran hot and nothing on the port answered.
const NOFILE = 400;
const DERIVED_MAX = NOFILE - 256;
const ATTEMPTS = 260;

/** User plus system CPU seconds `pid` has used (/proc/<pid>/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function timedStatus(url: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const status = await fetch(url, { signal: AbortSignal.timeout(5000) }).then(
    (r) => r.status,
    () => 0,
  );
  return { status, ms: performance.now() - t0 };
}

describe('chat standalone at its open-file limit', () => {
  const dir = tempDir();
  const clients: ChatClient[] = [];
  let chat: ChatProcess | undefined;
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    chat?.process.kill('SIGKILL');
    await chat?.exited;
    dir.remove();
  });

  it(`admits ${DERIVED_MAX} sessions (the limit less headroom), refuses the rest with 503 + Retry-After, and keeps /healthz prompt and the loop idle`, async () => {
    chat = await startProcess({ dataDir: dir.path, opsPort: true, wrapper: ['prlimit', `--nofile=${NOFILE}:${NOFILE}`, '--'], env: { MAX_CONNECTIONS_PER_USER: '1000' } });
    const pid = chat.process.pid!;
    expect(readFileSync(`/proc/${pid}/limits`, 'utf8')).toMatch(new RegExp(`Max open files\\s+${NOFILE}\\s+${NOFILE}`));
    const { token } = await devLogin(chat.baseUrl, 'Fd Flood');

    // /healthz is polled all through the flood.
    const health: { status: number; ms: number }[] = [];
    let flooding = true;
    const poller = (async () => {
      while (flooding) {
        health.push(await timedStatus(`${chat!.opsUrl}/healthz`));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const outcomes = await Promise.all(
      Array.from({ length: ATTEMPTS }, () =>
        ChatClient.connect(chat!.baseUrl, token).then(
          (c) => (clients.push(c), 'opened' as const),
          (e: unknown) => e,
        ),
      ),
    );
    flooding = false;
    await poller;

    const refused = outcomes.filter((o): o is UpgradeRefused => o instanceof UpgradeRefused);
    expect(outcomes.filter((o) => o !== 'opened' && !(o instanceof UpgradeRefused)), 'neither opened nor refused with a status').toEqual([]);
    expect(clients).toHaveLength(DERIVED_MAX);
    expect(refused).toHaveLength(ATTEMPTS - DERIVED_MAX);
    for (const r of refused) {
      expect(r.status).toBe(503);
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    expect(health.length).toBeGreaterThan(0);
    expect(health.filter((h) => h.status !== 200)).toEqual([]);
    expect(Math.max(...health.map((h) => h.ms))).toBeLessThan(3000);

    // Full, and still serving: ops answer, the public port answers HTTP, sessions answer.
    expect((await timedStatus(`${chat.opsUrl}/readyz`)).status).toBe(503);
    expect((await devLogin(chat.baseUrl, 'Fd Latecomer')).token).toBeTruthy();
    const pongs = await Promise.all(clients.slice(0, 20).map((c) => c.request('ping')));
    expect(pongs.every((p) => p.ok)).toBe(true);

    // Idle at the cap: no accept loop spinning on EMFILE (that took a whole core).
    const before = cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 3000));
    expect(cpuSeconds(pid) - before).toBeLessThan(1.5);

    // Room again after some leave.
    await Promise.all(clients.splice(0, 10).map((c) => c.close()));
    for (let attempt = 0; ; attempt++) {
      const ready = (await timedStatus(`${chat.opsUrl}/readyz`)).status === 200;
      if (ready) break;
      expect(attempt, '/readyz true again after sessions closed').toBeLessThan(50);
      await new Promise((r) => setTimeout(r, 100));
    }
    clients.push(await ChatClient.connect(chat.baseUrl, token));
  }, 120_000);
});
