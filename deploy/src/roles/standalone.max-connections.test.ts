import { describe, expect, it } from 'vitest';
import { parseMetricsText } from '@chat/platform';
import { ChatClient, UpgradeRefused, devLogin, refusedUpgrade } from '@chat/testkit/chat-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';

const MAX = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET a path with a deadline; the status, or 0 when it does not answer in time. */
async function status(url: string, timeoutMs = 5000): Promise<number> {
  return fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then(
    (r) => r.status,
    () => 0,
  );
}

describe('standalone: MAX_CONNECTIONS', () => {
  // The ops endpoints on a port of their own, as on a `chat gateway`.
  const { system, login, track } = useStandalone({ MAX_CONNECTIONS: String(MAX), MAX_CONNECTIONS_PER_USER: '100', OPS_PORT: '0' });

  it('refuses upgrades past the cap with 503 and Retry-After, says not ready, keeps /healthz and the sessions it holds, and admits again once some close', async () => {
    const { baseUrl, opsUrl } = system();
    expect(opsUrl).not.toBe(baseUrl);
    // The public port serves no ops endpoint when OPS_PORT is set.
    expect(await status(`${baseUrl}/metrics`)).toBe(404);
    expect(await status(`${opsUrl}/readyz`)).toBe(200);

    const ann = await login('Cap Ann');
    const bob = await login('Cap Bob');
    const { conversation } = await ann.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: bob.user.id });
    const filler = await devLogin(baseUrl, 'Cap Filler');
    const fillers = await Promise.all(Array.from({ length: MAX - 2 }, () => ChatClient.connect(baseUrl, filler.token).then(track)));
    expect(fillers).toHaveLength(MAX - 2);

    // Full: every further upgrade is refused at once, and its connection closed (its descriptor freed).
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => ChatClient.connect(baseUrl, filler.token).then(track, (e: unknown) => e)));
    for (const o of outcomes) {
      expect(o).toBeInstanceOf(UpgradeRefused);
      expect((o as UpgradeRefused).status).toBe(503);
      expect(Number((o as UpgradeRefused).retryAfter)).toBeGreaterThanOrEqual(1);
    }
    const raw = await refusedUpgrade(baseUrl, filler.token);
    expect(raw.status).toBe(503);
    expect(raw.headers['retry-after']).toMatch(/^\d+$/);
    expect(raw.body).toMatch(/gateway full.*50.*MAX_CONNECTIONS/);
    await raw.closed;

    // Not ready while full, yet alive; the event loop answers at once.
    expect(await status(`${opsUrl}/readyz`)).toBe(503);
    const t0 = performance.now();
    expect(await status(`${opsUrl}/healthz`)).toBe(200);
    expect(performance.now() - t0).toBeLessThan(2000);

    // The sessions it holds still work, both ways.
    await ann.call('message.send', { conversationId: conversation.id, clientMsgId: 'full-1', body: 'still here?' });
    await bob.call('message.send', { conversationId: conversation.id, clientMsgId: 'full-2', body: 'yes' });
    for (const c of [ann, bob]) await c.waitForEvents((e) => e.ev === 'message.new', 2, 10_000);
    expect((await fillers[0]!.request('ping')).ok).toBe(true);

    // Counted by reason on the ops port's /metrics.
    const samples = parseMetricsText(await (await fetch(`${opsUrl}/metrics`)).text());
    const full = samples.find((s) => s.name === 'chat_gateway_upgrades_rejected_total' && s.labels.reason === 'gateway_full');
    expect(full?.value).toBeGreaterThanOrEqual(11);

    // Some leave: new upgrades are admitted and it is ready again.
    await Promise.all(fillers.slice(0, 5).map((c) => c.close()));
    let again: ChatClient | undefined;
    for (let attempt = 0; !again; attempt++) {
      try {
        again = track(await ChatClient.connect(baseUrl, filler.token));
      } catch (err) {
        // The client may see its close before the gateway has run its close handler.
        if (!(err instanceof UpgradeRefused) || attempt > 50) throw err;
        await sleep(100);
      }
    }
    expect((await again.request('ping')).ok).toBe(true);
    expect(await status(`${opsUrl}/readyz`)).toBe(200);
  });
});
