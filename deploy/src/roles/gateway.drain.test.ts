import { afterAll, describe, expect, it } from 'vitest';
import { ChatClient } from '@chat/testkit/chat-client';
import { startInProcess, tempDir } from '@chat/testkit/system-under-test';

const HOLD_MS = 600;
const SPREAD_MS = 800;
const CLIENTS = 40;

describe('gateway stop: hold, then closes spread out', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('answers /readyz 503 but keeps serving for the hold, then closes sessions with 1001 spread over the window', async () => {
    const sys = await startInProcess({ dataDir: dir.path, env: { DRAIN_HOLD_MS: String(HOLD_MS), DRAIN_SPREAD_MS: String(SPREAD_MS) } });
    const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => ChatClient.login(sys.baseUrl, `Drain ${i}`)));
    const [alice, bob] = clients as [(typeof clients)[0], (typeof clients)[0]];
    const { conversation } = await alice.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: bob.user.id });
    const closes = clients.map((c) => c.closed().then((close) => ({ ...close, at: performance.now() })));
    expect((await fetch(`${sys.baseUrl}/readyz`)).status).toBe(200);

    const stopAt = performance.now();
    const stopped = sys.stop();
    await new Promise((r) => setTimeout(r, 50));
    // Holding: not ready, yet messages flow and a newcomer still gets in.
    expect((await fetch(`${sys.baseUrl}/readyz`)).status).toBe(503);
    await alice.call('message.send', { conversationId: conversation.id, clientMsgId: 'during-hold', body: 'still served' });
    await bob.waitForEvent((e) => e.ev === 'message.new', 2000);
    const late = await ChatClient.login(sys.baseUrl, 'Late');
    const lateClosed = late.closed();

    await stopped;
    const all = await Promise.all(closes);
    expect(all.every((c) => c.code === 1001)).toBe(true);
    expect((await lateClosed).code).toBe(1001);
    const times = all.map((c) => c.at - stopAt).sort((a, b) => a - b);
    expect(times[0]!, 'nobody is closed during the hold').toBeGreaterThanOrEqual(HOLD_MS - 20);
    // Spread: the last close comes well after the first (waves 50 ms apart over the window).
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(SPREAD_MS * 0.6);
    // Bounded, not open-ended (generous: a loaded CI machine only delays timers).
    expect(times.at(-1)!).toBeLessThan(HOLD_MS + SPREAD_MS + 15_000);
    await Promise.all([...clients, late].map((c) => c.close().catch(() => {})));
  });
});
